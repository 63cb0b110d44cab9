/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-event-line: one line on ksmvirtd's control socket, as any local
 * client may send it (kv_event_from_json_line), folded into a registry
 * (kv_registry_apply) the way the daemon does, which is then written and
 * read back. */
#include "fuzz.h"
#include "kv-event.h"
#include "kv-registry.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KvEvent) ev = kv_event_from_json_line((const char *)data, size, &err);
	g_autoptr(KvRegistry) reg = NULL;
	g_autoptr(KvRegistry) back = NULL;
	g_autofree gchar *json = NULL;

	if (!ev)
		return 0;
	reg = kv_registry_new();
	kv_registry_apply(reg, ev);
	kv_registry_apply(reg, ev);
	json = kv_registry_to_json(reg);
	back = kv_registry_from_json(json, strlen(json), NULL);
	if (!back || kv_registry_size(back) != kv_registry_size(reg))
		__builtin_trap(); /* what the daemon saves, it must load */
	return 0;
}
