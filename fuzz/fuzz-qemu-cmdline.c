/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-qemu-cmdline: a /proc/PID/cmdline (NUL-separated) split by
 * kv_cmdline_parse, then read as a QEMU command line: kv_qemu_is_qemu,
 * kv_qemu_parse_argv (including JSON -object arguments), the guest RAM
 * backends and the -qmp sockets. */
#include "fuzz.h"
#include "kv-proc.h"
#include "kv-qemu.h"
#include "kv-qmp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_auto(GStrv) argv = kv_cmdline_parse((const char *)data, size);
	const char *const *args = (const char *const *)argv;
	g_autoptr(KvQemuInfo) qi = NULL;
	g_autoptr(GPtrArray) ram = NULL;
	g_auto(GStrv) socks = NULL;

	(void)kv_qemu_is_qemu(args[0] ? args[0] : "", args);
	qi = kv_qemu_parse_argv(args);
	ram = kv_qemu_guest_ram(qi);
	for (guint i = 0; i < ram->len; i++)
		(void)kv_qemu_backend_unmergeable_reason(ram->pdata[i]);
	socks = kv_qmp_sockets_from_argv(args);
	return 0;
}
