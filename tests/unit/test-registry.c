/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of kv-registry: folding events, lookups, the JSON file. */
#include <glib/gstdio.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kv-order.h"
#include "kv-registry.h"

#define UUID_A "0c2c4a4e-1d1b-4e6f-9a0b-1234567890ab"
#define UUID_B "11111111-2222-3333-4444-555555555555"

static KvEvent *
event(KvEventOp op, const char *name, const char *uuid, gint64 t)
{
	KvEvent *ev = kv_event_new(op, "begin", "-");
	ev->name = g_strdup(name);
	ev->uuid = g_strdup(uuid);
	ev->time_us = t;
	return ev;
}

static void
apply(KvRegistry *reg, KvEventOp op, const char *name, const char *uuid, gint64 t, gboolean want_changed)
{
	g_autoptr(KvEvent) ev = event(op, name, uuid, t);
	g_assert_cmpint(kv_registry_apply(reg, ev), ==, want_changed);
}

static void
test_lifecycle(void)
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

static void
test_order_and_duplicates(void)
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

static void
test_lookup(void)
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

static void
test_json_and_file(void)
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
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
	g_unlink(path);
	g_autofree gchar *sub = g_path_get_dirname(path);
	g_rmdir(sub);
	g_rmdir(dir);
}

static void
test_default_path(void)
{
	g_assert_true(g_str_has_suffix(kv_registry_default_path(), "/lib/ksmvirt/registry.json"));
	g_assert_true(g_path_is_absolute(kv_registry_default_path()));
}

#define BOOT_1 "aaaaaaaa-0000-4000-8000-000000000001"
#define BOOT_2 "bbbbbbbb-0000-4000-8000-000000000002"
#define DAY_US ((gint64)86400 * G_USEC_PER_SEC)

static gboolean
apply_seq(KvRegistry *reg, KvEventOp op, const char *boot_id, guint64 seq, gint64 t)
{
	g_autoptr(KvEvent) ev = event(op, "a", UUID_A, t);
	ev->boot_id = g_strdup(boot_id);
	ev->seq = seq;
	return kv_registry_apply(reg, ev);
}

static KvGuestState
state_of_a(const KvRegistry *reg)
{
	return kv_registry_lookup_uuid(reg, UUID_A)->state;
}

static void
test_order_future_stamp(void)
{
	/* The clock was a day ahead when the guest started, then put right. */
	g_autoptr(KvRegistry) reg = kv_registry_new();
	kv_registry_set_boot_id(reg, BOOT_1);
	gint64 now = g_get_real_time();
	g_assert_true(apply_seq(reg, KV_EVENT_OP_STARTED, BOOT_1, 10, now + DAY_US));
	g_assert_true(apply_seq(reg, KV_EVENT_OP_STOPPED, BOOT_1, 11, now));
	g_assert_cmpint(state_of_a(reg), ==, KV_GUEST_STATE_STOPPED);
	g_assert_true(apply_seq(reg, KV_EVENT_OP_RELEASE, BOOT_1, 12, now + 1));
	/* An older one replayed late from the spool, whatever its stamp. */
	g_assert_false(apply_seq(reg, KV_EVENT_OP_STARTED, BOOT_1, 10, now + 2 * DAY_US));
	g_assert_cmpint(kv_registry_lookup_uuid(reg, UUID_A)->last_op, ==, KV_EVENT_OP_RELEASE);
	g_assert_cmpuint(kv_registry_lookup_uuid(reg, UUID_A)->last_seq, ==, 12);
}

