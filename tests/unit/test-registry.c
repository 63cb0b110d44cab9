/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of kv-registry: folding events, lookups, the JSON file. */
#include <glib/gstdio.h>
#include <string.h>

#include "kv-registry.h"

#define UUID_A "0c2c4a4e-1d1b-4e6f-9a0b-1234567890ab"
#define UUID_B "11111111-2222-3333-4444-555555555555"

static KvEvent *event(KvEventOp op, const char *name, const char *uuid, gint64 t)
{
	KvEvent *ev = kv_event_new(op, "begin", "-");
	ev->name = g_strdup(name);
	ev->uuid = g_strdup(uuid);
	ev->time_us = t;
	return ev;
}

static void apply(KvRegistry *reg, KvEventOp op, const char *name, const char *uuid,
		  gint64 t, gboolean want_changed)
{
	g_autoptr(KvEvent) ev = event(op, name, uuid, t);
	g_assert_cmpint(kv_registry_apply(reg, ev), ==, want_changed);
}

static void test_lifecycle(void)
{
	static const struct {
		KvEventOp op;
		KvGuestState state;
	} steps[] = {
		{ KV_EVENT_OP_PREPARE, KV_GUEST_STATE_STARTING },
		{ KV_EVENT_OP_START, KV_GUEST_STATE_STARTING },
		{ KV_EVENT_OP_STARTED, KV_GUEST_STATE_RUNNING },
		{ KV_EVENT_OP_STOPPED, KV_GUEST_STATE_STOPPED },
		{ KV_EVENT_OP_RELEASE, KV_GUEST_STATE_STOPPED },
		{ KV_EVENT_OP_RESTORE, KV_GUEST_STATE_STARTING },
		{ KV_EVENT_OP_STARTED, KV_GUEST_STATE_RUNNING },
		{ KV_EVENT_OP_MIGRATE, KV_GUEST_STATE_RUNNING },
		{ KV_EVENT_OP_RECONNECT, KV_GUEST_STATE_RUNNING },
		{ KV_EVENT_OP_STOPPED, KV_GUEST_STATE_STOPPED },
		{ KV_EVENT_OP_ATTACH, KV_GUEST_STATE_RUNNING },
	};
	g_autoptr(KvRegistry) reg = kv_registry_new();
	for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
		apply(reg, steps[i].op, "a", UUID_A, 100 + i, TRUE);
		const KvRegistryGuest *g = kv_registry_lookup_uuid(reg, UUID_A);
		g_assert_nonnull(g);
		g_test_message("step %u: %s", i, kv_event_op_to_string(steps[i].op));
		g_assert_cmpint(g->state, ==, steps[i].state);
		g_assert_cmpint(g->last_op, ==, steps[i].op);
	}
	g_assert_cmpuint(kv_registry_size(reg), ==, 1);
}

static void test_order_and_duplicates(void)
{
	g_autoptr(KvRegistry) reg = kv_registry_new();
	g_autoptr(KvEvent) started = event(KV_EVENT_OP_STARTED, "a", UUID_A, 200);
	g_assert_true(kv_registry_apply(reg, started));
	/* The same event again (spooled and delivered): no change. */
	g_assert_false(kv_registry_apply(reg, started));
	/* An older event replayed late: no change. */
	apply(reg, KV_EVENT_OP_PREPARE, "a", UUID_A, 100, FALSE);
	g_assert_cmpint(kv_registry_lookup_uuid(reg, UUID_A)->state, ==, KV_GUEST_STATE_RUNNING);
	/* Unknown ops and nameless events are ignored. */
	apply(reg, KV_EVENT_OP_UNKNOWN, "a", UUID_A, 300, FALSE);
	apply(reg, KV_EVENT_OP_STOPPED, NULL, UUID_A, 300, FALSE);
}

