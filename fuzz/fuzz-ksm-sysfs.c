/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-ksm-sysfs: one /sys/kernel/mm/ksm file (kv_ksm_parse_value).  The
 * first byte picks the knob, the rest is the file's content; the same
 * KvKsm takes every knob in turn so repeated values (advisor_mode) are
 * exercised too. */
#include "fuzz.h"
#include "kv-host.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(KvKsm) ksm = g_new0(KvKsm, 1);
	g_autofree char *buf = NULL;
	KvKsmKnob first;

	if (size < 1)
		return 0;
	first = data[0] % KV_KSM_N_KNOBS;
	buf = fuzz_str(data + 1, size - 1);
	kv_ksm_parse_value(ksm, first, buf);
	for (int k = 0; k < KV_KSM_N_KNOBS; k++)
		kv_ksm_parse_value(ksm, (KvKsmKnob)k, buf);
	(void)kv_ksm_saved_bytes(ksm, 4096);
	(void)kv_ksm_sharing_ratio(ksm);
	return 0;
}
