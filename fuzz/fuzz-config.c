/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-config: ksmvirtd.conf (kv_config_parse), and the effective
 * configuration it yields printed and parsed again. */
#include "fuzz.h"
#include "kv-config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) err = NULL;
	g_autofree char *text = NULL;
	g_auto(KvConfig) cfg = { 0 };
	g_auto(KvConfig) again = { 0 };

	if (!kv_config_parse((const char *)data, size, &cfg, warnings, &err))
		return 0;
	(void)kv_config_guest_selected(&cfg, "web-1");
	text = kv_config_to_string(&cfg);
	if (!kv_config_parse(text, strlen(text), &again, NULL, NULL))
		__builtin_trap(); /* the printed configuration must load */
	return 0;
}
