/* SPDX-License-Identifier: GPL-2.0-or-later */
/* balance.c: the balancer's side of ksmvirtd's main loop: the tick and
 * what it logs, the registry as the source of guest policy, the
 * inspection runner as the source of the guest OS. */
#include "daemon.h"

/* Policy facts of a guest from the hook's registry. */
static gboolean
registry_policy(const char *uuid, const char *name, int *priority, guint64 *min_balloon_mib, gpointer data)
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

static gboolean
inspected_windows(const char *uuid, const char *name, gpointer data)
{
	Daemon *d = data;
	(void)name;
	return d->insp && kvd_inspector_is_windows(d->insp, uuid);
}

void
kvd_balance_open(Daemon *d, const KvCtx *ctx, gboolean use_libvirt, const char *uri, const char *state_dir)
{
	KvBalancerOptions o = {
		.ctx = ctx,
		.use_libvirt = use_libvirt,
		.uri = uri,
		.state_dir = state_dir,
		.lookup = registry_policy,
		.lookup_data = d,
		.is_windows = inspected_windows,
		.qemu_user = d->qemu_user,
	};
	d->bal = kv_balancer_new(&o, &d->cfg);
}

static void
log_notes(Daemon *d)
{
	g_autoptr(GPtrArray) notes = kv_balancer_take_notes(d->bal);
	for (guint i = 0; i < notes->len; i++)
		kvd_log(LOG_WARNING, "%s", (char *)g_ptr_array_index(notes, i));
}

static void
log_plan(const KvPlan *plan)
{
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

static void
balance_tick(gpointer data)
{
	Daemon *d = data;
	g_autoptr(GError) err = NULL;
	const KvPlan *plan = kv_balancer_tick(d->bal, FALSE, &err);
	g_clear_pointer(&d->status_doc, g_free); /* status shows this tick */
	log_notes(d);
	if (plan == NULL)
		kvd_log(LOG_WARNING, "balancer: %s", err->message);
	else
		log_plan(plan);
}

static gboolean
on_balance_tick(gpointer data)
{
	balance_tick(data);
	return G_SOURCE_CONTINUE;
}

void
kvd_balance_start(Daemon *d)
{
	/* The first tick runs once the loop turns, so hook events are
	 * answered meanwhile. */
	g_idle_add_once(balance_tick, d);
	d->tick_source = g_timeout_add(d->cfg.tick_ms, on_balance_tick, d);
}

void
kvd_balance_reconfigure(Daemon *d, guint old_tick_ms)
{
	kv_balancer_set_config(d->bal, &d->cfg);
	if (d->cfg.tick_ms != old_tick_ms && d->tick_source) {
		g_source_remove(d->tick_source);
		d->tick_source = g_timeout_add(d->cfg.tick_ms, on_balance_tick, d);
	}
}
