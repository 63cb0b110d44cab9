/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-balancer.c: sense -> decide -> act, state and history (see kv-balancer.h). */
#include "kv-balancer.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "kv-act.h"
#include "kv-config.h"
#include "kv-escape.h"
#include "kv-file.h"
#include "kv-json.h"
#include "kv-spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#define STATE_SCHEMA "ksmvirt-balancer-state/1"
/* The state file is read up to this size. */
#define STATE_MAX_BYTES (16u << 20)
#define HV_RETRY_TICKS 6
#define RECENT_ACTIONS_MAX 32

struct KvBalancer {
	const KvCtx *ctx;
	gboolean use_libvirt;
	char *uri;
	char *state_dir;
	KvPolicyLookup lookup;
	gpointer lookup_data;
	KvOsLookup is_windows;
	GArray *pids;
	char *qemu_user;
	KvHv *(*open_hv)(const KvCtx *ctx, const char *uri, gpointer data, GError **error);
	gpointer open_hv_data;
	KvConfig cfg;
	KvHv *hv;
	guint64 hv_retry_tick;
	char *hv_error;               /* why libvirt is not connected; NULL when it is */
	char *hv_lost;                /* how the connection was lost; NULL when it was not */
	gint64 hv_down_since_us;      /* real time the connection was lost or first failed */
	guint hv_reconnects;
	KvSenseState sense;
	KvPolicyState *pst;
	KvSnapshot *snap;
	KvPlan *plan;
	gint64 last_tick_real_us;
	gboolean last_dry_run;
	GPtrArray *notes;
	GQueue recent;                /* char*: "tick N [result] description" */
};

