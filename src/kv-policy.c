/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy.c: the balancer's pure decide functions (see kv-policy.h). */
#include "kv-policy.h"
#include "kv-isolation.h"

#include <errno.h>
#include <string.h>

#define MIB_KIB 1024u

#define BUSY_WAIT_TICKS_MIN 1u
#define KSM_BLOCKED_TICKS 60u

void
kv_policy_condition(const KvSnapshot *s, const KvConfig *cfg, KvHostCondition *c)
{
	const KvMeminfo *mi = &s->meminfo;

	memset(c, 0, sizeof(*c));
	for (guint i = 0; i < s->guests->len; i++) {
		const KvGuestSense *g = g_ptr_array_index(s->guests, i);

		c->guest_ram_kib += g->ram_kib;
	}
	if (mi->mem_total_kib > 0) {
		c->overcommit = (double)c->guest_ram_kib / (double)mi->mem_total_kib;
		c->avail_pct = 100.0 * (double)mi->mem_available_kib / (double)mi->mem_total_kib;
	} else {
		c->avail_pct = 100.0;
	}
	c->overcommitted = c->guest_ram_kib > 0 && c->overcommit > cfg->overcommit_ratio;
	c->low_memory = mi->mem_total_kib > 0 && c->avail_pct < cfg->avail_low_pct;
	c->psi_pressure = s->have_psi && s->psi_some_avg10 >= cfg->psi_some_on_pct;
	c->comfortable = !c->overcommitted && c->avail_pct >= cfg->avail_high_pct &&
			 (!s->have_psi || s->psi_some_avg10 < cfg->psi_some_off_pct);
	c->swap_pressure = s->have_psi && s->psi_full_avg10 >= cfg->swap_psi_full_on_pct;
	c->swap_comfortable = !c->low_memory && (!s->have_psi || s->psi_full_avg10 < cfg->swap_psi_full_off_pct);
}

static char *
condition_text(const KvSnapshot *s, const KvHostCondition *c)
{
	GString *t = g_string_new(NULL);

	g_string_append_printf(t, "guests' RAM %.2fx host RAM, MemAvailable %.0f%%", c->overcommit, c->avail_pct);
	if (s->have_psi)
		g_string_append_printf(t, ", PSI some %.1f%% full %.1f%%", s->psi_some_avg10, s->psi_full_avg10);
	return g_string_free(t, FALSE);
}

/* Classifies the host into C; returns the condition in words. */
static char *
host_condition(const KvSnapshot *s, const KvConfig *cfg, KvHostCondition *c)
{
	kv_policy_condition(s, cfg, c);
	return condition_text(s, c);
}

gboolean
kv_policy_unmerge_fits(const KvSnapshot *s, const KvConfig *cfg, guint64 *need_kib, guint64 *room_kib)
{
	guint64 pages = 0, need, room, reserve = cfg->unmerge_reserve_mib * MIB_KIB;

	if (s->ksm) {
		if (kv_ksm_has(s->ksm, KV_KSM_PAGES_SHARING))
			pages += s->ksm->value[KV_KSM_PAGES_SHARING];
		if (kv_ksm_has(s->ksm, KV_KSM_ZERO_PAGES))
			pages += s->ksm->value[KV_KSM_ZERO_PAGES];
	}
	need = pages * (s->page_size / 1024);
	room = s->meminfo.mem_available_kib > reserve ? s->meminfo.mem_available_kib - reserve : 0;
	if (need_kib)
		*need_kib = need;
	if (room_kib)
		*room_kib = room;
	return need <= room;
}

gboolean
kv_policy_node_pressed(const KvPolicyState *st, int id)
{
	for (guint i = 0; i < st->pressed_nodes->len; i++)
		if (g_array_index(st->pressed_nodes, int, i) == id)
			return TRUE;
	return FALSE;
}

static double
node_free_pct(const KvNodeSense *n)
{
	return n->total_kib ? 100.0 * (double)n->free_kib / (double)n->total_kib : 100.0;
}

void
kv_policy_node_pressure(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st)
{
	g_autoptr(GArray) now = g_array_new(FALSE, FALSE, sizeof(int));

	for (guint i = 0; s->nodes->len >= 2 && i < s->nodes->len; i++) {
		const KvNodeSense *n = &g_array_index(s->nodes, KvNodeSense, i);
		double pct = node_free_pct(n);

		if (!n->total_kib)
			continue;
		if (pct < cfg->node_free_low_pct ||
		    (kv_policy_node_pressed(st, n->id) && pct < cfg->node_free_high_pct))
			g_array_append_val(now, n->id);
	}
	g_array_set_size(st->pressed_nodes, 0);
	g_array_append_vals(st->pressed_nodes, now->data, now->len);
}

guint64
kv_guest_pressed_kib(const KvGuestSense *g, const KvPolicyState *st)
{
	guint64 kib = 0;

	for (guint i = 0; g->node_kib && i < g->node_kib->len; i++) {
		const KvGuestNodeKib *nk = &g_array_index(g->node_kib, KvGuestNodeKib, i);

		if (kv_policy_node_pressed(st, nk->node))
			kib += nk->kib;
	}
	return kib;
}

/* With several nodes: "; node 3 under pressure: 3% free (< 5%), guests
 * there: a 120 MiB, b 80 MiB" for each node under pressure, else "; node 1
 * is the tightest: 30% free", so a reason shows per-node pressure that
 * MemAvailable hides. */
