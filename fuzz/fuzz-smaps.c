/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-smaps: /proc/PID/smaps (kv_smaps_parse), and the VmFlags lookup on
 * every mapping it returns. */
#include "fuzz.h"
#include "kv-proc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) maps = kv_smaps_parse(buf, &err);

	if (!maps)
		return 0;
	for (guint i = 0; i < maps->len; i++) {
		KvMapping *m = maps->pdata[i];

		(void)kv_mapping_has_flag(m, "mg");
		(void)kv_mapping_has_flag(m, "dc");
	}
	return 0;
}
