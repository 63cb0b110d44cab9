/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-proc-stat: /proc/PID/stat (kv_proc_stat_parse). */
#include "fuzz.h"
#include "kv-proc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autoptr(GError) err = NULL;
	KvProcStat st = { 0 };

	kv_proc_stat_parse(buf, &st, &err);
	kv_proc_stat_clear(&st);
	return 0;
}