static char *
node_text(const KvSnapshot *s, const KvConfig *cfg, const KvPolicyState *st)
{
	const KvNodeSense *tight = NULL;
	double tight_pct = 101, pct;
	GString *t;

	if (s->nodes->len < 2)
		return g_strdup("");
	t = g_string_new(NULL);
	for (guint i = 0; i < s->nodes->len; i++) {
		const KvNodeSense *n = &g_array_index(s->nodes, KvNodeSense, i);
		guint shown = 0;

		if (!n->total_kib)
			continue;
		pct = node_free_pct(n);
		if (pct < tight_pct) {
			tight_pct = pct;
			tight = n;
		}
		if (!kv_policy_node_pressed(st, n->id))
			continue;
		g_string_append_printf(t, "; node %d under pressure: %.0f%% free (%s %u%%)", n->id, pct,
				       pct < cfg->node_free_low_pct ? "<" : "not yet back at",
				       pct < cfg->node_free_low_pct ? cfg->node_free_low_pct
								    : cfg->node_free_high_pct);
		for (guint j = 0; j < s->guests->len; j++) {
			const KvGuestSense *g = g_ptr_array_index(s->guests, j);

			for (guint k = 0; g->node_kib && k < g->node_kib->len; k++) {
				const KvGuestNodeKib *nk = &g_array_index(g->node_kib, KvGuestNodeKib, k);

				if (nk->node != n->id || nk->kib == 0)
					continue;
				g_string_append_printf(t, "%s%s %" G_GUINT64_FORMAT " %s",
						       shown ? ", " : ", guests there: ", g->name,
						       nk->kib >= 10 * MIB_KIB ? nk->kib / MIB_KIB : nk->kib,
						       nk->kib >= 10 * MIB_KIB ? "MiB" : "KiB");
				shown++;
			}
		}
	}
	if (!t->len && tight)
		g_string_append_printf(t, "; node %d is the tightest: %.0f%% free", tight->id, tight_pct);
	return g_string_free(t, FALSE);
}

void
kv_policy_numa(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan)
{
	const KvKsm *k = s->ksm;
	guint64 cur, target, need, room;
	g_autofree char *nodes = NULL;
	const char *keep;

	kv_policy_node_pressure(s, cfg, st);
	nodes = node_text(s, cfg, st);
	keep = st->pressed_nodes->len ? "node pressure" : "keep";
	if (cfg->merge_across_nodes < 0) {
		st->numa_unmerging = FALSE;
		kv_plan_summarize(plan, "numa", keep,
				  "merge-across-nodes is not set: left as the kernel has it "
				  "(%u host node%s%s)",
				  s->n_numa_nodes, s->n_numa_nodes == 1 ? "" : "s", nodes);
		return;
	}
	if (!k || !kv_ksm_has(k, KV_KSM_MERGE_ACROSS_NODES) || !kv_ksm_has(k, KV_KSM_RUN)) {
		kv_plan_summarize(plan, "numa", "unsupported", "this kernel has no merge_across_nodes");
		return;
	}
	cur = k->value[KV_KSM_MERGE_ACROSS_NODES];
	target = cfg->merge_across_nodes ? 1 : 0;
	if (cur == target) {
		if (st->numa_unmerging) {
			st->numa_unmerging = FALSE;
			if (k->value[KV_KSM_RUN] != st->numa_restore_run)
				kv_plan_add_ksm(plan, "numa", k, KV_KSM_RUN, st->numa_restore_run,
						"merge_across_nodes changed: resume merging");
			kv_plan_summarize(plan, "numa", "done",
					  "merge_across_nodes is %" G_GUINT64_FORMAT
					  ": run restored to %" G_GUINT64_FORMAT,
					  cur, st->numa_restore_run);
			return;
		}
		kv_plan_summarize(plan, "numa", keep, "merge_across_nodes is already %" G_GUINT64_FORMAT "%s",
				  cur, nodes);
		return;
	}
	if (st->tick < st->numa_busy_until_tick) {
		kv_plan_summarize(plan, "numa", "wait",
				  "the kernel refused merge_across_nodes=%" G_GUINT64_FORMAT
				  " (busy): retry at tick %" G_GUINT64_FORMAT,
				  target, st->numa_busy_until_tick);
		return;
	}
	if (!kv_ksm_has(k, KV_KSM_PAGES_SHARED) || k->value[KV_KSM_PAGES_SHARED] == 0) {
		g_autofree char *why = g_strdup_printf("configured %" G_GUINT64_FORMAT
						       "; nothing is merged, so the kernel accepts the change",
						       target);

		kv_plan_add_ksm(plan, "numa", k, KV_KSM_MERGE_ACROSS_NODES, target, why);
		if (!st->numa_unmerging)
			st->numa_restore_run = k->value[KV_KSM_RUN] == 2 ? 0 : k->value[KV_KSM_RUN];
		st->numa_unmerging = TRUE; /* restore run once the change shows */
		kv_plan_summarize(plan, "numa", "change", "%s", why);
		return;
	}
	if (st->numa_unmerging) {
		kv_plan_summarize(plan, "numa", "wait",
				  "unmerging before merge_across_nodes=%" G_GUINT64_FORMAT
				  ": %" G_GUINT64_FORMAT " pages still shared",
				  target, k->value[KV_KSM_PAGES_SHARED]);
		return;
	}
	if (kv_policy_unmerge_fits(s, cfg, &need, &room)) {
		g_autofree char *why =
			g_strdup_printf("merge_across_nodes %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
					" needs no merged pages: unmerging brings back %" G_GUINT64_FORMAT
					" MiB, which fits in MemAvailable minus the %" G_GUINT64_FORMAT
					" MiB reserve (%" G_GUINT64_FORMAT " MiB)",
					cur, target, need / MIB_KIB, cfg->unmerge_reserve_mib, room / MIB_KIB);

		st->numa_restore_run = k->value[KV_KSM_RUN] == 2 ? 0 : k->value[KV_KSM_RUN];
		st->numa_unmerging = TRUE;
		if (k->value[KV_KSM_RUN] != 2)
			kv_plan_add_ksm(plan, "numa", k, KV_KSM_RUN, 2, why);
		kv_plan_summarize(plan, "numa", "unmerge", "%s", why);
		return;
	}
	kv_plan_summarize(plan, "numa", "refuse",
			  "merge_across_nodes %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
			  " would need an unmerge of %" G_GUINT64_FORMAT
			  " MiB, more than MemAvailable minus the %" G_GUINT64_FORMAT
			  " MiB reserve (%" G_GUINT64_FORMAT " MiB)",
			  cur, target, need / MIB_KIB, cfg->unmerge_reserve_mib, room / MIB_KIB);
}