static void
note(KvBalancer *b, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
note(KvBalancer *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(b->notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

static char *
state_path(const KvBalancer *b, const char *name)
{
	return g_build_filename(b->state_dir, name, NULL);
}

static void
add_decisions(JsonBuilder *jb, const KvPlan *p)
{
	json_builder_set_member_name(jb, "decisions");
	json_builder_begin_array(jb);
	for (guint i = 0; p && i < p->summaries->len; i++) {
		const KvSummary *s = g_ptr_array_index(p->summaries, i);

		json_builder_begin_object(jb);
		kv_json_str(jb, "policy", s->policy);
		kv_json_str(jb, "decision", s->decision);
		kv_json_str(jb, "reason", s->reason);
		json_builder_end_object(jb);
	}
	json_builder_end_array(jb);
	json_builder_set_member_name(jb, "actions");
	json_builder_begin_array(jb);
	for (guint i = 0; p && i < p->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(p->actions, i);
		g_autofree char *d = kv_action_describe(a);

		json_builder_begin_object(jb);
		kv_json_str(jb, "policy", a->policy);
		kv_json_str(jb, "description", d);
		if (a->kind == KV_ACTION_KSM_KNOB)
			kv_json_str(jb, "knob", kv_ksm_knob_name(a->knob));
		if (a->guest)
			kv_json_str(jb, "guest", a->guest);
		if (a->value_str)
			kv_json_str(jb, "value", a->value_str);
		else
			kv_json_u64(jb, "value", a->value);
		kv_json_u64(jb, "old_value", a->old_value);
		kv_json_str(jb, "result", kv_action_result_to_string(a->result));
		if (a->error)
			kv_json_str(jb, "error", a->error);
		json_builder_end_object(jb);
	}
	json_builder_end_array(jb);
}

/* Policy state <-> JSON. */
static void
save_state(KvBalancer *b)
{
	g_autoptr(JsonBuilder) jb = json_builder_new();
	g_autofree char *text = NULL, *path = NULL;
	g_autoptr(GError) err = NULL;
	GHashTableIter it;
	gpointer k, v;

	if (!b->state_dir)
		return;
	json_builder_begin_object(jb);
	kv_json_str(jb, "schema", STATE_SCHEMA);
	kv_json_u64(jb, "tick", b->pst->tick);
	kv_json_i64(jb, "time_us", b->last_tick_real_us);
	kv_json_bool(jb, "ksm_active", b->pst->ksm_active);
	kv_json_u64(jb, "low_gain_ticks", b->pst->low_gain_ticks);
	kv_json_bool(jb, "backed_off", b->pst->backed_off);
	kv_json_double(jb, "gain_pages_per_cpu_s", b->pst->gain_pages_per_cpu_s);
	kv_json_u64(jb, "full_scans_since_on", b->pst->full_scans_since_on);
	kv_json_bool(jb, "numa_unmerging", b->pst->numa_unmerging);
	kv_json_u64(jb, "numa_restore_run", b->pst->numa_restore_run);
	kv_json_u64(jb, "numa_busy_until_tick", b->pst->numa_busy_until_tick);
	kv_json_u64(jb, "ksm_blocked_until_tick", b->pst->ksm_blocked_until_tick);
	kv_json_str(jb, "ksm_blocked_error", b->pst->ksm_blocked_error);
	json_builder_set_member_name(jb, "guests");
	json_builder_begin_object(jb);
	g_hash_table_iter_init(&it, b->pst->guests);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const KvGuestPolicyState *gs = v;

		json_builder_set_member_name(jb, k);
		json_builder_begin_object(jb);
		kv_json_u64(jb, "balloon_changed_tick", gs->balloon_changed_tick);
		kv_json_u64(jb, "cg_busy_until_tick", gs->cg_busy_until_tick);
		/* KV_UNLIMITED does not fit in a JSON integer: -1. */
		kv_json_i64(jb, "cg_original_limit_bytes", gs->cg_original_limit_bytes == KV_UNLIMITED ? -1 :
		       (gint64)MIN(gs->cg_original_limit_bytes, (guint64)G_MAXINT64));
		json_builder_end_object(jb);
	}
	json_builder_end_object(jb);
	add_decisions(jb, b->plan);
	json_builder_end_object(jb);
	text = kv_json_to_string(jb, TRUE);
	path = state_path(b, "balancer-state.json");
	if (!kv_file_write_atomic(path, text, strlen(text), 0644, KV_FILE_WRITE_CHECK_DIR, &err))
		note(b, "cannot save the balancer state: %s", err->message);
}


static guint64
obj_u64(JsonObject *o, const char *name)
{
	gint64 v = kv_json_get_int(o, name, 0);

	return v < 0 ? 0 : (guint64)v;
}

static void
load_state(KvBalancer *b)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *buf = NULL;
	gsize len = 0;
	JsonObject *o, *guests;

	if (!b->state_dir)
		return;
	path = state_path(b, "balancer-state.json");
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return;
	buf = kv_file_read_capped(path, STATE_MAX_BYTES, 0, &len, &err);
	if (!buf) {
		note(b, "balancer state %s unreadable, starting afresh: %s", path, err->message);
		return;
	}
	root = kv_json_parse(buf, (gssize)MIN(len, (gsize)G_MAXSSIZE), 0, 0, &err);
	if (!root) {
		g_autoptr(GError) rerr = NULL;
		g_autofree char *aside = kv_file_set_aside(path, &rerr);

		note(b, "balancer state %s does not parse (%s), %s%s, starting afresh", path, err->message,
		     aside ? "set aside as " : "cannot be set aside: ", aside ? aside : rerr->message);
		return;
	}
	if (!JSON_NODE_HOLDS_OBJECT(root) ||
	    g_strcmp0(kv_json_get_str(json_node_get_object(root), "schema", ""),
		      STATE_SCHEMA) != 0) {
		note(b, "balancer state %s has another schema, starting afresh", path);
		return;
	}
	o = json_node_get_object(root);
	b->pst->tick = obj_u64(o, "tick");
	b->pst->ksm_active = kv_json_get_bool(o, "ksm_active", FALSE);
	b->pst->low_gain_ticks = (guint)obj_u64(o, "low_gain_ticks");
	b->pst->backed_off = kv_json_get_bool(o, "backed_off", FALSE);
	b->pst->gain_pages_per_cpu_s = kv_json_get_double(o, "gain_pages_per_cpu_s", -1);
	b->pst->full_scans_since_on = obj_u64(o, "full_scans_since_on");
	b->pst->numa_unmerging = kv_json_get_bool(o, "numa_unmerging", FALSE);
	b->pst->numa_restore_run = obj_u64(o, "numa_restore_run");
	b->pst->numa_busy_until_tick = obj_u64(o, "numa_busy_until_tick");
	b->pst->ksm_blocked_until_tick = obj_u64(o, "ksm_blocked_until_tick");
	b->pst->ksm_blocked_error = g_strdup(kv_json_get_str(o, "ksm_blocked_error", NULL));
	guests = kv_json_get_object(o, "guests");
	if (guests) {
		g_autoptr(GList) names = json_object_get_members(guests);

		for (GList *l = names; l; l = l->next) {
			JsonNode *gn = json_object_get_member(guests, l->data);
			KvGuestPolicyState *gs;
			JsonObject *go;
			gint64 orig;

			if (!JSON_NODE_HOLDS_OBJECT(gn))
				continue;
			go = json_node_get_object(gn);
			gs = kv_policy_state_guest(b->pst, l->data);
			gs->balloon_changed_tick = obj_u64(go, "balloon_changed_tick");
			gs->cg_busy_until_tick = obj_u64(go, "cg_busy_until_tick");
			orig = kv_json_get_int(go, "cg_original_limit_bytes", 0);
			gs->cg_original_limit_bytes = orig < 0 ? KV_UNLIMITED : (guint64)orig;
		}
	}
	note(b, "balancer state restored at tick %" G_GUINT64_FORMAT " (KSM %s%s)", b->pst->tick,
	     b->pst->ksm_active ? "active" : "idle", b->pst->backed_off ? ", backed off" : "");
}

KvBalancer *
kv_balancer_new(const KvBalancerOptions *opts, const KvConfig *cfg)
{
	KvBalancer *b = g_new0(KvBalancer, 1);

	b->ctx = opts->ctx;
	b->use_libvirt = opts->use_libvirt;
	b->uri = g_strdup(opts->uri);
	b->state_dir = g_strdup(opts->state_dir);
	b->lookup = opts->lookup;
	b->lookup_data = opts->lookup_data;
	b->is_windows = opts->is_windows;
	b->pids = opts->pids ? g_array_ref(opts->pids) : NULL;
	b->qemu_user = g_strdup(opts->qemu_user);
	b->open_hv = opts->open_hv;
	b->open_hv_data = opts->open_hv_data;
	kv_config_copy(&b->cfg, cfg);
	b->pst = kv_policy_state_new();
	b->notes = g_ptr_array_new_with_free_func(g_free);
	if (b->state_dir && g_mkdir_with_parents(b->state_dir, 0755) < 0)
		note(b, "cannot create %s: %s", b->state_dir, g_strerror(errno));
	load_state(b);
	return b;
}

void
kv_balancer_free(KvBalancer *b)
{
	if (!b)
		return;
	kv_hv_close(b->hv);
	kv_policy_state_free(b->pst);
	kv_snapshot_free(b->snap);
	kv_plan_free(b->plan);
	if (b->pids)
		g_array_unref(b->pids);
	g_free(b->qemu_user);
	g_ptr_array_unref(b->notes);
	g_queue_clear_full(&b->recent, g_free);
	g_free(b->uri);
	g_free(b->state_dir);
	g_free(b->hv_error);
	g_free(b->hv_lost);
	kv_config_clear(&b->cfg);
	g_free(b);
}

void
kv_balancer_set_config(KvBalancer *b, const KvConfig *cfg)
{
	kv_config_copy(&b->cfg, cfg);
}

const KvConfig *
kv_balancer_get_config(const KvBalancer *b)
{
	return &b->cfg;
}

const KvSnapshot *
kv_balancer_snapshot(const KvBalancer *b)
{
	return b->snap;
}

GPtrArray *
kv_balancer_take_notes(KvBalancer *b)
{
	GPtrArray *out = b->notes;

	b->notes = g_ptr_array_new_with_free_func(g_free);
	return out;
}

/* Remembers why libvirt is not connected (the first failure dates it). */
static void
hv_down(KvBalancer *b, const char *why)
{
	if (!b->hv_error)
		b->hv_down_since_us = g_get_real_time();
	g_free(b->hv_error);
	b->hv_error = g_strdup(why);
}

static void
ensure_hv(KvBalancer *b)
{
	g_autoptr(GError) err = NULL;

	if (!b->use_libvirt || b->hv || b->pst->tick < b->hv_retry_tick)
		return;
	b->hv = b->open_hv ? b->open_hv(b->ctx, b->uri, b->open_hv_data, &err) :
		kv_hv_libvirt_open_rw(b->ctx, b->uri, &err);
	if (!b->hv) {
		g_autofree char *why = g_strdup_printf("%s%s%s (retry at tick %" G_GUINT64_FORMAT ")",
						       b->hv_lost ? b->hv_lost : "",
						       b->hv_lost ? "; reconnecting: " : "", err->message,
						       b->pst->tick + HV_RETRY_TICKS + 1);

		b->hv_retry_tick = b->pst->tick + HV_RETRY_TICKS;
		hv_down(b, why);
		if (b->uri || !g_error_matches(err, KV_ERROR, KV_ERROR_NOT_FOUND))
			note(b, "libvirt: %s (retry in %u ticks)", err->message, HV_RETRY_TICKS);
		return;
	}
	if (b->hv_error) {
		b->hv_reconnects++;
		note(b, "libvirt: connected again after %.0f s", (g_get_real_time() - b->hv_down_since_us) / 1e6);
		g_clear_pointer(&b->hv_error, g_free);
		g_clear_pointer(&b->hv_lost, g_free);
	}
}

static void
history_append(KvBalancer *b)
{
	g_autoptr(JsonBuilder) jb = json_builder_new();
	g_autofree char *line = NULL, *out = NULL, *path = NULL;
	const KvSnapshot *s = b->snap;
	GStatBuf st;
	int fd;

	if (!b->state_dir || !s)
		return;
	path = state_path(b, "history.jsonl");
	if (g_stat(path, &st) == 0 && (guint64)st.st_size > (guint64)b->cfg.history_max_kib * 1024 / 2) {
		/* Two halves: the current part and the previous one. */
		g_autofree char *old = state_path(b, "history.jsonl.1");

		g_rename(path, old);
	}
	json_builder_begin_object(jb);
	kv_json_str(jb, "schema", KV_HISTORY_SCHEMA);
	kv_json_double(jb, "time", b->last_tick_real_us / 1e6);
	kv_json_u64(jb, "tick", b->pst->tick);
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
	if (b->pst->gain_pages_per_cpu_s >= 0)
		kv_json_double(jb, "gain_pages_per_cpu_s", b->pst->gain_pages_per_cpu_s);
	kv_json_u64(jb, "guests", s->guests->len);
	kv_json_bool(jb, "dry_run", b->last_dry_run);
	add_decisions(jb, b->plan);
	json_builder_end_object(jb);
	line = kv_json_to_string(jb, FALSE);
	out = g_strconcat(line, "\n", NULL);
	/* Never through a symlink, never into a FIFO or a device. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd < 0) {
		note(b, "history %s: %s", path, g_strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		note(b, "history %s: not a regular file", path);
	else if (!kv_write_all(fd, out, strlen(out)))
		note(b, "history %s: %s", path, g_strerror(errno));
	if (close(fd) != 0)
		note(b, "history %s: %s", path, g_strerror(errno));
}

static gboolean
plan_writes_ksm(const KvPlan *p)
{
	for (guint i = 0; i < p->actions->len; i++)
		if (((const KvAction *)g_ptr_array_index(p->actions, i))->kind == KV_ACTION_KSM_KNOB)
			return TRUE;
	return FALSE;
}

/* Takes the KSM lock when this tick writes KSM knobs on the real system.
 * Returns FALSE when another process holds it. */
static gboolean
lock_ksm(KvBalancer *b, int *fd_out)
{
	int fd;

	*fd_out = -1;
	if (!b->cfg.ksm_lock_file[0] || (b->ctx->root && b->ctx->root[0]) || !plan_writes_ksm(b->plan))
		return TRUE;
	fd = open(b->cfg.ksm_lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return TRUE;   /* no lock directory: nobody to take turns with */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return FALSE;
	}
	*fd_out = fd;
	return TRUE;
}

static void
defer_ksm_actions(KvBalancer *b)
{
	for (guint i = 0; i < b->plan->actions->len; i++) {
		KvAction *a = g_ptr_array_index(b->plan->actions, i);

		if (a->kind != KV_ACTION_KSM_KNOB)
			continue;
		a->result = KV_RESULT_TRANSIENT;
		a->errnum = EWOULDBLOCK;
		a->error = g_strdup_printf("another process holds %s: not written this tick",
					   b->cfg.ksm_lock_file);
	}
}

const KvPlan *
kv_balancer_tick(KvBalancer *b, gboolean force_dry_run, GError **error)
{
	KvSenseOptions so = { .lookup = b->lookup, .lookup_data = b->lookup_data, .pids = b->pids,
			      .is_windows = b->is_windows, .qemu_user = b->qemu_user };
	KvSnapshot *snap;
	gboolean dry = force_dry_run || b->cfg.dry_run;

	ensure_hv(b);
	so.hv = b->hv;
	snap = kv_sense(b->ctx, &so, &b->sense, error);
	if (!snap)
		return NULL;
	for (guint i = 0; i < snap->notes->len; i++)
		note(b, "%s", (const char *)g_ptr_array_index(snap->notes, i));
	if (b->cfg.guests[0]) {
		/* [daemon] guests: the others are neither shown nor managed. */
		for (guint i = snap->guests->len; i-- > 0;) {
			const KvGuestSense *g = g_ptr_array_index(snap->guests, i);

			if (!kv_config_guest_selected(&b->cfg, g->name))
				g_ptr_array_remove_index(snap->guests, i);
		}
	}
	if (snap->hv_failed && b->hv) {
		/* libvirtd went away (or restarted): reconnect next tick. */
		g_autofree char *why = g_strdup_printf("connection lost: %s", snap->hv_error ? snap->hv_error :
						       "libvirt did not answer");

		hv_down(b, why);
		g_free(b->hv_lost);
		b->hv_lost = g_strdup(why);
		note(b, "libvirt: %s", why);
		kv_hv_close(b->hv);
		b->hv = NULL;
		b->hv_retry_tick = b->pst->tick + 1;
	}
	kv_snapshot_free(b->snap);
	b->snap = snap;
	kv_plan_free(b->plan);
	b->plan = kv_policy_decide(snap, &b->cfg, b->pst);
	{
		int lock_fd = -1;

		if (!dry && !lock_ksm(b, &lock_fd))
			defer_ksm_actions(b);
		kv_act(b->ctx, b->hv, b->plan, dry);
		if (lock_fd >= 0)
			close(lock_fd);
	}
	kv_policy_learn(b->plan, &b->cfg, b->pst);
	b->last_tick_real_us = g_get_real_time();
	b->last_dry_run = dry;
	for (guint i = 0; i < b->plan->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(b->plan->actions, i);
		g_autofree char *d = kv_action_describe(a);

		g_queue_push_tail(&b->recent, g_strdup_printf("tick %" G_GUINT64_FORMAT " [%s] %s%s%s",
							      b->pst->tick, kv_action_result_to_string(a->result),
							      d, a->error ? ": " : "", a->error ? a->error : ""));
		while (g_queue_get_length(&b->recent) > RECENT_ACTIONS_MAX)
			g_free(g_queue_pop_head(&b->recent));
	}
	history_append(b);
	save_state(b);
	return b->plan;
}

char *
kv_balancer_status_json(const KvBalancer *b)
{
	g_autoptr(JsonBuilder) jb = json_builder_new();
	const KvSnapshot *s = b->snap;
	g_autofree char *text = NULL;

	json_builder_begin_object(jb);
	kv_json_str(jb, "schema", KV_STATUS_SCHEMA);
	kv_json_u64(jb, "tick", b->pst->tick);
	kv_json_double(jb, "time", b->last_tick_real_us / 1e6);
	kv_json_u64(jb, "tick_ms", b->cfg.tick_ms);
	kv_json_bool(jb, "dry_run", b->last_dry_run);
	kv_json_bool(jb, "libvirt", b->hv != NULL);
	if (b->use_libvirt && !b->hv && b->hv_error) {
		kv_json_str(jb, "libvirt_error", b->hv_error);
		kv_json_double(jb, "libvirt_down_since", b->hv_down_since_us / 1e6);
	}
	kv_json_u64(jb, "libvirt_reconnects", b->hv_reconnects);
	json_builder_set_member_name(jb, "host");
	json_builder_begin_object(jb);
	if (s) {
		kv_json_u64(jb, "mem_total_kib", s->meminfo.mem_total_kib);
		kv_json_u64(jb, "mem_available_kib", s->meminfo.mem_available_kib);
		kv_json_u64(jb, "swap_total_kib", s->meminfo.swap_total_kib);
		kv_json_u64(jb, "swap_free_kib", s->meminfo.swap_free_kib);
		if (s->have_psi) {
			kv_json_double(jb, "psi_some_avg10", s->psi_some_avg10);
			kv_json_double(jb, "psi_full_avg10", s->psi_full_avg10);
		}
		kv_json_u64(jb, "numa_nodes", s->n_numa_nodes);
		json_builder_set_member_name(jb, "nodes");
		json_builder_begin_array(jb);
		for (guint i = 0; i < s->nodes->len; i++) {
			const KvNodeSense *n = &g_array_index(s->nodes, KvNodeSense, i);

			json_builder_begin_object(jb);
			kv_json_i64(jb, "id", n->id);
			kv_json_u64(jb, "mem_total_kib", n->total_kib);
			kv_json_u64(jb, "mem_free_kib", n->free_kib);
			kv_json_bool(jb, "under_pressure", kv_policy_node_pressed(b->pst, n->id));
			json_builder_end_object(jb);
		}
		json_builder_end_array(jb);
		if (s->have_ksmd_cpu)
			kv_json_double(jb, "ksmd_cpu_s", s->ksmd_cpu_s);
		if (s->have_deltas)
			kv_json_i64(jb, "merged_delta_pages", s->merged_delta_pages);
	}
	if (b->pst->gain_pages_per_cpu_s >= 0)
		kv_json_double(jb, "gain_pages_per_cpu_s", b->pst->gain_pages_per_cpu_s);
	kv_json_bool(jb, "ksm_active", b->pst->ksm_active);
	kv_json_bool(jb, "backed_off", b->pst->backed_off);
	json_builder_end_object(jb);
	json_builder_set_member_name(jb, "ksm");
	if (s && s->ksm) {
		static const KvKsmKnob shown[] = {
			KV_KSM_RUN, KV_KSM_PAGES_TO_SCAN, KV_KSM_SLEEP_MILLISECS, KV_KSM_PAGES_SHARED,
			KV_KSM_PAGES_SHARING, KV_KSM_PAGES_UNSHARED, KV_KSM_FULL_SCANS, KV_KSM_ZERO_PAGES,
			KV_KSM_MERGE_ACROSS_NODES, KV_KSM_ADVISOR_MAX_CPU,
		};

		json_builder_begin_object(jb);
		for (guint i = 0; i < G_N_ELEMENTS(shown); i++)
			if (kv_ksm_has(s->ksm, shown[i]))
				kv_json_u64(jb, kv_ksm_knob_name(shown[i]), s->ksm->value[shown[i]]);
		if (s->ksm->advisor_mode)
			kv_json_str(jb, "advisor_mode", s->ksm->advisor_mode);
		json_builder_end_object(jb);
	} else {
		json_builder_add_null_value(jb);
	}
	json_builder_set_member_name(jb, "guests");
	json_builder_begin_array(jb);
	for (guint i = 0; s && i < s->guests->len; i++) {
		const KvGuestSense *g = g_ptr_array_index(s->guests, i);

		json_builder_begin_object(jb);
		kv_json_str(jb, "name", g->name);
		kv_json_str(jb, "uuid", g->uuid);
		kv_json_i64(jb, "pid", g->pid);
		kv_json_u64(jb, "ram_kib", g->ram_kib);
		kv_json_u64(jb, "rss_kib", g->rss_kib);
		kv_json_u64(jb, "swap_kib", g->swap_kib);
		kv_json_u64(jb, "merging_pages", g->merging_pages);
		kv_json_i64(jb, "priority", g->priority);
		if (g->node_kib) {
			json_builder_set_member_name(jb, "node_kib");
			json_builder_begin_object(jb);
			for (guint j = 0; j < g->node_kib->len; j++) {
				const KvGuestNodeKib *nk = &g_array_index(g->node_kib, KvGuestNodeKib, j);
				g_autofree char *id = g_strdup_printf("%d", nk->node);

				kv_json_u64(jb, id, nk->kib);
			}
			json_builder_end_object(jb);
		}
		if (g->has_balloon) {
			json_builder_set_member_name(jb, "balloon");
			json_builder_begin_object(jb);
			kv_json_u64(jb, "actual_kib", g->balloon_actual_kib);
			kv_json_u64(jb, "maximum_kib", g->balloon_max_kib);
			kv_json_bool(jb, "driver", g->has_balloon_driver);
			if (g->has_balloon_driver) {
				kv_json_u64(jb, "unused_kib", g->balloon_unused_kib);
				kv_json_u64(jb, "available_kib", g->balloon_available_kib);
			}
			kv_json_u64(jb, "floor_kib", g->balloon_floor_kib);
			kv_json_str(jb, "floor_source", g->floor_source);
			json_builder_end_object(jb);
		}
		if (g->cg_version != KV_CGROUP_NONE) {
			json_builder_set_member_name(jb, "cgroup");
			json_builder_begin_object(jb);
			kv_json_u64(jb, "version", g->cg_version);
			kv_json_str(jb, "dir", g->cg_dir);
			kv_json_i64(jb, "limit_bytes", g->cg_limit_bytes == KV_UNLIMITED ? -1 :
			       (gint64)MIN(g->cg_limit_bytes, (guint64)G_MAXINT64));
			kv_json_u64(jb, "usage_bytes", g->cg_usage_bytes);
			json_builder_end_object(jb);
		}
		json_builder_end_object(jb);
	}
	json_builder_end_array(jb);
	add_decisions(jb, b->plan);
	json_builder_set_member_name(jb, "recent_actions");
	json_builder_begin_array(jb);
	for (GList *l = b->recent.head; l; l = l->next)
		json_builder_add_string_value(jb, l->data);
	json_builder_end_array(jb);
	json_builder_set_member_name(jb, "notes");
	json_builder_begin_array(jb);
	for (guint i = 0; s && i < s->notes->len; i++)
		json_builder_add_string_value(jb, g_ptr_array_index(s->notes, i));
	json_builder_end_array(jb);
	json_builder_end_object(jb);
	text = kv_json_to_string(jb, TRUE);
	/* Guest names from QEMU's command line may be any bytes. */
	return kv_escape_json_text(text);
}

char *
kv_status_render_text(const char *json, GError **error)
{
	g_autofree char *valid = kv_escape_json_text(json);
	g_autoptr(JsonNode) root = kv_json_parse(valid, -1, 0, 0, error);
	JsonObject *o, *host, *ksm;
	JsonArray *guests, *dec, *acts, *notes, *nodes;
	GString *t;

	if (!root)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(root) ||
	    g_strcmp0(kv_json_get_str(json_node_get_object(root), "schema", NULL), KV_STATUS_SCHEMA) != 0) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "not a %s document", KV_STATUS_SCHEMA);
		return NULL;
	}
	o = json_node_get_object(root);
	host = kv_json_get_object(o, "host");
	ksm = kv_json_get_object(o, "ksm");
	t = g_string_new(NULL);
	g_string_append_printf(t, "tick %" G_GINT64_FORMAT " every %.1f s%s%s", kv_json_get_int(o, "tick", 0),
			       kv_json_get_int(o, "tick_ms", 0) / 1000.0,
			       kv_json_get_bool(o, "dry_run", FALSE) ? ", dry run" : "",
			       kv_json_get_bool(o, "libvirt", FALSE) ? ", libvirt connected" : "");
	if (kv_json_get_str(o, "libvirt_error", NULL)) {
		g_autofree char *why = kv_escape_term(kv_json_get_str(o, "libvirt_error", NULL));

		g_string_append_printf(t, ", libvirt disconnected for %.0f s: %s",
				       MAX(0.0, kv_json_get_double(o, "time", 0) -
					   kv_json_get_double(o, "libvirt_down_since", 0)),
				       why);
	}
	g_string_append_c(t, '\n');
	if (host) {
		g_string_append_printf(t, "host: MemAvailable %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " MiB",
				       kv_json_get_int(host, "mem_available_kib", 0) / 1024,
				       kv_json_get_int(host, "mem_total_kib", 0) / 1024);
		if (json_object_has_member(host, "psi_some_avg10"))
			g_string_append_printf(t, ", PSI some %.1f%% full %.1f%%",
					       kv_json_get_double(host, "psi_some_avg10", 0),
					       kv_json_get_double(host, "psi_full_avg10", 0));
		if (json_object_has_member(host, "gain_pages_per_cpu_s"))
			g_string_append_printf(t, ", KSM gain %.0f pages/CPU-s",
					       kv_json_get_double(host, "gain_pages_per_cpu_s", 0));
		g_string_append_c(t, '\n');
		nodes = kv_json_get_array(host, "nodes");
		for (guint i = 0; nodes && json_array_get_length(nodes) > 1 && i < json_array_get_length(nodes); i++) {
			JsonObject *n = kv_json_array_object(nodes, i);
			gint64 total = kv_json_get_int(n, "mem_total_kib", 0);

			g_string_append_printf(t, "%snode %" G_GINT64_FORMAT " %.0f%% free%s", i ? ", " : "nodes: ",
					       kv_json_get_int(n, "id", -1),
					       total > 0 ? 100.0 * (double)kv_json_get_int(n, "mem_free_kib", 0) / (double)total : 0.0,
					       kv_json_get_bool(n, "under_pressure", FALSE) ?
					       " (under pressure)" : "");
			if (i + 1 == json_array_get_length(nodes))
				g_string_append_c(t, '\n');
		}
	}
	if (ksm)
		g_string_append_printf(t, "ksm: run %" G_GINT64_FORMAT ", pages_to_scan %" G_GINT64_FORMAT
				       ", sleep %" G_GINT64_FORMAT " ms, shared %" G_GINT64_FORMAT
				       ", sharing %" G_GINT64_FORMAT ", merge_across_nodes %" G_GINT64_FORMAT "\n",
				       kv_json_get_int(ksm, "run", -1), kv_json_get_int(ksm, "pages_to_scan", -1),
				       kv_json_get_int(ksm, "sleep_millisecs", -1), kv_json_get_int(ksm, "pages_shared", -1),
				       kv_json_get_int(ksm, "pages_sharing", -1),
				       kv_json_get_int(ksm, "merge_across_nodes", -1));
	guests = kv_json_get_array(o, "guests");
	g_string_append_printf(t, "\n%-24s %7s %9s %9s %9s %5s %11s %11s\n", "GUEST", "PID", "RAM MiB",
			       "RSS MiB", "MERGED", "PRIO", "BALLOON MiB", "LIMIT MiB");
	for (guint i = 0; guests && i < json_array_get_length(guests); i++) {
		JsonObject *g = kv_json_array_object(guests, i);
		JsonObject *bal = kv_json_get_object(g, "balloon"), *cg = kv_json_get_object(g, "cgroup");
		g_autofree char *bs = bal ? g_strdup_printf("%" G_GINT64_FORMAT "%s",
							   kv_json_get_int(bal, "actual_kib", 0) / 1024,
							   kv_json_get_bool(bal, "driver", FALSE) ? "" : "*") :
				      g_strdup("-");
		g_autofree char *ls = !cg ? g_strdup("-") : kv_json_get_int(cg, "limit_bytes", -1) < 0 ?
				      g_strdup("max") : g_strdup_printf("%" G_GINT64_FORMAT,
									  kv_json_get_int(cg, "limit_bytes", 0) >> 20);
		g_autofree char *name = kv_escape_term(kv_json_get_str(g, "name", NULL) ? kv_json_get_str(g, "name", NULL) : "?");

		g_string_append_printf(t, "%-24s %7" G_GINT64_FORMAT " %9" G_GINT64_FORMAT " %9" G_GINT64_FORMAT
				       " %9" G_GINT64_FORMAT " %5" G_GINT64_FORMAT " %11s %11s\n",
				       name, kv_json_get_int(g, "pid", 0),
				       kv_json_get_int(g, "ram_kib", 0) / 1024, kv_json_get_int(g, "rss_kib", 0) / 1024,
				       kv_json_get_int(g, "merging_pages", 0), kv_json_get_int(g, "priority", 0), bs, ls);
	}
	if (!guests || json_array_get_length(guests) == 0)
		g_string_append(t, "(no guests)\n");
	dec = kv_json_get_array(o, "decisions");
	g_string_append(t, "\nDecisions:\n");
	for (guint i = 0; dec && i < json_array_get_length(dec); i++) {
		JsonObject *d = kv_json_array_object(dec, i);
		g_autofree char *policy = kv_escape_term(kv_json_get_str(d, "policy", NULL));
		g_autofree char *decision = kv_escape_term(kv_json_get_str(d, "decision", NULL));
		g_autofree char *reason = kv_escape_term(kv_json_get_str(d, "reason", NULL));

		g_string_append_printf(t, "  %-8s %-12s %s\n", policy, decision, reason);
	}
	acts = kv_json_get_array(o, "actions");
	g_string_append(t, "\nActions:\n");
	for (guint i = 0; acts && i < json_array_get_length(acts); i++) {
		JsonObject *a = kv_json_array_object(acts, i);
		g_autofree char *result = kv_escape_term(kv_json_get_str(a, "result", NULL));
		g_autofree char *what = kv_escape_term(kv_json_get_str(a, "description", NULL));
		g_autofree char *why = kv_escape_term(kv_json_get_str(a, "error", NULL));

		g_string_append_printf(t, "  [%s] %s%s%s\n", result, what, kv_json_get_str(a, "error", NULL) ? ": " : "", why);
	}
	if (!acts || json_array_get_length(acts) == 0)
		g_string_append(t, "  (none: every knob already has the wanted value)\n");
	acts = kv_json_get_array(o, "recent_actions");
	if (acts && json_array_get_length(acts) > 0) {
		guint n = json_array_get_length(acts), from = n > 10 ? n - 10 : 0;

		g_string_append(t, "\nRecent changes:\n");
		for (guint i = from; i < n; i++) {
			g_autofree char *line = kv_escape_term(kv_json_array_str(acts, i));

			g_string_append_printf(t, "  %s\n", line);
		}
	}
	notes = kv_json_get_array(o, "notes");
	for (guint i = 0; notes && i < json_array_get_length(notes); i++) {
		g_autofree char *note = kv_escape_term(kv_json_array_str(notes, i));

		g_string_append_printf(t, "note: %s\n", note);
	}
	return g_string_free(t, FALSE);
}

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

