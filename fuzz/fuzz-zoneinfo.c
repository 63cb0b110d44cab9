/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-zoneinfo: /proc/zoneinfo (kv_zoneinfo_parse). */
#include "fuzz.h"
#include "kv-numa.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autoptr(GArray) ranges = g_array_new(FALSE, TRUE, sizeof(KvPfnRange));

	kv_zoneinfo_parse(buf, ranges);
	return 0;
}
