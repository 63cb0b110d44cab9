/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-ident: what decides who is a guest (kv-ident.h): libvirt's qemu.conf
 * user setting, /etc/passwd lookups and the cgroup path test.  The input's
 * first line is the name looked up and the path tested; the rest is the
 * file text. */
#include "fuzz.h"
#include "kv-ident.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autofree char *user = NULL;
	char *nl = strchr(buf, '\n');
	const char *text = nl ? nl + 1 : "";
	guint uid = 0;

	if (nl)
		*nl = '\0';
	user = kv_qemu_conf_user_parse(text);
	(void)kv_passwd_lookup(text, buf, &uid);
	if (user)
		(void)kv_passwd_lookup(text, user, &uid);
	(void)kv_cgroup_is_libvirt_machine(buf);
	return 0;
}