char *
kv_status_query(const char *socket_path, GError **error)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) err = NULL;
	GOutputStream *out;
	GInputStream *in;
	GString *buf;
	char chunk[8192];
	gssize n;

	g_socket_client_set_timeout(client, 10);
	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &err);
	if (!conn) {
		g_set_error(error, KV_ERROR,
			    g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
			    g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ?
			    KV_ERROR_NOT_FOUND : KV_ERROR_IO,
			    "ksmvirtd is not reachable on %s: %s", socket_path, err->message);
		return NULL;
	}
	out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
	if (!g_output_stream_write_all(out, KV_STATUS_REQUEST "\n", strlen(KV_STATUS_REQUEST) + 1, NULL,
				       NULL, &err)) {
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "%s: %s", socket_path, err->message);
		return NULL;
	}
	buf = g_string_new(NULL);
	while ((n = g_input_stream_read(in, chunk, sizeof(chunk), NULL, &err)) > 0)
		g_string_append_len(buf, chunk, n);
	if (n < 0) {
		g_string_free(buf, TRUE);
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "%s: %s", socket_path, err->message);
		return NULL;
	}
	if (g_str_has_prefix(buf->str, "error ")) {
		g_set_error(error, KV_ERROR, KV_ERROR_FAILED, "ksmvirtd: %s", g_strstrip(buf->str + 6));
		g_string_free(buf, TRUE);
		return NULL;
	}
	return g_string_free(buf, FALSE);
}