static void
test_order_boots(void)
{
	gint64 now = g_get_real_time();
	g_autoptr(KvRegistry) reg = kv_registry_new();
	kv_registry_set_boot_id(reg, BOOT_2);
	/* Last heard of in the previous boot, at a high sequence number. */
	g_assert_true(apply_seq(reg, KV_EVENT_OP_STARTED, BOOT_1, 900000, now));
	/* This boot starts low, even with an earlier wall clock. */
	g_assert_true(apply_seq(reg, KV_EVENT_OP_STOPPED, BOOT_2, 5, now - DAY_US));
	/* A spooled event of the previous boot comes after it: it is older. */
	g_assert_false(apply_seq(reg, KV_EVENT_OP_STARTED, BOOT_1, 900001, now + DAY_US));
	g_assert_cmpint(state_of_a(reg), ==, KV_GUEST_STATE_STOPPED);

	/* Two earlier boots: the wall clock decides. */
	g_autoptr(KvRegistry) r2 = kv_registry_new();
	kv_registry_set_boot_id(r2, "cccccccc-0000-4000-8000-000000000003");
	g_assert_true(apply_seq(r2, KV_EVENT_OP_STARTED, BOOT_1, 900000, now - DAY_US));
	g_assert_true(apply_seq(r2, KV_EVENT_OP_STOPPED, BOOT_2, 5, now));
	g_assert_false(apply_seq(r2, KV_EVENT_OP_PREPARE, BOOT_1, 900001, now - 1));
}

static void
test_order_legacy(void)
{
	/* Events from before sequences: a future stamp, then the new hook. */
	gint64 now = g_get_real_time();
	g_autoptr(KvRegistry) reg = kv_registry_new();
	g_assert_true(apply_seq(reg, KV_EVENT_OP_STARTED, NULL, 0, now + DAY_US));
	g_assert_true(apply_seq(reg, KV_EVENT_OP_STOPPED, BOOT_1, 3, now));
	/* A legacy event still waiting in the spool is older than any. */
	g_assert_false(apply_seq(reg, KV_EVENT_OP_STARTED, NULL, 0, now + 2 * DAY_US));
	g_assert_cmpint(state_of_a(reg), ==, KV_GUEST_STATE_STOPPED);
	/* And among themselves they still go by the wall clock. */
	g_autoptr(KvRegistry) r2 = kv_registry_new();
	g_assert_true(apply_seq(r2, KV_EVENT_OP_STARTED, NULL, 0, 200));
	g_assert_false(apply_seq(r2, KV_EVENT_OP_PREPARE, NULL, 0, 100));
}

static void
test_order_file(void)
{
	g_autoptr(KvRegistry) reg = kv_registry_new();
	g_assert_true(apply_seq(reg, KV_EVENT_OP_STARTED, BOOT_1, 77, 1000));
	apply(reg, KV_EVENT_OP_STARTED, "old", UUID_B, 2000, TRUE);
	g_autofree gchar *text = kv_registry_to_json(reg);
	g_autoptr(GError) err = NULL;
	g_autoptr(KvRegistry) back = kv_registry_from_json(text, strlen(text), &err);
	g_assert_no_error(err);
	const KvRegistryGuest *a = kv_registry_lookup_uuid(back, UUID_A);
	g_assert_cmpstr(a->last_boot_id, ==, BOOT_1);
	g_assert_cmpuint(a->last_seq, ==, 77);
	const KvRegistryGuest *b = kv_registry_lookup_uuid(back, UUID_B);
	g_assert_null(b->last_boot_id);
	g_assert_cmpuint(b->last_seq, ==, 0);
	/* A registry written before sequences loads; its guests have none. */
	const char *old = "{\"schema\":\"ksmvirt-registry/1\",\"guests\":[{\"uuid\":\"" UUID_A "\","
			  "\"name\":\"a\",\"state\":\"running\",\"last_op\":\"started\","
			  "\"last_subop\":\"begin\",\"last_time_us\":5,\"last_event_id\":\"x\","
			  "\"facts\":null}]}";
	g_autoptr(KvRegistry) legacy = kv_registry_from_json(old, strlen(old), &err);
	g_assert_no_error(err);
	g_assert_cmpuint(kv_registry_lookup_uuid(legacy, UUID_A)->last_seq, ==, 0);
	g_assert_true(apply_seq(legacy, KV_EVENT_OP_STOPPED, BOOT_1, 1, 4));
}