static void test_lookup(void)
{
	g_autoptr(KvRegistry) reg = kv_registry_new();
	/* Heard of by name first (XML did not parse), then with a UUID. */
	apply(reg, KV_EVENT_OP_PREPARE, "b", NULL, 10, TRUE);
	g_assert_nonnull(kv_registry_lookup_name(reg, "b"));
	apply(reg, KV_EVENT_OP_STARTED, "b", UUID_B, 20, TRUE);
	g_assert_cmpuint(kv_registry_size(reg), ==, 1);
	/* A later event without UUID finds the guest by name. */
	apply(reg, KV_EVENT_OP_STOPPED, "b", NULL, 30, TRUE);
	g_assert_cmpuint(kv_registry_size(reg), ==, 1);
	const KvRegistryGuest *g = kv_registry_lookup_uuid(reg, "11111111-2222-3333-4444-555555555555");
	g_assert_nonnull(g);
	g_assert_cmpint(g->state, ==, KV_GUEST_STATE_STOPPED);
	/* UUIDs compare case-insensitively. */
	apply(reg, KV_EVENT_OP_STARTED, "a", UUID_A, 40, TRUE);
	g_assert_nonnull(kv_registry_lookup_uuid(reg, "0C2C4A4E-1D1B-4E6F-9A0B-1234567890AB"));
	g_assert_null(kv_registry_lookup_uuid(reg, UUID_B "0"));
	g_assert_null(kv_registry_lookup_name(reg, "c"));
	g_autoptr(GPtrArray) all = kv_registry_guests(reg);
	g_assert_cmpuint(all->len, ==, 2);
	g_assert_cmpstr(((KvRegistryGuest *)g_ptr_array_index(all, 0))->name, ==, "a");
}

static void test_json_and_file(void)
{
	g_autoptr(KvRegistry) reg = kv_registry_new();
	g_autoptr(KvEvent) ev = event(KV_EVENT_OP_STARTED, "na\xc3\xafve \"q\"", UUID_A, 50);
	const char *xml = "<domain><name>na\xc3\xafve \"q\"</name><memory unit='MiB'>256</memory>"
			  "<memoryBacking><nosharepages/></memoryBacking></domain>";
	g_assert_true(kv_event_parse_domain_xml(ev, xml, strlen(xml), NULL));
	g_free(ev->uuid);
	ev->uuid = g_strdup(UUID_A);
	g_assert_true(kv_registry_apply(reg, ev));
	apply(reg, KV_EVENT_OP_RELEASE, "other", UUID_B, 60, TRUE);

	g_autoptr(GError) err = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("kv-registry-XXXXXX", &err);
	g_autofree gchar *path = g_build_filename(dir, "sub", "registry.json", NULL);
	/* Missing file: empty registry. */
	g_autoptr(KvRegistry) empty = kv_registry_load(path, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(kv_registry_size(empty), ==, 0);

	g_assert_true(kv_registry_save(reg, path, &err));
	g_assert_no_error(err);
	g_autoptr(KvRegistry) back = kv_registry_load(path, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(kv_registry_size(back), ==, 2);
	const KvRegistryGuest *g = kv_registry_lookup_uuid(back, UUID_A);
	g_assert_cmpstr(g->name, ==, "na\xc3\xafve \"q\"");
	g_assert_cmpint(g->state, ==, KV_GUEST_STATE_RUNNING);
	g_assert_cmpint(g->last_time_us, ==, 50);
	g_assert_nonnull(g->facts);
	g_assert_true(g->facts->nosharepages);
	g_assert_cmpuint(g->facts->memory_kib, ==, 256 * 1024);
	g_assert_null(kv_registry_lookup_uuid(back, UUID_B)->facts);
	g_autofree gchar *t1 = kv_registry_to_json(reg);
	g_autofree gchar *t2 = kv_registry_to_json(back);
	g_assert_cmpstr(t1, ==, t2);

	/* A corrupt file is an error, not an empty registry. */
	g_assert_true(g_file_set_contents(path, "{\"schema\":\"nope\"}", -1, NULL));
	g_assert_null(kv_registry_load(path, &err));
	g_assert_error(err, KV_REGISTRY_ERROR, KV_REGISTRY_ERROR_PARSE);
	g_unlink(path);
	g_autofree gchar *sub = g_path_get_dirname(path);
	g_rmdir(sub);
	g_rmdir(dir);
}

static void test_default_path(void)
{
	g_assert_true(g_str_has_suffix(kv_registry_default_path(), "/lib/ksmvirt/registry.json"));
	g_assert_true(g_path_is_absolute(kv_registry_default_path()));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/registry/lifecycle", test_lifecycle);
	g_test_add_func("/registry/order-and-duplicates", test_order_and_duplicates);
	g_test_add_func("/registry/lookup", test_lookup);
	g_test_add_func("/registry/json-and-file", test_json_and_file);
	g_test_add_func("/registry/default-path", test_default_path);
	return g_test_run();
}
