/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-ksm-stat: /proc/PID/ksm_stat (kv_ksm_stat_parse). */
#include "fuzz.h"
#include "kv-proc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	KvKsmStat ks = { 0 };

	kv_ksm_stat_parse(buf, &ks);
	return 0;
}
