/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-vmstat: /proc/vmstat (kv_vmstat_parse). */
#include "fuzz.h"
#include "kv-host.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	KvVmstat vs = { 0 };

	kv_vmstat_parse(buf, &vs);
	return 0;
}
