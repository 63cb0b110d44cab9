/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-qemu-keyval: QEMU's "a=b,c=d" option syntax with ",," escapes
 * (kv_qemu_keyval_parse), as -machine, -object and -numa arguments of a
 * /proc/PID/cmdline carry it. */
#include "fuzz.h"
#include "kv-qemu.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autoptr(GHashTable) kv = kv_qemu_keyval_parse(buf, "type");
	g_autoptr(GHashTable) plain = kv_qemu_keyval_parse(buf, NULL);

	(void)kv;
	(void)plain;
	return 0;
}
