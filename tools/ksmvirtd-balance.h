/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ksmvirtd-balance.h: the balancer side of ksmvirtd's main loop: the tick,
 * configuration (re)loading, the registry as the source of guest policy,
 * and systemd readiness.  Included once, by ksmvirtd.c. */
#pragma once

#include <errno.h>

/* At start a missing file means the defaults; on a reload it keeps the
 * running configuration, as a broken file does. */
static gboolean load_config(Daemon *d, KvConfig *cfg, gboolean reload, GError **error)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	if (!(reload ? kv_config_reload : kv_config_load)(d->config_path, cfg, warnings, error))
		return FALSE;
	for (guint i = 0; i < warnings->len; i++)
		kvd_log(LOG_WARNING, "%s: %s", d->config_path, (char *)g_ptr_array_index(warnings, i));
	return TRUE;
}

/* Policy facts of a guest from the hook's registry. */
static gboolean registry_policy(const char *uuid, const char *name, int *priority,
				guint64 *min_balloon_mib, gpointer data)
{
	Daemon *d = data;
	const KvRegistryGuest *g = uuid ? kv_registry_lookup_uuid(d->reg, uuid) : NULL;
	if (g == NULL && name != NULL)
		g = kv_registry_lookup_name(d->reg, name);
	if (g == NULL || g->facts == NULL || !g->facts->has_policy)
		return FALSE;
	*priority = g->facts->has_priority ? g->facts->priority : 0;
	*min_balloon_mib = g->facts->has_min_balloon ? g->facts->min_balloon_mib : 0;
	return TRUE;
}

static gboolean inspect_is_windows(const char *uuid, const char *name, gpointer data);
static void inspect_reconfigure(Daemon *d, guint old_interval_s);

static KvBalancer *balance_new(Daemon *d, const KvCtx *ctx, gboolean use_libvirt,
			       const char *uri, const char *state_dir)
{
	KvBalancerOptions o = {
		.ctx = ctx, .use_libvirt = use_libvirt, .uri = uri, .state_dir = state_dir,
		.lookup = registry_policy, .lookup_data = d, .is_windows = inspect_is_windows,
		.qemu_user = d->qemu_user,
	};
	return kv_balancer_new(&o, &d->cfg);
}

static void log_notes(Daemon *d)
{
	g_autoptr(GPtrArray) notes = kv_balancer_take_notes(d->bal);
	for (guint i = 0; i < notes->len; i++)
		kvd_log(LOG_WARNING, "%s", (char *)g_ptr_array_index(notes, i));
}

static void balance_tick(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	const KvPlan *plan = kv_balancer_tick(d->bal, FALSE, &err);
	g_clear_pointer(&d->status_doc, g_free);  /* status shows this tick */
	log_notes(d);
	if (plan == NULL) {
		kvd_log(LOG_WARNING, "balancer: %s", err->message);
		return;
	}
	for (guint i = 0; i < plan->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(plan->actions, i);
		g_autofree gchar *what = kv_action_describe(a);
		if (a->result == KV_RESULT_TRANSIENT || a->result == KV_RESULT_PERMANENT)
			kvd_log(LOG_WARNING, "%s failed (%s): %s", what,
				  a->result == KV_RESULT_TRANSIENT ? "will retry" : "permanent", a->error);
		else
			kvd_log(LOG_NOTICE, "%s%s", a->result == KV_RESULT_DRY_RUN ? "would do: " : "", what);
	}
	for (guint i = 0; i < plan->summaries->len; i++) {
		const KvSummary *s = g_ptr_array_index(plan->summaries, i);
		kvd_log(LOG_DEBUG, "%s: %s: %s", s->policy, s->decision, s->reason);
	}
}

static gboolean on_balance_tick(gpointer data)
{
	balance_tick(data);
	return G_SOURCE_CONTINUE;
}

static gboolean on_first_tick(gpointer data)
{
	balance_tick(data);
	return G_SOURCE_REMOVE;
}

static void reload_config(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	KvConfig cfg;
	if (!load_config(d, &cfg, TRUE, &err)) {
		kvd_log(LOG_WARNING, "reload: %s; keeping the previous configuration", err->message);
		return;
	}
	if (d->dry_run_forced)
		cfg.dry_run = TRUE;
	gboolean retime = cfg.tick_ms != d->cfg.tick_ms;
	guint old_inspect_s = d->cfg.inspect_interval_s;
	d->cfg = cfg;
	g_clear_pointer(&d->status_doc, g_free);
	if (d->server) {
		KvServerLimits lim = server_limits(&cfg);
		kv_server_set_limits(d->server, &lim);
	}
	inspect_reconfigure(d, old_inspect_s);
	if (d->bal == NULL)
		return;
	kv_balancer_set_config(d->bal, &cfg);
	if (retime && d->tick_source) {
		g_source_remove(d->tick_source);
		d->tick_source = g_timeout_add(cfg.tick_ms, on_balance_tick, d);
	}
	kvd_log(LOG_INFO, "configuration reloaded from %s (tick %.1f s%s)", d->config_path,
		cfg.tick_ms / 1000.0, cfg.dry_run ? ", dry run" : "");
}
