/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-balancer-state.c: the balancer's state file and history file (see
 * kv-balancer-state.h). */
#include "kv-balancer-state.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "kv-file.h"
#include "kv-json.h"
#include "kv-status.h"

#define STATE_SCHEMA "ksmvirt-balancer-state/1"
/* The state file is read up to this size. */
#define STATE_MAX_BYTES (16u << 20)

/* The policy state as kept: one line a field (a new policy's state is a
 * new line here).  Counters that do not fit a JSON integer are clamped;
 * a limit of KV_UNLIMITED is kept as -1. */
typedef enum {
	F_U64,
	F_UINT,
	F_BOOL,
	F_DOUBLE,
	F_STR,
	F_LIMIT
} FieldType;

typedef struct {
	const char *name;
	FieldType type;
	gsize offset;
	double def; /* F_DOUBLE: when absent */
} Field;

#define HOST(f, t, d)                                \
	{                                            \
#f, t, offsetof(KvPolicyState, f), d \
	}
#define GUEST(f, t)                                       \
	{                                                 \
#f, t, offsetof(KvGuestPolicyState, f), 0 \
	}

static const Field host_fields[] = {
	HOST(tick, F_U64, 0),
	HOST(ksm_active, F_BOOL, 0),
	HOST(low_gain_ticks, F_UINT, 0),
	HOST(backed_off, F_BOOL, 0),
	HOST(gain_pages_per_cpu_s, F_DOUBLE, -1),
	HOST(full_scans_since_on, F_U64, 0),
	HOST(numa_unmerging, F_BOOL, 0),
	HOST(numa_restore_run, F_U64, 0),
	HOST(numa_busy_until_tick, F_U64, 0),
	HOST(ksm_blocked_until_tick, F_U64, 0),
	HOST(ksm_blocked_error, F_STR, 0),
};

static const Field guest_fields[] = {
	GUEST(balloon_changed_tick, F_U64),
	GUEST(cg_busy_until_tick, F_U64),
	GUEST(cg_original_limit_bytes, F_LIMIT),
};

#define AT(base, f, type) ((type *)(void *)((char *)(base) + (f)->offset))

static void
fields_save(JsonBuilder *jb, const Field *fields, guint n, const void *base)
{
	for (guint i = 0; i < n; i++) {
		const Field *f = &fields[i];

		switch (f->type) {
		case F_U64:
			kv_json_u64(jb, f->name, *AT(base, f, const guint64));
			break;
		case F_UINT:
			kv_json_u64(jb, f->name, *AT(base, f, const guint));
			break;
		case F_BOOL:
			kv_json_bool(jb, f->name, *AT(base, f, const gboolean));
			break;
		case F_DOUBLE:
			kv_json_double(jb, f->name, *AT(base, f, const double));
			break;
		case F_STR:
			kv_json_str(jb, f->name, *AT(base, f, char *const));
			break;
		case F_LIMIT: {
			guint64 v = *AT(base, f, const guint64);

			kv_json_i64(jb, f->name, v == KV_UNLIMITED ? -1 : (gint64)MIN(v, (guint64)G_MAXINT64));
			break;
		}
		}
	}
}

static guint64
obj_u64(JsonObject *o, const char *name)
{
	gint64 v = kv_json_get_int(o, name, 0);

	return v < 0 ? 0 : (guint64)v;
}

static void
fields_load(JsonObject *o, const Field *fields, guint n, void *base)
{
	for (guint i = 0; i < n; i++) {
		const Field *f = &fields[i];

		switch (f->type) {
		case F_U64:
			*AT(base, f, guint64) = obj_u64(o, f->name);
			break;
		case F_UINT:
			*AT(base, f, guint) = (guint)obj_u64(o, f->name);
			break;
		case F_BOOL:
			*AT(base, f, gboolean) = kv_json_get_bool(o, f->name, FALSE);
			break;
		case F_DOUBLE:
			*AT(base, f, double) = kv_json_get_double(o, f->name, f->def);
			break;
		case F_STR:
			g_free(*AT(base, f, char *));
			*AT(base, f, char *) = g_strdup(kv_json_get_str(o, f->name, NULL));
			break;
		case F_LIMIT: {
			gint64 v = kv_json_get_int(o, f->name, 0);

			*AT(base, f, guint64) = v < 0 ? KV_UNLIMITED : (guint64)v;
			break;
		}
		}
	}
}

gboolean
kv_balancer_state_save(const char *path, const KvPolicyState *pst, gint64 time_us, const KvPlan *plan,
		       GError **error)
{
	g_autoptr(JsonBuilder) jb = json_builder_new();
	g_autofree char *text = NULL;
	GHashTableIter it;
	gpointer k, v;

	json_builder_begin_object(jb);
	kv_json_str(jb, "schema", STATE_SCHEMA);
	kv_json_i64(jb, "time_us", time_us);
	fields_save(jb, host_fields, G_N_ELEMENTS(host_fields), pst);
	json_builder_set_member_name(jb, "guests");
	json_builder_begin_object(jb);
	g_hash_table_iter_init(&it, pst->guests);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		json_builder_set_member_name(jb, k);
		json_builder_begin_object(jb);
		fields_save(jb, guest_fields, G_N_ELEMENTS(guest_fields), v);
		json_builder_end_object(jb);
	}
	json_builder_end_object(jb);
	kv_status_add_plan(jb, plan);
	json_builder_end_object(jb);
	text = kv_json_to_string(jb, TRUE);
	return kv_file_write_atomic(path, text, strlen(text), 0644, KV_FILE_WRITE_CHECK_DIR, error);
}