static guint64
clamp_u64(guint64 v, guint64 lo, guint64 hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One KSM decision in the making: what every phase of kv_policy_ksm()
 * reads. */
typedef struct {
	const KvSnapshot *s;
	const KvConfig *cfg;
	KvPolicyState *st;
	KvPlan *plan;
	const KvKsm *k;
	KvHostCondition c;
	gboolean node_press; /* a host node is under pressure */
	gboolean urgent;     /* the rate rises faster */
	char *cond;          /* the condition in words */
	guint64 cur;         /* pages_to_scan now */
} KsmTick;

/* KSM left alone this tick: not managed, absent, or on hold.  Returns TRUE
 * with the summary made. */
static gboolean
ksm_held(const KsmTick *t)
{
	const KvPolicyState *st = t->st;

	if (!t->cfg->ksm_manage) {
		kv_plan_summarize(t->plan, "ksm", "unmanaged",
				  "ksm-manage is false: KSM settings are left alone");
		return TRUE;
	}
	if (!t->s->have_ksm || !t->k || !kv_ksm_has(t->k, KV_KSM_RUN)) {
		kv_plan_summarize(t->plan, "ksm", "unsupported", "this kernel has no KSM");
		return TRUE;
	}
	if (st->numa_unmerging) {
		kv_plan_summarize(t->plan, "ksm", "hold", "a merge_across_nodes change is in progress");
		return TRUE;
	}
	if (st->tick < st->ksm_blocked_until_tick) {
		kv_plan_summarize(t->plan, "ksm", "blocked",
				  "KSM settings cannot be written (%s): "
				  "retry at tick %" G_GUINT64_FORMAT,
				  st->ksm_blocked_error ? st->ksm_blocked_error : "error",
				  st->ksm_blocked_until_tick);
		return TRUE;
	}
	return FALSE;
}

/* Classifies the host into T and moves the hysteresis: KSM becomes active
 * under overcommit or any pressure, inactive once comfortable. */
static void
ksm_classify(KsmTick *t)
{
	const KvKsm *k = t->k;
	gboolean node_urgent;

	t->cond = host_condition(t->s, t->cfg, &t->c);
	/* A node under pressure: merging frees memory there too; with
	 * merge_across_nodes=0 every merge stays within its node, so the rate
	 * rises as under host pressure. */
	t->node_press = t->st->pressed_nodes->len > 0;
	node_urgent = t->node_press && kv_ksm_has(k, KV_KSM_MERGE_ACROSS_NODES) &&
		      k->value[KV_KSM_MERGE_ACROSS_NODES] == 0;
	/* Pressure on the host, or on a node whose merges stay within it:
	 * the rate rises faster. */
	t->urgent = t->c.psi_pressure || t->c.low_memory || node_urgent;
	if (t->node_press) {
		g_autofree char *c2 = t->cond;

		t->cond = g_strdup_printf("%s, node %d under pressure%s", c2,
					  g_array_index(t->st->pressed_nodes, int, 0),
					  node_urgent ? " (merges stay within a node)" : "");
	}
	if (t->c.overcommitted || t->c.low_memory || t->c.psi_pressure || t->node_press)
		t->st->ksm_active = TRUE;
	else if (t->c.comfortable)
		t->st->ksm_active = FALSE;
}

/* Comfortable: scanning stops, merged pages stay merged. */
static void
ksm_off(const KsmTick *t)
{
	const KvKsm *k = t->k;
	guint64 merged = kv_ksm_has(k, KV_KSM_PAGES_SHARING) ? k->value[KV_KSM_PAGES_SHARING] : 0;
	g_autofree char *why = g_strdup_printf("comfortable (%s): scanning stops, the %" G_GUINT64_FORMAT
					       " merged pages stay merged",
					       t->cond, merged);

	t->st->low_gain_ticks = 0;
	t->st->backed_off = FALSE;
	if (k->value[KV_KSM_RUN] == 1)
		kv_plan_add_ksm(t->plan, "ksm", k, KV_KSM_RUN, 0, why);
	kv_plan_summarize(t->plan, "ksm", "off", "%s", why);
}

/* Active: run=1, with the first reason that holds. */
static void
ksm_on(const KsmTick *t)
{
	const KvHostCondition *c = &t->c;
	g_autofree char *why = NULL;

	if (t->k->value[KV_KSM_RUN] == 1)
		return;
	why = g_strdup_printf("%s (%s)",
			      c->overcommitted  ? "overcommitted"
			      : c->low_memory   ? "MemAvailable low"
			      : c->psi_pressure ? "memory pressure"
			      : t->node_press   ? "node pressure"
						: "still not comfortable",
			      t->cond);
	kv_plan_add_ksm(t->plan, "ksm", t->k, KV_KSM_RUN, 1, why);
}

/* The kernel's scan-time advisor sizes pages_to_scan: by configuration, or
 * (advisor = auto) when ksmd's CPU time cannot be measured.  Returns TRUE
 * with the advisor's actions and the summary made. */
static gboolean
ksm_advisor(const KsmTick *t)
{
	const KvConfig *cfg = t->cfg;
	const KvKsm *k = t->k;
	const char *why;

	if (!kv_ksm_has(k, KV_KSM_ADVISOR_MODE) ||
	    !(cfg->advisor == KV_ADVISOR_SCAN_TIME || (cfg->advisor == KV_ADVISOR_AUTO && !t->s->have_ksmd_cpu)))
		return FALSE;
	why = cfg->advisor == KV_ADVISOR_SCAN_TIME
		      ? "advisor = scan-time: the kernel sizes pages_to_scan for a full scan time"
		      : "ksmd CPU cannot be measured: the kernel's scan-time advisor sizes pages_to_scan";
	if (g_strcmp0(k->advisor_mode, "scan-time") != 0) {
		KvAction *a = kv_plan_add_ksm(t->plan, "ksm", k, KV_KSM_ADVISOR_MODE, 0, why);

		a->value_str = g_strdup("scan-time");
	}
	if (kv_ksm_has(k, KV_KSM_ADVISOR_MAX_CPU) && k->value[KV_KSM_ADVISOR_MAX_CPU] != cfg->advisor_max_cpu_pct)
		kv_plan_add_ksm(t->plan, "ksm", k, KV_KSM_ADVISOR_MAX_CPU, cfg->advisor_max_cpu_pct,
				"advisor CPU cap from advisor-max-cpu");
	kv_plan_summarize(t->plan, "ksm", "on (advisor)", "%s; %s", t->cond, why);
	return TRUE;
}

/* ksmvirtd drives the rate: the advisor off, sleep_millisecs as set. */
static void
ksm_own_knobs(const KsmTick *t)
{
	const KvKsm *k = t->k;

	if (kv_ksm_has(k, KV_KSM_ADVISOR_MODE) && k->advisor_mode && strcmp(k->advisor_mode, "none") != 0) {
		KvAction *a = kv_plan_add_ksm(t->plan, "ksm", k, KV_KSM_ADVISOR_MODE, 0,
					      "ksmvirtd drives pages_to_scan from the measured benefit");

		a->value_str = g_strdup("none");
	}
	if (kv_ksm_has(k, KV_KSM_SLEEP_MILLISECS) && k->value[KV_KSM_SLEEP_MILLISECS] != t->cfg->sleep_ms)
		kv_plan_add_ksm(t->plan, "ksm", k, KV_KSM_SLEEP_MILLISECS, t->cfg->sleep_ms, "sleep-ms");
}

static guint64
ksm_clamp(const KsmTick *t, guint64 pages)
{
	return clamp_u64(pages, t->cfg->pages_to_scan_min, t->cfg->pages_to_scan_max);
}

/* Plans pages_to_scan = TARGET when it changes. */
static void
ksm_set_rate(const KsmTick *t, guint64 target, const char *why)
{
	if (target != t->cur)
		kv_plan_add_ksm(t->plan, "ksm", t->k, KV_KSM_PAGES_TO_SCAN, target, why);
}

/* Scanning (re)starts, or the benefit cannot be measured yet: the start
 * rate, the measurement begins again. */
static void
ksm_start(const KsmTick *t)
{
	guint64 target = ksm_clamp(t, MAX(t->cur, t->cfg->pages_to_scan_start));

	t->st->low_gain_ticks = 0;
	t->st->backed_off = FALSE;
	t->st->gain_pages_per_cpu_s = -1;
	t->st->full_scans_since_on = 0;
	ksm_set_rate(t, target, "start scanning; the benefit is measured from the next tick");
	kv_plan_summarize(t->plan, "ksm", "on",
			  "%s; starting at pages_to_scan %" G_GUINT64_FORMAT " until the benefit can be measured",
			  t->cond, target);
}

/* KSM merges nothing in its first pass (it only fills the unstable tree):
 * until the second complete pass the rate follows the pressure alone. */
static void
ksm_first_passes(const KsmTick *t)
{
	guint64 target = ksm_clamp(t, t->urgent ? t->cur * 2 : t->cur);

	t->st->low_gain_ticks = 0;
	ksm_set_rate(t, target, "first passes, under pressure: scan faster");
	kv_plan_summarize(t->plan, "ksm", target > t->cur ? "raise" : "on",
			  "%s; %" G_GUINT64_FORMAT " of 2 full scans done: the benefit shows from the "
			  "second pass%s; pages_to_scan %" G_GUINT64_FORMAT,
			  t->cond, t->st->full_scans_since_on,
			  t->urgent ? ", under pressure the rate rises meanwhile" : "", target);
}

/* Sharing broke: swap-in gave guests private copies of pages that were
 * merged (ksm_swpin_copy).  They are duplicates of a stable page again and
 * merge in the next pass, but a backed-off rate takes minutes to reach
 * them: re-arm at the start rate (doubled under pressure); from the next
 * tick the measured benefit drives the rate again. */
static void
ksm_rearm(const KsmTick *t)
{
	const KvConfig *cfg = t->cfg;
	guint64 target = MAX(t->cur, cfg->pages_to_scan_start);
	g_autofree char *why = NULL;

	if (t->urgent)
		target *= 2;
	target = ksm_clamp(t, target);
	t->st->low_gain_ticks = 0;
	t->st->backed_off = FALSE;
	why = g_strdup_printf("%" G_GUINT64_FORMAT " merged pages were copied at swap-in since the "
			      "last tick (ksm_swpin_copy >= %" G_GUINT64_FORMAT "): they can merge "
			      "again, scan at pages_to_scan %" G_GUINT64_FORMAT "%s",
			      t->s->ksm_swpin_copy_delta, cfg->rearm_swpin_copies, target,
			      t->urgent ? ", doubled under pressure" : "");
	ksm_set_rate(t, target, why);
	kv_plan_summarize(t->plan, "ksm", "re-arm", "%s; %s", t->cond, why);
}

/* Benefit: pages newly merged per ksmd CPU-second.  Worth it: faster
 * (doubling under pressure).  Too little for backoff-ticks ticks: half the
 * rate.  Below the clock tick resolution ksmd is nearly free: count 10 ms. */
static void
ksm_benefit(const KsmTick *t)
{
	const KvConfig *cfg = t->cfg;
	KvPolicyState *st = t->st;
	double cpu_s = MAX(t->s->ksmd_cpu_s, 0.01);
	double gain = t->s->merged_delta_pages > 0 ? (double)t->s->merged_delta_pages / cpu_s : 0.0;
	g_autofree char *why = NULL;
	const char *decision;
	guint64 target;

	st->gain_pages_per_cpu_s = gain;
	if (gain >= cfg->min_gain_pages_per_cpu_s) {
		st->low_gain_ticks = 0;
		st->backed_off = FALSE;
		target = ksm_clamp(t, t->urgent ? t->cur * 2 : t->cur + t->cur / 2);
		decision = target > t->cur ? "raise" : "on";
		why = g_strdup_printf("%.0f pages newly merged per ksmd CPU-second (>= %.0f)%s", gain,
				      cfg->min_gain_pages_per_cpu_s,
				      target > t->cur
					      ? (t->urgent ? ": scan faster, under pressure" : ": scan faster")
					      : ": at the maximum rate");
	} else if (++st->low_gain_ticks >= cfg->backoff_ticks) {
		target = ksm_clamp(t, t->cur / 2);
		st->backed_off = TRUE;
		decision = target < t->cur ? "back off" : "backed off";
		why = g_strdup_printf("backing off: %.0f pages newly merged per ksmd CPU-second "
				      "(< %.0f) for %u ticks",
				      gain, cfg->min_gain_pages_per_cpu_s, st->low_gain_ticks);
	} else {
		target = ksm_clamp(t, t->cur);
		decision = "on";
		why = g_strdup_printf("%.0f pages newly merged per ksmd CPU-second (< %.0f), "
				      "%u of %u ticks before backing off",
				      gain, cfg->min_gain_pages_per_cpu_s, st->low_gain_ticks,
				      cfg->backoff_ticks);
	}
	ksm_set_rate(t, target, why);
	kv_plan_summarize(t->plan, "ksm", decision, "%s; %s; pages_to_scan %" G_GUINT64_FORMAT, t->cond, why,
			  target);
}

/* The KSM policy in its phases: held, off or on; then either the kernel's
 * advisor or ksmvirtd's own rate: start, first passes, re-arm after
 * swap-in copies, or the measured benefit. */
void
kv_policy_ksm(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan)
{
	KsmTick t = { .s = s, .cfg = cfg, .st = st, .plan = plan, .k = s->ksm };
	g_autofree char *cond = NULL;
	const KvKsm *k = s->ksm;

	if (ksm_held(&t))
		return;
	ksm_classify(&t);
	cond = t.cond;
	if (!st->ksm_active) {
		ksm_off(&t);
		return;
	}
	ksm_on(&t);
	if (ksm_advisor(&t))
		return;
	ksm_own_knobs(&t);
	if (!kv_ksm_has(k, KV_KSM_PAGES_TO_SCAN)) {
		kv_plan_summarize(plan, "ksm", "on", "%s; this kernel has no pages_to_scan", cond);
		return;
	}
	t.cur = k->value[KV_KSM_PAGES_TO_SCAN];
	if (!s->have_deltas || s->prev_run != 1 || !s->have_ksmd_cpu || k->value[KV_KSM_RUN] != 1) {
		ksm_start(&t);
		return;
	}
	st->full_scans_since_on += s->full_scans_delta;
	if (s->have_full_scans && st->full_scans_since_on < 2)
		ksm_first_passes(&t);
	else if (cfg->rearm_swpin_copies && s->ksm_swpin_copy_delta >= cfg->rearm_swpin_copies)
		ksm_rearm(&t);
	else
		ksm_benefit(&t);
}

static gint
by_priority_up(gconstpointer a, gconstpointer b)
{
	const KvGuestSense *x = *(KvGuestSense *const *)a, *y = *(KvGuestSense *const *)b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return g_strcmp0(x->name, y->name);
}

static gint
by_priority_down(gconstpointer a, gconstpointer b)
{
	return by_priority_up(b, a);
}

/* Lowest priority first; among equals, the most memory on nodes under
 * pressure first, then by name. */
static gint
by_priority_then_pressed(gconstpointer a, gconstpointer b, gpointer data)
{
	const KvGuestSense *x = *(KvGuestSense *const *)a, *y = *(KvGuestSense *const *)b;
	const KvPolicyState *st = data;
	guint64 px, py;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	px = kv_guest_pressed_kib(x, st);
	py = kv_guest_pressed_kib(y, st);
	if (px != py)
		return px > py ? -1 : 1;
	return g_strcmp0(x->name, y->name);
}

static gboolean
rate_limited(const KvPolicyState *st, guint64 changed_tick, guint interval)
{
	return changed_tick != 0 && st->tick < changed_tick + interval;
}

/* Guests giving memory in one tick: all of the lowest priority that
 * still gives, at most MAX of them. */
typedef struct {
	guint max, changed;
	gboolean have_level;
	int level;
} PriorityGate;

/* TRUE when G may not give this tick: another priority already gave, or
 * the limit is reached. */
static gboolean
gate_closed(const PriorityGate *gt, const KvGuestSense *g)
{
	return (gt->have_level && g->priority != gt->level) || gt->changed >= gt->max;
}

/* G gave. */
static void
gate_pass(PriorityGate *gt, const KvGuestSense *g)
{
	gt->have_level = TRUE;
	gt->level = g->priority;
	gt->changed++;
}

/* The guests whose balloons ksmvirtd can move (a driver and a maximum)
 * into CAND.  Returns how many have none. */
static guint
balloon_candidates(const KvSnapshot *s, GPtrArray *cand)
{
	guint no_driver = 0;

	for (guint i = 0; i < s->guests->len; i++) {
		KvGuestSense *g = g_ptr_array_index(s->guests, i);

		if (g->has_balloon_driver && g->balloon_max_kib > 0)
			g_ptr_array_add(cand, g);
		else
			no_driver++;
	}
	return no_driver;
}

/* A node under pressure while the host is not: the guests of CAND with at
 * least a quarter of their resident memory there give, into NODE_CAND. */
static void
balloon_node_candidates(const GPtrArray *cand, const KvPolicyState *st, GPtrArray *node_cand)
{
	for (guint i = 0; i < cand->len; i++) {
		KvGuestSense *g = g_ptr_array_index(cand, i);
		guint64 there = kv_guest_pressed_kib(g, st), all = 0;

		for (guint j = 0; g->node_kib && j < g->node_kib->len; j++)
			all += g_array_index(g->node_kib, KvGuestNodeKib, j).kib;
		if (there > 0 && there * 4 >= all)
			g_ptr_array_add(node_cand, g);
	}
}

/* Comfortable: memory goes back to the guests of CAND (highest priority
 * first), those short of it first (pass 0), then every balloon below its
 * maximum (pass 1), never onto a node under pressure.  Returns how many
 * grow. */
static guint
balloon_grow(const KvConfig *cfg, KvPolicyState *st, KvPlan *plan, GPtrArray *cand, const char *cond)
{
	guint changed = 0;

	for (guint pass = 0; pass < 2; pass++) {
		for (guint i = 0; i < cand->len; i++) {
			const KvGuestSense *g = g_ptr_array_index(cand, i);
			KvGuestPolicyState *gs = kv_policy_state_guest(st, g->name);
			guint64 step = g->balloon_max_kib * cfg->balloon_step_pct / 100;
			gboolean short_of_memory = g->balloon_unused_kib <
						   g->balloon_actual_kib * cfg->balloon_guest_free_pct / 100;
			guint64 target;

			if (changed >= cfg->balloon_guests_per_tick)
				break;
			if (g->balloon_actual_kib >= g->balloon_max_kib || short_of_memory != (pass == 0))
				continue;
			/* Not onto a node under pressure. */
			if (kv_guest_pressed_kib(g, st) > 0)
				continue;
			if (rate_limited(st, gs->balloon_changed_tick, cfg->balloon_interval_ticks))
				continue;
			target = MIN(g->balloon_max_kib, g->balloon_actual_kib + MAX(step, 1));
			kv_plan_add_guest(
				plan, KV_ACTION_BALLOON, "balloon", g, g->balloon_actual_kib, target,
				short_of_memory
					? g_strdup_printf("host comfortable (%s): the guest has only %" G_GUINT64_FORMAT
							  " MiB unused; priority %d",
							  cond, g->balloon_unused_kib / MIB_KIB, g->priority)
					: g_strdup_printf("host comfortable (%s): give memory back toward the %" G_GUINT64_FORMAT
							  " MiB maximum; priority %d",
							  cond, g->balloon_max_kib / MIB_KIB, g->priority));
			gs->balloon_changed_tick = st->tick;
			changed++;
		}
	}
	return changed;
}

/* Shrinks the balloons of LIST (the host, or with HOST false a node, under
 * pressure): only guests of the lowest priority that still gives memory,
 * each down by a step to its floor, at most balloon-guests-per-tick.
 * Returns how many change; *LEVEL gets their priority. */
static guint
balloon_shrink(const KvConfig *cfg, KvPolicyState *st, KvPlan *plan, GPtrArray *list, gboolean host,
	       const char *cond, int *level)
{
	PriorityGate gate = { .max = cfg->balloon_guests_per_tick };

	g_ptr_array_sort_with_data(list, by_priority_then_pressed, st);
	for (guint i = 0; i < list->len; i++) {
		const KvGuestSense *g = g_ptr_array_index(list, i);
		KvGuestPolicyState *gs = kv_policy_state_guest(st, g->name);
		guint64 step = g->balloon_max_kib * cfg->balloon_step_pct / 100;
		guint64 used, keep, floor, target;
		g_autofree char *where = host ? g_strdup("")
					      : g_strdup_printf("; %" G_GUINT64_FORMAT
								" MiB of it on the node under pressure",
								kv_guest_pressed_kib(g, st) / MIB_KIB);

		/* Only the lowest priority that still gives memory. */
		if (gate_closed(&gate, g))
			break;
		if (rate_limited(st, gs->balloon_changed_tick, cfg->balloon_interval_ticks))
			continue;
		used = g->balloon_actual_kib > g->balloon_unused_kib
			       ? g->balloon_actual_kib - g->balloon_unused_kib
			       : 0;
		keep = g->balloon_actual_kib * cfg->balloon_guest_free_pct / 100;
		floor = MAX(g->balloon_floor_kib, used + keep);
		if (g->balloon_actual_kib <= floor)
			continue;
		target = g->balloon_actual_kib > step ? g->balloon_actual_kib - step : 0;
		target = MAX(target, floor);
		if (g->balloon_actual_kib - target < cfg->balloon_min_change_mib * MIB_KIB)
			continue;
		kv_plan_add_guest(plan, KV_ACTION_BALLOON, "balloon", g, g->balloon_actual_kib, target,
				  g_strdup_printf("%s (%s); priority %d; the guest has %" G_GUINT64_FORMAT
						  " MiB unused%s; floor %" G_GUINT64_FORMAT " MiB%s%s",
						  host ? "host under pressure" : "node under pressure", cond,
						  g->priority, g->balloon_unused_kib / MIB_KIB, where,
						  floor / MIB_KIB, g->floor_source ? " from " : "",
						  g->floor_source ? g->floor_source : ""));
		gs->balloon_changed_tick = st->tick;
		gate_pass(&gate, g);
	}
	*level = gate.level;
	return gate.changed;
}

/* Under host pressure balloons shrink; with a node under pressure only its
 * guests' balloons; when comfortable they grow back; between the
 * thresholds they stay. */
void
kv_policy_balloon(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan)
{
	KvHostCondition c;
	g_autoptr(GPtrArray) cand = g_ptr_array_new();
	g_autoptr(GPtrArray) node_cand = g_ptr_array_new();
	g_autofree char *cond = NULL;
	guint no_driver, changed;
	gboolean shrink, grow, node_shrink = FALSE;

	if (!cfg->balloon_manage) {
		kv_plan_summarize(plan, "balloon", "unmanaged", "balloon-manage is false");
		return;
	}
	no_driver = balloon_candidates(s, cand);
	if (cand->len == 0) {
		kv_plan_summarize(plan, "balloon", "none",
				  "no guest has a balloon driver (%u guest%s "
				  "without)",
				  no_driver, no_driver == 1 ? "" : "s");
		return;
	}
	cond = host_condition(s, cfg, &c);
	shrink = c.low_memory || c.psi_pressure;
	grow = !shrink && c.avail_pct >= cfg->avail_high_pct &&
	       (!s->have_psi || s->psi_some_avg10 < cfg->psi_some_off_pct);
	if (!shrink && st->pressed_nodes->len > 0) {
		g_autofree char *c2 = cond;

		balloon_node_candidates(cand, st, node_cand);
		cond = g_strdup_printf("%s; node %d under pressure", c2,
				       g_array_index(st->pressed_nodes, int, 0));
		node_shrink = node_cand->len > 0;
	}
	if (!shrink && !grow && !node_shrink) {
		kv_plan_summarize(plan, "balloon", "hold", "between the thresholds (%s): balloons stay", cond);
		return;
	}
	if (shrink || node_shrink) {
		const char *who = shrink ? "host under pressure" : "node under pressure";
		int level = 0;

		changed = balloon_shrink(cfg, st, plan, shrink ? cand : node_cand, shrink, cond, &level);
		if (changed) {
			kv_plan_summarize(plan, "balloon", "shrink",
					  "%s (%s): %u guest%s of priority %d "
					  "give memory back",
					  who, cond, changed, changed == 1 ? "" : "s", level);
			return;
		}
		if (!node_shrink || !grow) {
			kv_plan_summarize(plan, "balloon", "hold",
					  "%s (%s) but every balloon is at its floor "
					  "or was changed in the last %u ticks",
					  who, cond, cfg->balloon_interval_ticks);
			return;
		}
		/* The node's guests are at their floors and the host is
		 * comfortable: the others may grow (never onto that node). */
	}
	g_ptr_array_sort(cand, by_priority_down);
	changed = balloon_grow(cfg, st, plan, cand, cond);
	kv_plan_summarize(plan, "balloon", changed ? "grow" : "hold",
			  "host comfortable (%s): %u "
			  "balloon%s grow",
			  cond, changed, changed == 1 ? "" : "s");
}

static char *
limit_file(const KvGuestSense *g)
{
	return g_build_filename(g->cg_dir,
				g->cg_version == KV_CGROUP_V2 ? "memory.high" : "memory.limit_in_bytes", NULL);
}

/* Memory stalls: lowers the memory cgroup limits of CAND so the kernel
 * swaps them out: only guests of the lowest priority, each a step down to
 * its floor, at most swap-guests-per-tick.  Returns how many change;
 * *BUSY counts the guests waiting after EBUSY. */
static guint
swap_lower(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan, GPtrArray *cand,
	   const char *cond, guint *busy)
{
	const guint64 page = s->page_size ? s->page_size : 4096;
	PriorityGate gate = { .max = cfg->swap_guests_per_tick };

	/* Lowest priority first; among equals, the guest with the most memory
	 * on a node under pressure: its swap-out frees memory where it is
	 * short. */
	g_ptr_array_sort_with_data(cand, by_priority_then_pressed, st);
	for (guint i = 0; i < cand->len; i++) {
		const KvGuestSense *g = g_ptr_array_index(cand, i);
		KvGuestPolicyState *gs = kv_policy_state_guest(st, g->name);
		guint64 ram = g->ram_kib * 1024, step = ram * cfg->swap_step_pct / 100;
		guint64 there = kv_guest_pressed_kib(g, st);
		g_autofree char *where = there ? g_strdup_printf("; %" G_GUINT64_FORMAT " MiB of it on "
								 "the node under pressure",
								 there / MIB_KIB)
					       : g_strdup("");
		guint64 floor = MAX(ram * cfg->swap_min_pct / 100, g->balloon_floor_kib * 1024);
		guint64 base = MIN(g->cg_limit_bytes, g->cg_usage_bytes), target;
		KvAction *a;

		if (gate_closed(&gate, g))
			break;
		if (st->tick < gs->cg_busy_until_tick) {
			(*busy)++;
			continue;
		}
		target = base > step ? base - step : 0;
		target = MAX(target, floor);
		target -= target % page;
		if (target >= g->cg_limit_bytes || g->cg_limit_bytes - target < (1u << 20))
			continue;
		if (gs->cg_original_limit_bytes == 0)
			gs->cg_original_limit_bytes = g->cg_limit_bytes;
		a = kv_plan_add_guest(plan, KV_ACTION_CGROUP_LIMIT, "swap", g, g->cg_limit_bytes, target,
				      g_strdup_printf("memory stalls (%s): priority %d swaps first; floor %" G_GUINT64_FORMAT
						      " MiB%s",
						      cond, g->priority, floor >> 20, where));
		a->cg_file = limit_file(g);
		a->cg_version = g->cg_version;
		gate_pass(&gate, g);
	}
	return gate.changed;
}

/* No memory stalls: raises the limits ksmvirtd lowered, of CAND (highest
 * priority first), a step at a time back to where they were.  Returns how
 * many change. */
static guint
swap_relax(const KvConfig *cfg, KvPolicyState *st, KvPlan *plan, GPtrArray *cand, const char *cond)
{
	guint changed = 0;

	for (guint i = 0; i < cand->len; i++) {
		const KvGuestSense *g = g_ptr_array_index(cand, i);
		KvGuestPolicyState *gs = kv_policy_state_guest(st, g->name);
		guint64 step = g->ram_kib * 1024 * cfg->swap_step_pct / 100, target, orig;
		KvAction *a;

		if (changed >= cfg->swap_guests_per_tick)
			break;
		if (gs->cg_original_limit_bytes == 0 || st->tick < gs->cg_busy_until_tick)
			continue;
		orig = gs->cg_original_limit_bytes;
		if (g->cg_limit_bytes >= orig) {
			gs->cg_original_limit_bytes = 0;
			continue;
		}
		target = g->cg_limit_bytes + step;
		/* Above the guest's RAM a limit no longer matters. */
		if (target >= orig || target < g->cg_limit_bytes ||
		    (orig == KV_UNLIMITED && target >= g->ram_kib * 1024)) {
			target = orig;
			gs->cg_original_limit_bytes = 0;
		}
		a = kv_plan_add_guest(plan, KV_ACTION_CGROUP_LIMIT, "swap", g, g->cg_limit_bytes, target,
				      g_strdup_printf("no memory stalls (%s): raise the limit back toward %s",
						      cond, orig == KV_UNLIMITED ? "unlimited" : "its original"));
		a->cg_file = limit_file(g);
		a->cg_version = g->cg_version;
		changed++;
	}
	return changed;
}

/* Guests in a memory cgroup: under memory stalls (PSI full) their limits
 * go down so the kernel swaps them, lowest priority first; once the stalls
 * are gone the limits go back up; between the thresholds they stay. */
void
kv_policy_swap(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan)
{
	guint changed, busy = 0;
	g_autoptr(GPtrArray) cand = g_ptr_array_new();
	g_autofree char *cond = NULL;
	KvHostCondition c;

	if (!cfg->swap_manage) {
		kv_plan_summarize(plan, "swap", "unmanaged", "swap-manage is false");
		return;
	}
	for (guint i = 0; i < s->guests->len; i++) {
		KvGuestSense *g = g_ptr_array_index(s->guests, i);

		if (g->cg_version != KV_CGROUP_NONE && g->cg_dir && g->ram_kib > 0)
			g_ptr_array_add(cand, g);
	}
	if (cand->len == 0) {
		kv_plan_summarize(plan, "swap", "none", "no guest in a memory cgroup");
		return;
	}
	cond = host_condition(s, cfg, &c);
	if (c.swap_pressure && s->meminfo.swap_free_kib == 0) {
		kv_plan_summarize(plan, "swap", "hold", "memory stalls (%s) but no free swap", cond);
	} else if (c.swap_pressure) {
		changed = swap_lower(s, cfg, st, plan, cand, cond, &busy);
		kv_plan_summarize(plan, "swap", changed ? "limit" : "hold",
				  "memory stalls (%s): %u guest limit%s lowered%s", cond, changed,
				  changed == 1 ? "" : "s", busy ? "; some guests wait after EBUSY" : "");
	} else if (!c.swap_comfortable) {
		kv_plan_summarize(plan, "swap", "hold", "between the thresholds (%s): limits stay", cond);
	} else {
		g_ptr_array_sort(cand, by_priority_down);
		changed = swap_relax(cfg, st, plan, cand, cond);
		kv_plan_summarize(plan, "swap", changed ? "relax" : "keep",
				  "no memory stalls (%s): %u limit%s raised", cond, changed,
				  changed == 1 ? "" : "s");
	}
}

void
kv_policy_zero_pages(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan)
{
	const char *after = "use_zero_pages only affects pages scanned after it changes: "
			    "zero pages merged before stay in the stable tree";
	g_autoptr(GString) names = g_string_new(NULL);
	guint windows = 0;
	guint64 cur;

	for (guint i = 0; i < s->guests->len; i++) {
		const KvGuestSense *g = g_ptr_array_index(s->guests, i);

		if (g->is_windows)
			g_string_append_printf(names, "%s%s", windows++ ? ", " : "", g->name);
	}
	if (!cfg->ksm_manage || !cfg->zero_pages_for_windows) {
		kv_plan_summarize(plan, "zero", "unmanaged", "%s: use_zero_pages is left alone",
				  cfg->ksm_manage ? "zero-pages-for-windows is false" : "ksm-manage is false");
		return;
	}
	if (!s->have_ksm || !s->ksm || !kv_ksm_has(s->ksm, KV_KSM_USE_ZERO_PAGES)) {
		kv_plan_summarize(plan, "zero", "unsupported", "this kernel has no use_zero_pages");
		return;
	}
	cur = s->ksm->value[KV_KSM_USE_ZERO_PAGES];
	if (windows == 0) {
		kv_plan_summarize(plan, "zero", "keep",
				  "no Windows guest runs: use_zero_pages stays %" G_GUINT64_FORMAT, cur);
		return;
	}
	if (cur) {
		kv_plan_summarize(plan, "zero", "keep", "use_zero_pages is on for %u Windows guest(s) (%s); %s",
				  windows, names->str, after);
		return;
	}
	if (st->numa_unmerging || st->tick < st->ksm_blocked_until_tick) {
		kv_plan_summarize(plan, "zero", "hold",
				  "%u Windows guest(s) (%s) want use_zero_pages, but KSM settings "
				  "are on hold",
				  windows, names->str);
		return;
	}
	{
		g_autofree char *why = g_strdup_printf("%u Windows guest(s) (%s) zero their free memory; %s",
						       windows, names->str, after);

		kv_plan_add_ksm(plan, "zero", s->ksm, KV_KSM_USE_ZERO_PAGES, 1, why);
		kv_plan_summarize(plan, "zero", "on", "%s", why);
	}
}

KvPlan *
kv_policy_decide(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st)
{
	KvPlan *plan = kv_plan_new();

	st->tick++;
	kv_policy_numa(s, cfg, st, plan);
	kv_policy_ksm(s, cfg, st, plan);
	kv_policy_balloon(s, cfg, st, plan);
	kv_policy_swap(s, cfg, st, plan);
	kv_policy_zero_pages(s, cfg, st, plan);
	kv_policy_isolation(s, cfg, st, plan);
	return plan;
}

void
kv_policy_learn(const KvPlan *plan, const KvConfig *cfg, KvPolicyState *st)
{
	guint wait = MAX(cfg->swap_busy_ticks, BUSY_WAIT_TICKS_MIN);

	for (guint i = 0; i < plan->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(plan->actions, i);

		if (a->result != KV_RESULT_TRANSIENT && a->result != KV_RESULT_PERMANENT)
			continue;
		switch (a->kind) {
		case KV_ACTION_CGROUP_LIMIT: {
			KvGuestPolicyState *gs = kv_policy_state_guest(st, a->guest);

			gs->cg_busy_until_tick =
				st->tick + (a->result == KV_RESULT_PERMANENT ? KSM_BLOCKED_TICKS : wait);
			break;
		}
		case KV_ACTION_KSM_KNOB:
			if (a->knob == KV_KSM_MERGE_ACROSS_NODES ||
			    (!strcmp(a->policy, "numa") && a->errnum == EBUSY)) {
				st->numa_busy_until_tick = st->tick + wait;
				st->numa_unmerging = FALSE;
			} else if (!strcmp(a->policy, "numa")) {
				st->numa_unmerging = FALSE;
				st->numa_busy_until_tick = st->tick + wait;
			} else if (a->result == KV_RESULT_PERMANENT) {
				st->ksm_blocked_until_tick = st->tick + KSM_BLOCKED_TICKS;
				g_free(st->ksm_blocked_error);
				st->ksm_blocked_error = g_strdup(a->error);
			}
			break;
		case KV_ACTION_BALLOON:
		case KV_ACTION_GUEST_MERGE: /* kv_policy_isolation_learn */
			break;
		}
	}
	kv_policy_isolation_learn(plan, st);
}
