/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-psi: /proc/pressure/memory (kv_psi_parse). */
#include "fuzz.h"
#include "kv-sense.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	double some_avg10 = -1, full_avg10 = -1;

	kv_psi_parse(buf, &some_avg10, &full_avg10);
	return 0;
}
