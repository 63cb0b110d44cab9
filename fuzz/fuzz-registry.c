/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-registry: registry.json as the daemon and the CLI load it
 * (kv_registry_from_json), written back and read again. */
#include "fuzz.h"
#include "kv-registry.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KvRegistry) reg = kv_registry_from_json((const char *)data, size, &err);
	g_autoptr(KvRegistry) back = NULL;
	g_autoptr(GPtrArray) guests = NULL;
	g_autofree gchar *json = NULL;

	if (!reg)
		return 0;
	guests = kv_registry_guests(reg);
	for (guint i = 0; i < guests->len; i++) {
		const KvRegistryGuest *g = guests->pdata[i];

		(void)kv_registry_lookup_uuid(reg, g->uuid);
		(void)kv_registry_lookup_name(reg, g->name);
	}
	json = kv_registry_to_json(reg);
	back = kv_registry_from_json(json, strlen(json), NULL);
	if (!back || kv_registry_size(back) != kv_registry_size(reg))
		__builtin_trap(); /* what the daemon saves, it must load */
	return 0;
}
