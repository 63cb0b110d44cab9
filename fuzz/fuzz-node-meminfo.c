/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-node-meminfo: /sys/devices/system/node/nodeN/meminfo
 * (kv_node_meminfo_parse). */
#include "fuzz.h"
#include "kv-sense.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	guint64 total_kib = 0, free_kib = 0;

	kv_node_meminfo_parse(buf, &total_kib, &free_kib);
	return 0;
}
