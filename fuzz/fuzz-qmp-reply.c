/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-qmp-reply: a QMP query-memdev reply (kv_qmp_parse_memdevs), as a
 * QEMU (or whatever listens on the socket) sends it. */
#include "fuzz.h"
#include "kv-qmp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) devs = kv_qmp_parse_memdevs(buf, &err);

	(void)devs;
	return 0;
}
