/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-proc-status: /proc/PID/status (kv_proc_status_parse). */
#include "fuzz.h"
#include "kv-proc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	KvProcStatus st = { 0 };

	kv_proc_status_parse(buf, &st);
	return 0;
}