gboolean
kv_balancer_state_load(const char *path, KvPolicyState *pst, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *buf = NULL;
	gsize len = 0;
	JsonObject *o, *guests;

	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return FALSE;
	buf = kv_file_read_capped(path, STATE_MAX_BYTES, 0, &len, &err);
	if (!buf) {
		g_propagate_prefixed_error(error, g_steal_pointer(&err),
					   "balancer state %s unreadable, starting afresh: ", path);
		return FALSE;
	}
	root = kv_json_parse(buf, (gssize)MIN(len, (gsize)G_MAXSSIZE), 0, 0, &err);
	if (!root) {
		g_autoptr(GError) rerr = NULL;
		g_autofree char *aside = kv_file_set_aside(path, &rerr);

		g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
			    "balancer state %s does not parse (%s), %s%s, starting afresh", path, err->message,
			    aside ? "set aside as " : "cannot be set aside: ", aside ? aside : rerr->message);
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_OBJECT(root) ||
	    g_strcmp0(kv_json_get_str(json_node_get_object(root), "schema", ""), STATE_SCHEMA) != 0) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
			    "balancer state %s has another schema, starting afresh", path);
		return FALSE;
	}
	o = json_node_get_object(root);
	fields_load(o, host_fields, G_N_ELEMENTS(host_fields), pst);
	guests = kv_json_get_object(o, "guests");
	if (guests) {
		g_autoptr(GList) names = json_object_get_members(guests);

		for (GList *l = names; l; l = l->next) {
			JsonNode *gn = json_object_get_member(guests, l->data);

			if (JSON_NODE_HOLDS_OBJECT(gn))
				fields_load(json_node_get_object(gn), guest_fields,
					    G_N_ELEMENTS(guest_fields), kv_policy_state_guest(pst, l->data));
		}
	}
	return TRUE;
}

static char *
history_line(const KvSnapshot *s, const KvPolicyState *pst, const KvPlan *plan, gint64 time_us, gboolean dry_run)
{
	g_autoptr(JsonBuilder) jb = json_builder_new();
	g_autofree char *line = NULL;

	json_builder_begin_object(jb);
	kv_json_str(jb, "schema", KV_HISTORY_SCHEMA);
	kv_json_double(jb, "time", time_us / 1e6);
	kv_json_u64(jb, "tick", pst->tick);
	kv_json_u64(jb, "mem_total_kib", s->meminfo.mem_total_kib);
	kv_json_u64(jb, "mem_available_kib", s->meminfo.mem_available_kib);
	kv_json_u64(jb, "swap_free_kib", s->meminfo.swap_free_kib);
	if (s->have_psi) {
		kv_json_double(jb, "psi_some_avg10", s->psi_some_avg10);
		kv_json_double(jb, "psi_full_avg10", s->psi_full_avg10);
	}
	if (s->ksm) {
		kv_json_u64(jb, "ksm_run", s->ksm->value[KV_KSM_RUN]);
		kv_json_u64(jb, "pages_to_scan", s->ksm->value[KV_KSM_PAGES_TO_SCAN]);
		kv_json_u64(jb, "pages_sharing", s->ksm->value[KV_KSM_PAGES_SHARING]);
		kv_json_u64(jb, "pages_shared", s->ksm->value[KV_KSM_PAGES_SHARED]);
		kv_json_u64(jb, "ksm_zero_pages", s->ksm->value[KV_KSM_ZERO_PAGES]);
	}
	if (s->have_ksmd_cpu)
		kv_json_double(jb, "ksmd_cpu_s", s->ksmd_cpu_s);
	if (s->have_deltas) {
		kv_json_i64(jb, "merged_delta_pages", s->merged_delta_pages);
		kv_json_u64(jb, "pswpin_delta", s->pswpin_delta);
		kv_json_u64(jb, "pswpout_delta", s->pswpout_delta);
		kv_json_u64(jb, "ksm_swpin_copy_delta", s->ksm_swpin_copy_delta);
	}
	if (pst->gain_pages_per_cpu_s >= 0)
		kv_json_double(jb, "gain_pages_per_cpu_s", pst->gain_pages_per_cpu_s);
	kv_json_u64(jb, "guests", s->guests->len);
	kv_json_bool(jb, "dry_run", dry_run);
	kv_status_add_plan(jb, plan);
	json_builder_end_object(jb);
	line = kv_json_to_string(jb, FALSE);
	return g_strconcat(line, "\n", NULL);
}

gboolean
kv_balancer_history_append(const char *path, guint64 max_bytes, const KvSnapshot *s, const KvPolicyState *pst,
			   const KvPlan *plan, gint64 time_us, gboolean dry_run, GError **error)
{
	g_autofree char *out = history_line(s, pst, plan, time_us, dry_run);
	GStatBuf st;
	int fd, errnum = 0;
	gboolean ok;

	if (g_stat(path, &st) == 0 && (guint64)st.st_size > max_bytes / 2) {
		/* Two halves: the current part and the previous one. */
		g_autofree char *old = g_strconcat(path, ".1", NULL);

		g_rename(path, old);
	}
	/* Never through a symlink, never into a FIFO or a device. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd < 0) {
		errnum = errno;
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "history %s: %s", path, g_strerror(errnum));
		return FALSE;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "history %s: not a regular file", path);
		ok = FALSE;
	} else if (!kv_write_all(fd, out, strlen(out))) {
		errnum = errno;
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "history %s: %s", path, g_strerror(errnum));
		ok = FALSE;
	} else {
		ok = TRUE;
	}
	if (close(fd) != 0 && ok) {
		errnum = errno;
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "history %s: %s", path, g_strerror(errnum));
		ok = FALSE;
	}
	return ok;
}
