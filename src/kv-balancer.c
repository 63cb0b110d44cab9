/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-balancer.c: the tick: sense -> decide -> act -> learn -> record (see
 * kv-balancer.h). */
#include "kv-balancer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "kv-act.h"
#include "kv-balancer-state.h"
#include "kv-config.h"
#include "kv-escape.h"
#include "kv-json.h"

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
load_state(KvBalancer *b)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) err = NULL;

	if (!b->state_dir)
		return;
	path = state_path(b, KV_BALANCER_STATE_FILE);
	if (kv_balancer_state_load(path, b->pst, &err))
		note(b, "balancer state restored at tick %" G_GUINT64_FORMAT " (KSM %s%s)", b->pst->tick,
		     b->pst->ksm_active ? "active" : "idle", b->pst->backed_off ? ", backed off" : "");
	else if (err)
		note(b, "%s", err->message);
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
	b->cfg = *cfg;
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
	g_free(b);
}

void
kv_balancer_set_config(KvBalancer *b, const KvConfig *cfg)
{
	b->cfg = *cfg;
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

/* Keeps the state and the history of this tick in the state directory. */
static void
persist(KvBalancer *b)
{
	g_autofree char *hist = NULL, *state = NULL;
	g_autoptr(GError) err = NULL;

	if (!b->state_dir || !b->snap)
		return;
	hist = state_path(b, KV_HISTORY_FILE);
	if (!kv_balancer_history_append(hist, (guint64)b->cfg.history_max_kib * 1024, b->snap, b->pst, b->plan,
					b->last_tick_real_us, b->last_dry_run, &err)) {
		note(b, "%s", err->message);
		g_clear_error(&err);
	}
	state = state_path(b, KV_BALANCER_STATE_FILE);
	if (!kv_balancer_state_save(state, b->pst, b->last_tick_real_us, b->plan, &err))
		note(b, "cannot save the balancer state: %s", err->message);
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
	persist(b);
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
	kv_status_add_plan(jb, b->plan);
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