static void
test_expire(void)
{
	gint64 now = g_get_real_time();
	gint64 max_age_us = (gint64)KV_REGISTRY_STOPPED_MAX_AGE_S * G_USEC_PER_SEC;
	g_autoptr(KvRegistry) reg = kv_registry_new();
	apply(reg, KV_EVENT_OP_STOPPED, "gone", "00000000-0000-4000-8000-000000000001", now - max_age_us - 1,
	      TRUE);
	apply(reg, KV_EVENT_OP_RELEASE, "released", "00000000-0000-4000-8000-000000000002",
	      now - 2 * max_age_us, TRUE);
	apply(reg, KV_EVENT_OP_STOPPED, "recent", "00000000-0000-4000-8000-000000000003",
	      now - max_age_us + G_USEC_PER_SEC, TRUE);
	/* Running for long without an event: kept. */
	apply(reg, KV_EVENT_OP_STARTED, "long-running", "00000000-0000-4000-8000-000000000004",
	      now - 10 * max_age_us, TRUE);
	g_assert_cmpuint(kv_registry_expire(reg, now), ==, 2);
	g_assert_cmpuint(kv_registry_size(reg), ==, 2);
	g_assert_null(kv_registry_lookup_name(reg, "gone"));
	g_assert_null(kv_registry_lookup_name(reg, "released"));
	g_assert_nonnull(kv_registry_lookup_name(reg, "recent"));
	g_assert_nonnull(kv_registry_lookup_name(reg, "long-running"));
	g_assert_cmpuint(kv_registry_expire(reg, now), ==, 0);
}

static void
test_cap(void)
{
	/* Many more guests than the bound: the stopped ones heard from least
	 * recently go first, the running ones stay. */
	g_autoptr(KvRegistry) reg = kv_registry_new();
	const guint n = KV_REGISTRY_MAX_GUESTS + 500;
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *uuid = g_strdup_printf("00000000-0000-4000-8000-%012u", i);
		g_autofree gchar *name = g_strdup_printf("g%u", i);
		KvEventOp op = i % 10 == 0 ? KV_EVENT_OP_STARTED : KV_EVENT_OP_STOPPED;
		g_autoptr(KvEvent) ev = event(op, name, uuid, 1000 + i);
		ev->boot_id = g_strdup(BOOT_1);
		ev->seq = 1 + i;
		g_assert_true(kv_registry_apply(reg, ev));
		g_assert_cmpuint(kv_registry_size(reg), <=, KV_REGISTRY_MAX_GUESTS);
	}
	g_assert_cmpuint(kv_registry_size(reg), ==, KV_REGISTRY_MAX_GUESTS);
	for (guint i = 0; i < n; i += 10) {
		g_autofree gchar *name = g_strdup_printf("g%u", i);
		g_assert_nonnull(kv_registry_lookup_name(reg, name));
	}
	g_assert_null(kv_registry_lookup_name(reg, "g1"));
	g_assert_nonnull(kv_registry_lookup_name(reg, "g1499"));
	/* A file holding more is cut to the bound when read. */
	g_autoptr(GString) big = g_string_new("{\"schema\":\"ksmvirt-registry/1\",\"guests\":[");
	for (guint i = 0; i < n; i++)
		g_string_append_printf(big,
				       "%s{\"uuid\":\"u%u\",\"name\":\"n%u\",\"state\":\"stopped\","
				       "\"last_time_us\":%u}",
				       i ? "," : "", i, i, i);
	g_string_append(big, "]}");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvRegistry) back = kv_registry_from_json(big->str, big->len, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(kv_registry_size(back), ==, KV_REGISTRY_MAX_GUESTS);
	g_assert_nonnull(kv_registry_lookup_name(back, "n1499"));
	g_assert_null(kv_registry_lookup_name(back, "n0"));
}

static guint64
boottime_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (guint64)ts.tv_sec * G_USEC_PER_SEC + (guint64)ts.tv_nsec / 1000;
}

