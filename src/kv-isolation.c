/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-isolation.c: merge isolation, decided (see kv-isolation.h). */
#include "kv-isolation.h"

#include <string.h>

#define MIB_KIB 1024
/* After a failed change, leave the guest alone this many ticks. */
#define MERGE_BLOCKED_TICKS 60

char *
kv_isolation_group(const KvConfig *cfg, const KvMergePolicy *p, const char *name)
{
	if (p && p->group)
		return g_strdup(p->group);
	switch (cfg->isolation_by) {
	case KV_ISOLATION_BY_GUEST:
		return g_strdup(name);
	case KV_ISOLATION_BY_OWNER:
		if (p && p->owner)
			return g_strdup(p->owner);
		break;
	case KV_ISOLATION_BY_NONE:
		break;
	}
	return g_strdup(KV_ISOLATION_DEFAULT_GROUP);
}

static void
guest_free(KvIsolationGuest *g)
{
	g_free(g->name);
	g_free(g->group);
	g_free(g->reason);
	g_array_unref(g->cells);
	g_free(g);
}

void
kv_isolation_free(KvIsolation *iso)
{
	if (!iso)
		return;
	g_free(iso->merging_group);
	g_free(iso->merging_reason);
	g_ptr_array_unref(iso->guests);
	g_ptr_array_unref(iso->warnings);
	g_free(iso);
}

/* The group that merges under "strict": the configured one, else the one
 * with the most guest RAM (ties: the first name in byte order). */
static void
pick_merging_group(KvIsolation *iso, GHashTable *ram_kib, const KvConfig *cfg)
{
	GHashTableIter it;
	gpointer k, v;
	const char *best = NULL;
	guint64 best_kib = 0;

	if (cfg->merging_group && cfg->merging_group[0]) {
		iso->merging_group = g_strdup(cfg->merging_group);
		iso->merging_reason = g_strdup("named by [isolation] merging-group");
		return;
	}
	g_hash_table_iter_init(&it, ram_kib);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		guint64 kib = *(guint64 *)v;

		if (!best || kib > best_kib || (kib == best_kib && strcmp(k, best) < 0)) {
			best = k;
			best_kib = kib;
		}
	}
	iso->merging_group = g_strdup(best);
	iso->merging_reason =
		g_strdup_printf("the most guest RAM (%" G_GUINT64_FORMAT " MiB)", best_kib / MIB_KIB);
}

KvIsolation *
kv_isolation_decide(const KvIsolationInput *in, guint n, const KvConfig *cfg)
{
	KvIsolation *iso = g_new0(KvIsolation, 1);
	g_autoptr(GHashTable) ram_kib = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);

	iso->fallback = cfg->isolation_fallback;
	iso->guests = g_ptr_array_new_with_free_func((GDestroyNotify)guest_free);
	iso->warnings = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < n; i++) {
		KvIsolationGuest *g = g_new0(KvIsolationGuest, 1);
		guint64 *kib;

		g->name = g_strdup(in[i].name);
		g->group = kv_isolation_group(cfg, in[i].policy, in[i].name);
		g->cells = g_array_new(FALSE, FALSE, sizeof(KvCellMerge));
		g_ptr_array_add(iso->guests, g);
		kib = g_hash_table_lookup(ram_kib, g->group);
		if (!kib) {
			kib = g_new0(guint64, 1);
			g_hash_table_insert(ram_kib, g->group, kib);
		}
		*kib += in[i].ram_kib;
	}
	iso->n_groups = g_hash_table_size(ram_kib);
	if (iso->n_groups > 1 && iso->fallback == KV_ISOLATION_STRICT) {
		iso->enforced = TRUE;
		pick_merging_group(iso, ram_kib, cfg);
	} else if (iso->n_groups > 1) {
		g_ptr_array_add(iso->warnings,
				g_strdup_printf("%u groups merge together: this kernel cannot keep them apart and "
						"[isolation] fallback = warn",
						iso->n_groups));
	}

	for (guint i = 0; i < n; i++) {
		KvIsolationGuest *g = g_ptr_array_index(iso->guests, i);
		const KvMergePolicy *p = in[i].policy;

		if (p && p->merge == KV_POLICY_MERGE_OFF) {
			g->want = KV_POLICY_MERGE_OFF;
			g->reason = g_strdup("its policy says merge=\"off\"");
		} else if (iso->enforced && strcmp(g->group, iso->merging_group)) {
			g->want = KV_POLICY_MERGE_OFF;
			g->reason = g_strdup_printf("isolation: group %s is not the merging group %s (%s)",
						    g->group, iso->merging_group, iso->merging_reason);
		} else if (p && p->merge == KV_POLICY_MERGE_ON) {
			g->want = KV_POLICY_MERGE_ON;
			g->reason = g_strdup("its policy says merge=\"on\"");
		}
		if (g->want == KV_POLICY_MERGE_OFF || !p || !p->cells)
			continue;
		for (guint j = 0; j < p->cells->len; j++) {
			const KvCellMerge *c = &g_array_index(p->cells, KvCellMerge, j);

			if (c->merge != KV_POLICY_MERGE_DEFAULT && c->cell < MAX(p->n_cells, 1))
				g_array_append_val(g->cells, *c);
		}
	}
	return iso;
}

