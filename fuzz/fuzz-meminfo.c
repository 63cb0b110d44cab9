/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-meminfo: /proc/meminfo (kv_meminfo_parse). */
#include "fuzz.h"
#include "kv-host.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	KvMeminfo mi = { 0 };

	kv_meminfo_parse(buf, &mi);
	return 0;
}