static void
test_next_seq(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("kv-order-XXXXXX", &err);
	g_assert_no_error(err);
	g_assert_cmpint(chmod(dir, 0755), ==, 0);
	g_autofree gchar *path = g_build_filename(dir, KV_ORDER_SEQ_FILE, NULL);
	guint64 floor_us = boottime_us(), prev = 0;
	for (guint i = 0; i < 1000; i++) {
		guint64 seq = 0;
		g_assert_true(kv_order_next_seq(dir, &seq, &err));
		g_assert_no_error(err);
		g_assert_cmpuint(seq, >, prev);
		g_assert_cmpuint(seq, >=, floor_us);
		prev = seq;
	}
	/* A counter far ahead keeps counting from there. */
	g_assert_true(g_file_set_contents(path, "99999999999999\n", -1, NULL));
	guint64 seq = 0;
	g_assert_true(kv_order_next_seq(dir, &seq, &err));
	g_assert_cmpuint(seq, ==, 100000000000000);
	/* A damaged or lost counter never goes back below the time since boot. */
	g_assert_true(g_file_set_contents(path, "garbage", -1, NULL));
	g_assert_true(kv_order_next_seq(dir, &seq, &err));
	g_assert_cmpuint(seq, >=, prev);
	g_unlink(path);
	g_assert_true(kv_order_next_seq(dir, &seq, &err));
	g_assert_cmpuint(seq, >=, prev);

	/* A symlink at the counter's path is not followed. */
	g_autofree gchar *victim = g_build_filename(dir, "victim", NULL);
	g_assert_true(g_file_set_contents(victim, "precious", -1, NULL));
	g_unlink(path);
	g_assert_cmpint(symlink(victim, path), ==, 0);
	seq = 0;
	g_assert_false(kv_order_next_seq(dir, &seq, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_ACCESS);
	g_clear_error(&err);
	g_assert_cmpuint(seq, >=, floor_us); /* still a usable number */
	g_autofree gchar *left = NULL;
	g_assert_true(g_file_get_contents(victim, &left, NULL, NULL));
	g_assert_cmpstr(left, ==, "precious");
	g_unlink(path);
	/* Nor is a directory others may write to used. */
	g_assert_cmpint(chmod(dir, 0777), ==, 0);
	g_assert_false(kv_order_next_seq(dir, &seq, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_ACCESS);
	g_clear_error(&err);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	g_unlink(victim);
	g_rmdir(dir);
}

static void
test_boot_id(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree gchar *root = g_dir_make_tmp("kv-root-XXXXXX", &err);
	g_autofree gchar *dir = g_build_filename(root, "proc/sys/kernel/random", NULL);
	g_autofree gchar *path = g_build_filename(dir, "boot_id", NULL);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	g_autoptr(KvCtx) ctx = kv_ctx_new(root);
	g_assert_true(g_file_set_contents(path, "0A1B2C3D-0000-4000-8000-00000000000F\n", -1, NULL));
	g_autofree gchar *id = kv_order_boot_id(ctx, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(id, ==, "0a1b2c3d-0000-4000-8000-00000000000f");
	g_assert_true(g_file_set_contents(path, "not a uuid\n", -1, NULL));
	g_assert_null(kv_order_boot_id(ctx, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
	g_clear_error(&err);
	g_unlink(path);
	g_assert_null(kv_order_boot_id(ctx, &err));
	g_assert_nonnull(err);
	g_autofree gchar *cut = g_build_filename(root, "proc", NULL);
	g_autofree gchar *cmd = g_strdup_printf("rm -rf '%s'", cut);
	g_assert_cmpint(system(cmd), ==, 0);
	g_rmdir(root);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/registry/lifecycle", test_lifecycle);
	g_test_add_func("/registry/order-and-duplicates", test_order_and_duplicates);
	g_test_add_func("/registry/lookup", test_lookup);
	g_test_add_func("/registry/json-and-file", test_json_and_file);
	g_test_add_func("/registry/default-path", test_default_path);
	g_test_add_func("/registry/order/future-stamp", test_order_future_stamp);
	g_test_add_func("/registry/order/boots", test_order_boots);
	g_test_add_func("/registry/order/legacy", test_order_legacy);
	g_test_add_func("/registry/order/file", test_order_file);
	g_test_add_func("/registry/expire", test_expire);
	g_test_add_func("/registry/cap", test_cap);
	g_test_add_func("/order/next-seq", test_next_seq);
	g_test_add_func("/order/boot-id", test_boot_id);
	return g_test_run();
}
