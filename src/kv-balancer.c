/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-balancer.c: the tick: sense -> decide -> act -> learn -> record (see
 * kv-balancer.h). */
#include "kv-balancer.h"
#include "kv-isolation.h"

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
	char *hv_error;          /* why libvirt is not connected; NULL when it is */
	char *hv_lost;           /* how the connection was lost; NULL when it was not */
	gint64 hv_down_since_us; /* real time the connection was lost or first failed */
	guint hv_reconnects;
	KvSenseState sense;
	KvPolicyState *pst;
	KvSnapshot *snap;
	KvPlan *plan;
	gint64 last_tick_real_us;
	gboolean last_dry_run;
	GPtrArray *notes;
	GQueue recent; /* char*: "tick N [result] description" */
};

static void note(KvBalancer *b, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

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
	b->hv = b->open_hv ? b->open_hv(b->ctx, b->uri, b->open_hv_data, &err)
			   : kv_hv_libvirt_open_rw(b->ctx, b->uri, &err);
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
	if (!kv_balancer_history_append(hist, (guint64)b->cfg.history_max_kib * 1024, b->snap, b->pst,
					b->plan, b->last_tick_real_us, b->last_dry_run, &err)) {
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
		return TRUE; /* no lock directory: nobody to take turns with */
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
	KvSenseOptions so = { .lookup = b->lookup,
			      .lookup_data = b->lookup_data,
			      .pids = b->pids,
			      .is_windows = b->is_windows,
			      .qemu_user = b->qemu_user };
	KvSnapshot *snap;
	gboolean dry = force_dry_run || b->cfg.dry_run;

	ensure_hv(b);
	if (b->hv)
		kv_hv_set_owner_rule(b->hv, b->cfg.owner_namespace, b->cfg.owner_path);
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
		g_autofree char *why =
			g_strdup_printf("connection lost: %s",
					snap->hv_error ? snap->hv_error : "libvirt did not answer");

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

		g_queue_push_tail(&b->recent,
				  g_strdup_printf("tick %" G_GUINT64_FORMAT " [%s] %s%s%s", b->pst->tick,
						  kv_action_result_to_string(a->result), d,
						  a->error ? ": " : "", a->error ? a->error : ""));
		while (g_queue_get_length(&b->recent) > RECENT_ACTIONS_MAX)
			g_free(g_queue_pop_head(&b->recent));
	}
	persist(b);
	return b->plan;
}

static void
status_host(KvStatus *st, const KvBalancer *b)
{
	const KvSnapshot *s = b->snap;

	st->have_host = TRUE;
	st->sensed = s != NULL;
	if (s) {
		st->mem_total_kib = s->meminfo.mem_total_kib;
		st->mem_available_kib = s->meminfo.mem_available_kib;
		st->swap_total_kib = s->meminfo.swap_total_kib;
		st->swap_free_kib = s->meminfo.swap_free_kib;
		st->have_psi = s->have_psi;
		st->psi_some_avg10 = s->psi_some_avg10;
		st->psi_full_avg10 = s->psi_full_avg10;
		st->numa_nodes = s->n_numa_nodes;
		for (guint i = 0; i < s->nodes->len; i++) {
			const KvNodeSense *n = &g_array_index(s->nodes, KvNodeSense, i);
			KvStatusNode sn = { .id = n->id,
					    .mem_total_kib = n->total_kib,
					    .mem_free_kib = n->free_kib,
					    .under_pressure = kv_policy_node_pressed(b->pst, n->id) };

			g_array_append_val(st->nodes, sn);
		}
		st->have_ksmd_cpu = s->have_ksmd_cpu;
		st->ksmd_cpu_s = s->ksmd_cpu_s;
		st->have_merged_delta = s->have_deltas;
		st->merged_delta_pages = s->merged_delta_pages;
		if (s->ksm) {
			st->ksm = g_new0(KvKsm, 1);
			memcpy(st->ksm->value, s->ksm->value, sizeof(st->ksm->value));
			st->ksm->have = s->ksm->have;
			st->ksm->advisor_mode = g_strdup(s->ksm->advisor_mode);
		}
	}
	st->have_gain = b->pst->gain_pages_per_cpu_s >= 0;
	st->gain_pages_per_cpu_s = b->pst->gain_pages_per_cpu_s;
	st->ksm_active = b->pst->ksm_active;
	st->backed_off = b->pst->backed_off;
}

static KvStatusGuest *
status_guest(const KvBalancer *b, const KvGuestSense *g)
{
	KvStatusGuest *sg = g_new0(KvStatusGuest, 1);

	sg->group = kv_isolation_group(&b->cfg, &g->merge_policy, g->name);
	sg->merge = kv_isolation_merge_state(g, b->pst);
	sg->name = g_strdup(g->name);
	sg->uuid = g_strdup(g->uuid);
	sg->pid = g->pid;
	sg->ram_kib = g->ram_kib;
	sg->rss_kib = g->rss_kib;
	sg->swap_kib = g->swap_kib;
	sg->merging_pages = g->merging_pages;
	sg->priority = g->priority;
	if (g->node_kib)
		sg->node_kib = g_array_copy(g->node_kib);
	sg->has_balloon = g->has_balloon;
	sg->balloon_driver = g->has_balloon_driver;
	sg->balloon_actual_kib = g->balloon_actual_kib;
	sg->balloon_max_kib = g->balloon_max_kib;
	sg->balloon_unused_kib = g->balloon_unused_kib;
	sg->balloon_available_kib = g->balloon_available_kib;
	sg->balloon_floor_kib = g->balloon_floor_kib;
	sg->floor_source = g_strdup(g->floor_source);
	sg->has_cgroup = g->cg_version != KV_CGROUP_NONE;
	sg->cg_version = g->cg_version;
	sg->cg_dir = g_strdup(g->cg_dir);
	/* KV_UNLIMITED does not fit in a JSON integer: -1. */
	sg->cg_limit_bytes =
		g->cg_limit_bytes == KV_UNLIMITED ? -1 : (gint64)MIN(g->cg_limit_bytes, (guint64)G_MAXINT64);
	sg->cg_usage_bytes = g->cg_usage_bytes;
	return sg;
}

KvStatus *
kv_balancer_status(const KvBalancer *b)
{
	KvStatus *st = kv_status_new();
	const KvSnapshot *s = b->snap;

	st->tick = b->pst->tick;
	st->time_s = b->last_tick_real_us / 1e6;
	st->tick_ms = b->cfg.tick_ms;
	st->dry_run = b->last_dry_run;
	st->libvirt = b->hv != NULL;
	if (b->use_libvirt && !b->hv && b->hv_error) {
		st->libvirt_error = g_strdup(b->hv_error);
		st->libvirt_down_since_s = b->hv_down_since_us / 1e6;
	}
	st->libvirt_reconnects = b->hv_reconnects;
	status_host(st, b);
	for (guint i = 0; s && i < s->guests->len; i++)
		g_ptr_array_add(st->guests, status_guest(b, g_ptr_array_index(s->guests, i)));
	kv_status_set_plan(st, b->plan);
	for (GList *l = b->recent.head; l; l = l->next)
		g_ptr_array_add(st->recent_actions, g_strdup(l->data));
	for (guint i = 0; s && i < s->notes->len; i++)
		g_ptr_array_add(st->notes, g_strdup(g_ptr_array_index(s->notes, i)));
	return st;
}

char *
kv_balancer_status_json(const KvBalancer *b)
{
	g_autoptr(KvStatus) st = kv_balancer_status(b);

	return kv_status_to_json(st);
}
