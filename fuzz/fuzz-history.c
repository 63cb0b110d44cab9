/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-history: history.jsonl lines (kv_history_parse). */
#include "fuzz.h"
#include "kv-history.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autoptr(GArray) points = g_array_new(FALSE, TRUE, sizeof(KvHistoryPoint));

	kv_history_parse(buf, points);
	return 0;
}
