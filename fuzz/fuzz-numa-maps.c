/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-numa-maps: /proc/PID/numa_maps (kv_numa_maps_parse). */
#include "fuzz.h"
#include "kv-sense.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(KvGuestNodeKib));

	kv_numa_maps_parse(buf, out);
	return 0;
}