char *
kv_isolation_summary(const KvIsolation *iso)
{
	if (iso->n_groups <= 1)
		return g_strdup_printf("one group: nothing to keep apart (fallback %s)",
				       kv_isolation_fallback_to_string(iso->fallback));
	if (iso->enforced)
		return g_strdup_printf("strict: %u groups, this kernel cannot keep them apart; group %s merges (%s), "
				       "the others' merging is off",
				       iso->n_groups, iso->merging_group, iso->merging_reason);
	return g_strdup_printf("warn: %u groups merge together (this kernel cannot keep them apart)",
			       iso->n_groups);
}

/* ---- the balancer's step ------------------------------------------------- */

static KvPolicyMerge
applied(const KvGuestPolicyState *gs, const char *backend)
{
	return gs->merge_applied
		       ? (KvPolicyMerge)GPOINTER_TO_INT(g_hash_table_lookup(gs->merge_applied, backend))
		       : KV_POLICY_MERGE_DEFAULT;
}

typedef struct {
	const KvSnapshot *s;
	KvPlan *plan;
	guint64 room_kib; /* MemAvailable minus the reserve, less planned unmerges */
	guint planned, staged;
	GString *staged_names;
} Step;

/* Plans BACKEND ("" for all) of guest G to WANT unless that is what was
 * applied; an "off" only while its merged pages fit. */
static void
want_backend(Step *st, const KvGuestSense *g, const KvGuestPolicyState *gs, const char *backend,
	     KvPolicyMerge want, const char *reason)
{
	KvAction *a;

	if (applied(gs, backend) == want)
		return;
	if (want == KV_POLICY_MERGE_OFF) {
		guint64 need_kib = g->merging_pages * (st->s->page_size / 1024);

		if (need_kib > st->room_kib) {
			st->staged++;
			g_string_append_printf(st->staged_names, "%s%s (%" G_GUINT64_FORMAT " MiB)",
					       st->staged_names->len ? ", " : "", g->name, need_kib / MIB_KIB);
			return;
		}
		st->room_kib -= need_kib;
	}
	a = kv_plan_add_guest(st->plan, KV_ACTION_GUEST_MERGE, "isolation", g, want == KV_POLICY_MERGE_OFF,
			      want == KV_POLICY_MERGE_ON, g_strdup(reason));
	a->value_str = g_strdup(backend);
	st->planned++;
}

static void
guest_step(Step *st, const KvGuestSense *g, const KvIsolationGuest *ig, KvGuestPolicyState *gs)
{
	g_autoptr(GPtrArray) restore = g_ptr_array_new_with_free_func(g_free);

	if (gs->merge_pid != g->pid) {
		/* A new QEMU: nothing applied to it yet. */
		gs->merge_pid = g->pid;
		if (gs->merge_applied)
			g_hash_table_remove_all(gs->merge_applied);
	}
	if (ig->want != KV_POLICY_MERGE_DEFAULT) {
		want_backend(st, g, gs, "", ig->want, ig->reason);
	} else if (applied(gs, "") == KV_POLICY_MERGE_OFF) {
		if (g->merge_policy.nosharepages) {
			/* QEMU started it unmergeable: leave it so. */
			g_hash_table_remove(gs->merge_applied, "");
		} else {
			want_backend(st, g, gs, "", KV_POLICY_MERGE_ON, "no longer isolated: merging as before");
		}
	}
	if (ig->want == KV_POLICY_MERGE_OFF)
		return;
	for (guint i = 0; i < ig->cells->len; i++) {
		const KvCellMerge *c = &g_array_index(ig->cells, KvCellMerge, i);
		g_autofree char *backend = kv_merge_policy_backend(c->cell);
		g_autofree char *reason = g_strdup_printf("its policy says merge=\"%s\" for cell %u",
							  c->merge == KV_POLICY_MERGE_OFF ? "off" : "on",
							  c->cell);

		want_backend(st, g, gs, backend, c->merge, reason);
	}
	/* Cells ksmvirtd turned off that no policy holds off any more. */
	if (gs->merge_applied) {
		GHashTableIter it;
		gpointer k, v;

		g_hash_table_iter_init(&it, gs->merge_applied);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			gboolean held = FALSE;

			if (!((const char *)k)[0] || GPOINTER_TO_INT(v) != KV_POLICY_MERGE_OFF)
				continue;
			for (guint i = 0; i < ig->cells->len && !held; i++) {
				g_autofree char *b =
					kv_merge_policy_backend(g_array_index(ig->cells, KvCellMerge, i).cell);

				held = !strcmp(b, k);
			}
			if (!held)
				g_ptr_array_add(restore, g_strdup(k));
		}
	}
	for (guint i = 0; i < restore->len; i++)
		want_backend(st, g, gs, restore->pdata[i], KV_POLICY_MERGE_ON,
			     "its policy no longer holds it off");
}

void
kv_policy_isolation(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan)
{
	g_autofree KvIsolationInput *in = g_new0(KvIsolationInput, s->guests->len + 1);
	g_autoptr(KvIsolation) iso = NULL;
	g_autofree char *summary = NULL;
	guint64 reserve_kib = cfg->unmerge_reserve_mib * MIB_KIB;
	Step step = { s, plan, 0, 0, 0, g_string_new(NULL) };
	guint n = 0;

	/* Only guests with a QEMU process: the others cannot be changed. */
	for (guint i = 0; i < s->guests->len; i++) {
		const KvGuestSense *g = g_ptr_array_index(s->guests, i);

		if (g->pid <= 0)
			continue;
		in[n].name = g->name;
		in[n].ram_kib = g->ram_kib;
		in[n].policy = &g->merge_policy;
		n++;
	}
	iso = kv_isolation_decide(in, n, cfg);
	step.room_kib = s->meminfo.mem_available_kib > reserve_kib ? s->meminfo.mem_available_kib - reserve_kib
								   : 0;
	for (guint i = 0, j = 0; i < s->guests->len; i++) {
		const KvGuestSense *g = g_ptr_array_index(s->guests, i);
		KvGuestPolicyState *gs;

		if (g->pid <= 0)
			continue;
		gs = kv_policy_state_guest(st, g->name);
		if (gs->merge_blocked_until_tick > st->tick) {
			j++;
			continue;
		}
		guest_step(&step, g, g_ptr_array_index(iso->guests, j++), gs);
	}

	summary = kv_isolation_summary(iso);
	if (step.staged)
		kv_plan_summarize(plan, "isolation", "staged",
				  "%s; turning merging off for %s waits: unmerging needs that much more than "
				  "MemAvailable minus unmerge-reserve-mib (%" G_GUINT64_FORMAT " MiB)",
				  summary, step.staged_names->str, step.room_kib / MIB_KIB);
	else
		kv_plan_summarize(plan, "isolation",
				  iso->enforced       ? "strict"
				  : iso->n_groups > 1 ? "warn"
						      : "keep",
				  "%s", summary);
	g_string_free(step.staged_names, TRUE);
}

char *
kv_isolation_merge_state(const KvGuestSense *g, const KvPolicyState *st)
{
	const KvGuestPolicyState *gs = st ? g_hash_table_lookup(st->guests, g->name) : NULL;
	GString *s;
	g_autoptr(GList) keys = NULL;

	if (!gs || gs->merge_pid != g->pid || !gs->merge_applied || !g_hash_table_size(gs->merge_applied))
		return g_strdup(g->merge_policy.nosharepages ? "off (nosharepages)" : "on");
	s = g_string_new(applied(gs, "") == KV_POLICY_MERGE_OFF ? "off"
			 : g->merge_policy.nosharepages && applied(gs, "") != KV_POLICY_MERGE_ON
				 ? "off (nosharepages)"
				 : "on");
	keys = g_list_sort(g_hash_table_get_keys(gs->merge_applied), (GCompareFunc)strcmp);
	for (GList *l = keys; l; l = l->next)
		if (((const char *)l->data)[0])
			g_string_append_printf(s, ", %s %s", (const char *)l->data,
					       applied(gs, l->data) == KV_POLICY_MERGE_OFF ? "off" : "on");
	return g_string_free(s, FALSE);
}

void
kv_policy_isolation_learn(const KvPlan *plan, KvPolicyState *st)
{
	for (guint i = 0; i < plan->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(plan->actions, i);
		KvGuestPolicyState *gs;
		const char *backend = a->value_str ? a->value_str : "";

		if (a->kind != KV_ACTION_GUEST_MERGE)
			continue;
		gs = kv_policy_state_guest(st, a->guest);
		if (a->result == KV_RESULT_TRANSIENT || a->result == KV_RESULT_PERMANENT) {
			gs->merge_blocked_until_tick = st->tick + MERGE_BLOCKED_TICKS;
			continue;
		}
		if (a->result != KV_RESULT_DONE)
			continue;
		if (!gs->merge_applied)
			gs->merge_applied = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		if (!backend[0])
			g_hash_table_remove_all(gs->merge_applied);
		g_hash_table_insert(gs->merge_applied, g_strdup(backend),
				    GINT_TO_POINTER(a->value ? KV_POLICY_MERGE_ON : KV_POLICY_MERGE_OFF));
	}
}
