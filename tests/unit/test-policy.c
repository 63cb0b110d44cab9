/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the balancer's decide functions, one table per policy. */
#include "kv-policy.h"

#include <errno.h>
#include <string.h>

#define GIB_KIB (1024u * 1024u)
#define NONE G_MAXUINT64

/* Host: 16 GiB unless told otherwise. */
typedef struct {
	guint64 total_kib, avail_kib, swap_free_kib;
	double psi_some, psi_full; /* < 0: no PSI */
	guint64 run, pages_to_scan, sleep_ms, shared, sharing, man;
	const char *advisor_mode; /* NULL: kernel without advisor */
	gboolean deltas;
	guint64 prev_run;
	double ksmd_cpu_s; /* < 0: not measured */
	gint64 merged_delta;
	guint64 full_scans_delta;
	guint64 swpin_copy_delta; /* ksm_swpin_copy since the last tick */
} HostCase;

static KvSnapshot *
make_snapshot(const HostCase *h)
{
	KvSnapshot *s = kv_snapshot_new();
	KvKsm *k = g_new0(KvKsm, 1);

	s->meminfo.mem_total_kib = h->total_kib ? h->total_kib : 16 * GIB_KIB;
	s->meminfo.mem_available_kib = h->avail_kib;
	s->meminfo.swap_total_kib = h->swap_free_kib;
	s->meminfo.swap_free_kib = h->swap_free_kib;
	s->have_psi = h->psi_some >= 0;
	s->psi_some_avg10 = h->psi_some;
	s->psi_full_avg10 = h->psi_full;
	s->have_ksm = TRUE;
	s->ksm = k;
	k->have = (1ull << KV_KSM_RUN) | (1ull << KV_KSM_PAGES_TO_SCAN) | (1ull << KV_KSM_SLEEP_MILLISECS) |
		  (1ull << KV_KSM_PAGES_SHARED) | (1ull << KV_KSM_PAGES_SHARING) |
		  (1ull << KV_KSM_MERGE_ACROSS_NODES);
	k->value[KV_KSM_RUN] = h->run;
	k->value[KV_KSM_PAGES_TO_SCAN] = h->pages_to_scan;
	k->value[KV_KSM_SLEEP_MILLISECS] = h->sleep_ms;
	k->value[KV_KSM_PAGES_SHARED] = h->shared;
	k->value[KV_KSM_PAGES_SHARING] = h->sharing;
	k->value[KV_KSM_MERGE_ACROSS_NODES] = h->man;
	if (h->advisor_mode) {
		k->have |= (1ull << KV_KSM_ADVISOR_MODE) | (1ull << KV_KSM_ADVISOR_MAX_CPU);
		k->advisor_mode = g_strdup(h->advisor_mode);
		k->value[KV_KSM_ADVISOR_MAX_CPU] = 70;
	}
	s->have_deltas = h->deltas;
	s->prev_run = h->prev_run;
	s->have_ksmd_cpu = h->ksmd_cpu_s >= 0;
	s->ksmd_cpu_s = h->ksmd_cpu_s;
	s->merged_delta_pages = h->merged_delta;
	s->have_full_scans = TRUE;
	s->full_scans_delta = h->full_scans_delta;
	s->ksm_swpin_copy_delta = h->swpin_copy_delta;
	return s;
}

static KvGuestSense *
add_guest(KvSnapshot *s, const char *name, guint64 ram_kib, int prio)
{
	KvGuestSense *g = g_new0(KvGuestSense, 1);

	g->name = g_strdup(name);
	g->ram_kib = ram_kib;
	g->priority = prio;
	g->cg_limit_bytes = KV_UNLIMITED;
	g_ptr_array_add(s->guests, g);
	return g;
}

static const KvAction *
find_action(const KvPlan *p, KvActionKind kind, KvKsmKnob knob, const char *guest)
{
	for (guint i = 0; i < p->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(p->actions, i);

		if (a->kind != kind)
			continue;
		if (kind == KV_ACTION_KSM_KNOB && a->knob != knob)
			continue;
		if (guest && g_strcmp0(a->guest, guest) != 0)
			continue;
		return a;
	}
	return NULL;
}

static void
assert_knob(const KvPlan *p, KvKsmKnob knob, guint64 want)
{
	const KvAction *a = find_action(p, KV_ACTION_KSM_KNOB, knob, NULL);

	if (want == NONE) {
		if (a)
			g_error("unexpected write %s=%" G_GUINT64_FORMAT " (%s)", kv_ksm_knob_name(knob),
				a->value, a->reason);
		return;
	}
	if (!a)
		g_error("no write of %s (want %" G_GUINT64_FORMAT ")", kv_ksm_knob_name(knob), want);
	g_assert_cmpuint(a->value, ==, want);
	g_assert_nonnull(a->reason);
	g_assert_cmpstr(a->reason, !=, "");
}

static void
test_ksm_table(void)
{
	static const struct {
		const char *what;
		HostCase h;
		guint64 guest_ram_kib; /* one guest */
		gboolean active_before;
		guint low_gain_before;
		guint64 want_run, want_pages; /* NONE: no write */
		const char *want_decision;
		const char *reason_has;
		gboolean warmup; /* fewer than two full scans since on */
	} cases[] = {
		{ "comfortable host, KSM off: nothing to do",
		  { .avail_kib = 12 * GIB_KIB, .psi_some = 0, .run = 0, .pages_to_scan = 100, .sleep_ms = 20 },
		  4 * GIB_KIB,
		  FALSE,
		  0,
		  NONE,
		  NONE,
		  "off",
		  "comfortable",
		  FALSE },
		{ "comfortable host, KSM on: run=0 keeps merged pages, never run=2",
		  { .avail_kib = 12 * GIB_KIB, .psi_some = 0, .run = 1, .pages_to_scan = 100, .sleep_ms = 20, .sharing = 5000 },
		  4 * GIB_KIB,
		  TRUE,
		  0,
		  0,
		  NONE,
		  "off",
		  "5000 merged pages stay merged",
		  FALSE },
		{ "overcommitted: run=1, start rate",
		  { .avail_kib = 12 * GIB_KIB, .psi_some = 0, .run = 0, .pages_to_scan = 100, .sleep_ms = 20 },
		  20 * GIB_KIB,
		  FALSE,
		  0,
		  1,
		  300,
		  "on",
		  "starting at",
		  FALSE },
		{ "low MemAvailable: on",
		  { .avail_kib = 2 * GIB_KIB, .psi_some = -1, .run = 0, .pages_to_scan = 500, .sleep_ms = 20 },
		  4 * GIB_KIB,
		  FALSE,
		  0,
		  1,
		  NONE,
		  "on",
		  "MemAvailable 12%",
		  FALSE },
		{ "PSI pressure: on",
		  { .avail_kib = 12 * GIB_KIB, .psi_some = 25, .run = 0, .pages_to_scan = 100, .sleep_ms = 20 },
		  0,
		  FALSE,
		  0,
		  1,
		  300,
		  "on",
		  "PSI some 25.0%",
		  FALSE },
		{ "hysteresis: between thresholds stays on",
		  { .avail_kib = 4 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 400,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 0.5,
		    .merged_delta = 5000 },
		  4 * GIB_KIB,
		  TRUE,
		  0,
		  NONE,
		  600,
		  "raise",
		  "10000 pages newly merged",
		  FALSE },
		{ "hysteresis: between thresholds stays off",
		  { .avail_kib = 4 * GIB_KIB, .psi_some = 0, .run = 0, .pages_to_scan = 400, .sleep_ms = 20 },
		  4 * GIB_KIB,
		  FALSE,
		  0,
		  NONE,
		  NONE,
		  "off",
		  "comfortable",
		  FALSE },
		{ "good benefit under pressure: double",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 1000,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 1.0,
		    .merged_delta = 50000 },
		  4 * GIB_KIB,
		  TRUE,
		  0,
		  NONE,
		  2000,
		  "raise",
		  "under pressure",
		  FALSE },
		{ "good benefit: clamp to max",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 3000,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 1.0,
		    .merged_delta = 50000 },
		  4 * GIB_KIB,
		  TRUE,
		  0,
		  NONE,
		  4000,
		  "raise",
		  "",
		  FALSE },
		{ "good benefit at max: no write",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 4000,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 1.0,
		    .merged_delta = 50000 },
		  4 * GIB_KIB,
		  TRUE,
		  0,
		  NONE,
		  NONE,
		  "on",
		  "maximum rate",
		  FALSE },
		{ "low gain, first tick: keep",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 2000,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 2.0,
		    .merged_delta = 100 },
		  4 * GIB_KIB,
		  TRUE,
		  0,
		  NONE,
		  NONE,
		  "on",
		  "1 of 3 ticks",
		  FALSE },
		{ "low gain, third tick: back off by half",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 2000,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 2.0,
		    .merged_delta = 100 },
		  4 * GIB_KIB,
		  TRUE,
		  2,
		  NONE,
		  1000,
		  "back off",
		  "backing off",
		  FALSE },
		{ "nothing merges, ksmd nearly idle: back off to the minimum",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 100,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 0,
		    .merged_delta = 0 },
		  4 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  64,
		  "back off",
		  "0 pages newly merged",
		  FALSE },
		{ "pages unmerged (negative delta) is no gain",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 64,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 0.5,
		    .merged_delta = -4000 },
		  4 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  NONE,
		  "backed off",
		  "backing off",
		  FALSE },
		{ "first pass, nothing merged yet, under pressure: raise, no back off",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 500,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 2.0,
		    .merged_delta = 0 },
		  4 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  1000,
		  "raise",
		  "0 of 2 full scans done",
		  TRUE },
		{ "first pass, overcommitted only: keep the rate",
		  { .avail_kib = 12 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 500,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 2.0,
		    .merged_delta = 0 },
		  20 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  NONE,
		  "on",
		  "the benefit shows from the second pass",
		  TRUE },
		{ "second full scan completes this tick: judged on the benefit",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 500,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 2.0,
		    .merged_delta = 0,
		    .full_scans_delta = 2 },
		  4 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  250,
		  "back off",
		  "backing off",
		  TRUE },
		{ "ksmd was off last tick: no benefit measured yet",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 1000,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 0,
		    .ksmd_cpu_s = 0.0,
		    .merged_delta = 0 },
		  4 * GIB_KIB,
		  TRUE,
		  0,
		  NONE,
		  NONE,
		  "on",
		  "until the benefit can be measured",
		  FALSE },
		{ "backed off, swap-in copied merged pages: re-arm at the start rate",
		  { .avail_kib = 12 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 64,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 0.1,
		    .merged_delta = -20000,
		    .swpin_copy_delta = 60000 },
		  20 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  300,
		  "re-arm",
		  "60000 merged pages were copied at swap-in",
		  FALSE },
		{ "backed off, swap-in copies under pressure: re-arm doubled",
		  { .avail_kib = 2 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 64,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 0.1,
		    .merged_delta = 0,
		    .swpin_copy_delta = 1000 },
		  4 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  600,
		  "re-arm",
		  "doubled under pressure",
		  FALSE },
		{ "scanning fast when copies appear: re-arm never lowers the rate",
		  { .avail_kib = 12 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 2000,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 1.0,
		    .merged_delta = 0,
		    .swpin_copy_delta = 1000 },
		  20 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  NONE,
		  "re-arm",
		  "pages_to_scan 2000",
		  FALSE },
		{ "a few copies (under rearm-swpin-copies): stays backed off",
		  { .avail_kib = 12 * GIB_KIB,
		    .psi_some = 0,
		    .run = 1,
		    .pages_to_scan = 64,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 1,
		    .ksmd_cpu_s = 0.1,
		    .merged_delta = 0,
		    .swpin_copy_delta = 255 },
		  20 * GIB_KIB,
		  TRUE,
		  5,
		  NONE,
		  NONE,
		  "backed off",
		  "backing off",
		  FALSE },
		{ "comfortable host: copies do not turn KSM on",
		  { .avail_kib = 12 * GIB_KIB,
		    .psi_some = 0,
		    .run = 0,
		    .pages_to_scan = 64,
		    .sleep_ms = 20,
		    .deltas = TRUE,
		    .prev_run = 0,
		    .swpin_copy_delta = 60000 },
		  4 * GIB_KIB,
		  FALSE,
		  0,
		  NONE,
		  NONE,
		  "off",
		  "comfortable",
		  FALSE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(KvSnapshot) s = make_snapshot(&cases[i].h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		g_auto(KvConfig) cfg = { 0 };
		const KvSummary *sum;

		g_test_message("case %u: %s", i, cases[i].what);
		kv_config_defaults(&cfg);
		if (cases[i].guest_ram_kib)
			add_guest(s, "g1", cases[i].guest_ram_kib, 0);
		st->ksm_active = cases[i].active_before;
		st->low_gain_ticks = cases[i].low_gain_before;
		st->full_scans_since_on = cases[i].warmup ? 0 : 2;
		kv_policy_ksm(s, &cfg, st, p);
		assert_knob(p, KV_KSM_RUN, cases[i].want_run);
		assert_knob(p, KV_KSM_PAGES_TO_SCAN, cases[i].want_pages);
		/* run=2 is never the KSM policy's decision. */
		for (guint j = 0; j < p->actions->len; j++) {
			const KvAction *a = g_ptr_array_index(p->actions, j);

			g_assert_false(a->knob == KV_KSM_RUN && a->value == 2);
		}
		sum = kv_plan_summary(p, "ksm");
		g_assert_nonnull(sum);
		g_test_message("  -> %s: %s", sum->decision, sum->reason);
		g_assert_cmpstr(sum->decision, ==, cases[i].want_decision);
		g_assert_nonnull(strstr(sum->reason, cases[i].reason_has));
		if (strcmp(cases[i].want_decision, "re-arm") == 0) {
			g_assert_false(st->backed_off);
			g_assert_cmpuint(st->low_gain_ticks, ==, 0);
		}
	}
}

/* rearm-swpin-copies = 0: copies never re-arm. */
static void
test_ksm_rearm_off(void)
{
	HostCase h = { .avail_kib = 12 * GIB_KIB,
		       .psi_some = 0,
		       .run = 1,
		       .pages_to_scan = 64,
		       .sleep_ms = 20,
		       .deltas = TRUE,
		       .prev_run = 1,
		       .ksmd_cpu_s = 0.1,
		       .swpin_copy_delta = 60000 };
	g_autoptr(KvSnapshot) s = make_snapshot(&h);
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_autoptr(KvPlan) p = kv_plan_new();
	g_auto(KvConfig) cfg = { 0 };

	kv_config_defaults(&cfg);
	cfg.rearm_swpin_copies = 0;
	add_guest(s, "g1", 20 * GIB_KIB, 0);
	st->ksm_active = TRUE;
	st->low_gain_ticks = 5;
	st->full_scans_since_on = 2;
	kv_policy_ksm(s, &cfg, st, p);
	assert_knob(p, KV_KSM_PAGES_TO_SCAN, NONE);
	g_assert_cmpstr(kv_plan_summary(p, "ksm")->decision, ==, "backed off");
}

static void
test_ksm_advisor(void)
{
	static const struct {
		KvAdvisorUse use;
		const char *mode_before;
		double cpu_s;
		const char *want_mode; /* NULL: no advisor_mode write */
		gboolean want_pages_write;
	} cases[] = {
		{ KV_ADVISOR_SCAN_TIME, "none", 1.0, "scan-time", FALSE },
		{ KV_ADVISOR_SCAN_TIME, "scan-time", 1.0, NULL, FALSE },
		{ KV_ADVISOR_AUTO, "none", -1, "scan-time", FALSE },
		{ KV_ADVISOR_AUTO, "scan-time", 1.0, "none", TRUE },
		{ KV_ADVISOR_OFF, "scan-time", 1.0, "none", TRUE },
		{ KV_ADVISOR_OFF, "none", 1.0, NULL, TRUE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = GIB_KIB,
			       .psi_some = 0,
			       .run = 1,
			       .pages_to_scan = 100,
			       .sleep_ms = 20,
			       .advisor_mode = cases[i].mode_before,
			       .deltas = TRUE,
			       .prev_run = 1,
			       .ksmd_cpu_s = cases[i].cpu_s,
			       .merged_delta = 100000 };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		const KvAction *a;
		g_auto(KvConfig) cfg = { 0 };

		g_test_message("advisor case %u", i);
		kv_config_defaults(&cfg);
		cfg.advisor = cases[i].use;
		kv_policy_ksm(s, &cfg, st, p);
		a = find_action(p, KV_ACTION_KSM_KNOB, KV_KSM_ADVISOR_MODE, NULL);
		if (cases[i].want_mode) {
			g_assert_nonnull(a);
			g_assert_cmpstr(a->value_str, ==, cases[i].want_mode);
		} else {
			g_assert_null(a);
		}
		g_assert_cmpint(find_action(p, KV_ACTION_KSM_KNOB, KV_KSM_PAGES_TO_SCAN, NULL) != NULL, ==,
				cases[i].want_pages_write);
	}
}

static void
test_ksm_sequence(void)
{
	/* Pressure, merging pays, then nothing more merges: raise, then back off. */
	static const struct {
		gint64 merged;
		double cpu_s;
		guint64 want_pages;
	} steps[] = {
		{ 0, 0, 300 }, /* first tick: no deltas -> start */
		{ 20000, 0.5, 600 }, { 40000, 1.0, 1200 }, { 30000, 2.0, 2400 },
		{ 10, 3.0, 2400 },   { 0, 3.0, 2400 },     { 0, 3.0, 1200 }, /* third low-gain tick */
		{ 0, 1.5, 600 },     { 0, 0.7, 300 },      { 0, 0.3, 150 },
		{ 0, 0.1, 75 },      { 0, 0.0, 64 },       { 0, 0.0, 64 },
	};
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	guint64 pages = 100, run = 0;
	g_auto(KvConfig) cfg = { 0 };

	kv_config_defaults(&cfg);
	for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
		HostCase h = { .avail_kib = GIB_KIB,
			       .psi_some = 30,
			       .run = run,
			       .pages_to_scan = pages,
			       .sleep_ms = 20,
			       .deltas = i > 0,
			       .prev_run = run,
			       .ksmd_cpu_s = steps[i].cpu_s,
			       .merged_delta = steps[i].merged,
			       .full_scans_delta = 1 };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPlan) p = kv_policy_decide(s, &cfg, st);

		for (guint j = 0; j < p->actions->len; j++) {
			const KvAction *a = g_ptr_array_index(p->actions, j);

			if (a->knob == KV_KSM_PAGES_TO_SCAN)
				pages = a->value;
			if (a->knob == KV_KSM_RUN)
				run = a->value;
		}
		g_test_message("step %u: pages %" G_GUINT64_FORMAT " (%s)", i, pages,
			       kv_plan_summary(p, "ksm")->reason);
		g_assert_cmpuint(run, ==, 1);
		g_assert_cmpuint(pages, ==, steps[i].want_pages);
	}
	g_assert_true(st->backed_off);
}

static void
test_ksm_blocked(void)
{
	HostCase h = { .avail_kib = GIB_KIB, .psi_some = 30, .run = 0, .pages_to_scan = 100, .sleep_ms = 20 };
	g_autoptr(KvSnapshot) s = make_snapshot(&h);
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_auto(KvConfig) cfg = { 0 };

	kv_config_defaults(&cfg);
	{
		g_autoptr(KvPlan) p = kv_policy_decide(s, &cfg, st);
		KvAction *a = (KvAction *)find_action(p, KV_ACTION_KSM_KNOB, KV_KSM_RUN, NULL);

		g_assert_nonnull(a);
		a->result = KV_RESULT_PERMANENT;
		a->errnum = EROFS;
		a->error = g_strdup("run: Read-only file system");
		kv_policy_learn(p, &cfg, st);
	}
	{
		g_autoptr(KvPlan) p = kv_policy_decide(s, &cfg, st);

		g_assert_cmpuint(p->actions->len, ==, 0);
		g_assert_cmpstr(kv_plan_summary(p, "ksm")->decision, ==, "blocked");
		g_assert_nonnull(strstr(kv_plan_summary(p, "ksm")->reason, "Read-only"));
	}
}

static void
test_unmerge_fits(void)
{
	static const struct {
		guint64 avail_kib, sharing, reserve_mib;
		gboolean want;
	} cases[] = {
		{ 4 * GIB_KIB, 0, 1024, TRUE },
		{ 4 * GIB_KIB, 262144, 1024, TRUE }, /* 1 GiB back, 3 GiB room */
		{ 4 * GIB_KIB, 786432, 1024, TRUE }, /* 3 GiB back, 3 GiB room */
		{ 4 * GIB_KIB, 786433, 1024, FALSE },
		{ 512 * 1024, 1, 1024, FALSE }, /* no room at all */
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = cases[i].avail_kib, .sharing = cases[i].sharing, .psi_some = -1 };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_auto(KvConfig) cfg = { 0 };

		kv_config_defaults(&cfg);
		cfg.unmerge_reserve_mib = cases[i].reserve_mib;
		g_assert_cmpint(kv_policy_unmerge_fits(s, &cfg, NULL, NULL), ==, cases[i].want);
	}
}

static void
test_numa_table(void)
{
	static const struct {
		const char *what;
		int want_mode;
		guint64 mode, run, shared, sharing, avail_kib;
		gboolean unmerging, busy;
		guint64 want_run, want_mode_write;
		const char *decision;
	} cases[] = {
		{ "not configured", -1, 1, 1, 10, 10, GIB_KIB, FALSE, FALSE, NONE, NONE, "keep" },
		{ "already there", 0, 0, 1, 10, 10, GIB_KIB, FALSE, FALSE, NONE, NONE, "keep" },
		{ "nothing merged: write now", 0, 1, 1, 0, 0, GIB_KIB, FALSE, FALSE, NONE, 0, "change" },
		{ "merged, fits: run=2 first", 0, 1, 1, 100, 1000, 4 * GIB_KIB, FALSE, FALSE, 2, NONE, "unmerge" },
		{ "merged, does not fit: refuse", 0, 1, 1, 100, 1000000, 4 * GIB_KIB, FALSE, FALSE, NONE,
		  NONE, "refuse" },
		{ "unmerge still running", 0, 1, 2, 50, 500, 4 * GIB_KIB, TRUE, FALSE, NONE, NONE, "wait" },
		{ "unmerge finished: write", 0, 1, 2, 0, 0, 4 * GIB_KIB, TRUE, FALSE, NONE, 0, "change" },
		{ "changed: restore run", 0, 0, 2, 0, 0, 4 * GIB_KIB, TRUE, FALSE, 1, NONE, "done" },
		{ "EBUSY earlier: wait", 0, 1, 1, 0, 0, 4 * GIB_KIB, FALSE, TRUE, NONE, NONE, "wait" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = cases[i].avail_kib,
			       .run = cases[i].run,
			       .shared = cases[i].shared,
			       .sharing = cases[i].sharing,
			       .man = cases[i].mode,
			       .psi_some = -1 };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		g_auto(KvConfig) cfg = { 0 };

		g_test_message("numa case %u: %s", i, cases[i].what);
		kv_config_defaults(&cfg);
		cfg.merge_across_nodes = cases[i].want_mode;
		st->tick = 10;
		st->numa_unmerging = cases[i].unmerging;
		st->numa_restore_run = 1;
		if (cases[i].busy)
			st->numa_busy_until_tick = 20;
		kv_policy_numa(s, &cfg, st, p);
		assert_knob(p, KV_KSM_RUN, cases[i].want_run);
		assert_knob(p, KV_KSM_MERGE_ACROSS_NODES, cases[i].want_mode_write);
		g_test_message("  -> %s", kv_plan_summary(p, "numa")->reason);
		g_assert_cmpstr(kv_plan_summary(p, "numa")->decision, ==, cases[i].decision);
	}
}

static void
test_numa_nodes(void)
{
	static const struct {
		KvNodeSense nodes[3];
		guint n;
		const char *want; /* in the reason; NULL: no node text */
	} cases[] = {
		{ { { 0, 1000, 500 } }, 1, NULL },
		{ { { 0, 1000, 500 }, { 2, 1000, 40 } }, 2, "; node 2 under pressure: 4% free (< 5%)" },
		{ { { 0, 1000, 500 }, { 2, 1000, 100 } }, 2, "node 2 is the tightest: 10% free)" },
		{ { { 1, 1000, 300 }, { 4, 1000, 900 } }, 2, "node 1 is the tightest: 30% free)" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = GIB_KIB, .psi_some = -1 };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		g_auto(KvConfig) cfg = { 0 };
		const char *reason;

		kv_config_defaults(&cfg);
		g_array_append_vals(s->nodes, cases[i].nodes, cases[i].n);
		s->n_numa_nodes = cases[i].n;
		kv_policy_numa(s, &cfg, st, p);
		reason = kv_plan_summary(p, "numa")->reason;
		g_test_message("%s", reason);
		if (cases[i].want)
			g_assert_nonnull(strstr(reason, cases[i].want));
		else
			g_assert_null(strstr(reason, "tightest") ? reason : strstr(reason, "under pressure"));
		g_assert_cmpstr(kv_plan_summary(p, "numa")->decision, ==,
				strstr(reason, "under pressure") ? "node pressure" : "keep");
	}
}

/* A node enters under node-free-low-percent and leaves only at
 * node-free-high-percent; one node alone is never "under pressure". */
static void
test_node_pressure_hysteresis(void)
{
	static const struct {
		guint n_nodes;
		guint free_permille[8]; /* node 3's MemFree per tick, of 1000 */
		gboolean want[8];
	} cases[] = {
		{ 2, { 200, 60, 40, 60, 90, 99, 100, 200 }, { 0, 0, 1, 1, 1, 1, 0, 0 } },
		{ 2, { 49, 101, 49, 51, 49, 500, 0, 0 }, { 1, 0, 1, 1, 1, 0, 1, 1 } },
		{ 1, { 0, 10, 40, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0, 0, 0 } },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_auto(KvConfig) cfg = { 0 };

		kv_config_defaults(&cfg); /* low 5%, high 10% */
		for (guint t = 0; t < 8; t++) {
			HostCase h = { .avail_kib = 12 * GIB_KIB, .psi_some = -1 };
			g_autoptr(KvSnapshot) s = make_snapshot(&h);
			KvNodeSense n0 = { 0, 1000, 900 }, n3 = { 3, 1000, cases[i].free_permille[t] };

			if (cases[i].n_nodes == 2)
				g_array_append_val(s->nodes, n0);
			g_array_append_val(s->nodes, n3);
			kv_policy_node_pressure(s, &cfg, st);
			g_assert_cmpint(kv_policy_node_pressed(st, 3), ==, cases[i].want[t]);
			g_assert_false(kv_policy_node_pressed(st, 0));
		}
	}
}

/* A host with nodes 0 and 3 (ids need not be contiguous): node 0 at 900
 * of 1000 free, node 3 at node3_free of 1000. */
static void
add_two_nodes(KvSnapshot *s, guint node3_free)
{
	KvNodeSense n0 = { 0, 1000, 900 }, n3 = { 3, 1000, node3_free };

	g_array_append_val(s->nodes, n0);
	g_array_append_val(s->nodes, n3);
	s->n_numa_nodes = 2;
}

static KvGuestSense *
add_node_guest(KvSnapshot *s, const char *name, int prio, guint64 node0_mib, guint64 node3_mib,
	       guint64 actual_mib, guint64 floor_mib)
{
	KvGuestSense *g = add_guest(s, name, 2048 * 1024, prio);
	KvGuestNodeKib a = { 0, node0_mib * 1024 }, b = { 3, node3_mib * 1024 };

	g->node_kib = g_array_new(FALSE, TRUE, sizeof(KvGuestNodeKib));
	g_array_append_val(g->node_kib, a);
	g_array_append_val(g->node_kib, b);
	g->has_balloon = g->has_balloon_driver = TRUE;
	g->balloon_max_kib = 2048 * 1024;
	g->balloon_actual_kib = actual_mib * 1024;
	g->balloon_unused_kib = actual_mib * 1024 / 2;
	g->balloon_floor_kib = floor_mib * 1024;
	g->floor_source = floor_mib ? "policy" : NULL;
	return g;
}

/* Node 3 under pressure, the host comfortable overall: the balloons of
 * guests living on node 3 shrink, lowest priority first, the one with the
 * most there first; guests elsewhere are left alone, and none grows onto
 * node 3. */
static void
test_node_balloon_table(void)
{
	static const struct {
		const char *what;
		guint node3_free; /* of 1000 */
		guint per_tick;
		struct {
			const char *name;
			int prio;
			guint64 n0, n3, actual, floor;
		} g[4];
		guint64 want_mib[4]; /* NONE: no change */
		const char *decision;
	} cases[] = {
		{ "node 3 under pressure: its guests of the lowest priority shrink",
		  30,
		  4,
		  { { "a", 0, 1000, 0, 2048, 0 },
		    { "b", 0, 0, 1000, 2048, 0 },
		    { "c", 0, 500, 500, 2048, 0 },
		    { "d", 5, 0, 1000, 2048, 0 } },
		  { NONE, 1945, 1945, NONE },
		  "shrink" },
		{ "one per tick: the most memory on node 3 first",
		  30,
		  1,
		  { { "b", 0, 100, 300, 2048, 0 }, { "c", 0, 0, 900, 2048, 0 } },
		  { NONE, 1945, NONE, NONE },
		  "shrink" },
		{ "less than a quarter on node 3: not a candidate",
		  30,
		  4,
		  { { "a", 0, 900, 100, 2048, 0 }, { "b", 0, 0, 1000, 2048, 0 } },
		  { NONE, 1945, NONE, NONE },
		  "shrink" },
		{ "node guests at their floors: the others grow, not onto node 3",
		  30,
		  4,
		  { { "a", 0, 1000, 0, 1024, 0 }, { "b", 0, 0, 1000, 1024, 1024 } },
		  { 1126, NONE, NONE, NONE },
		  "grow" },
		{ "no node pressure: everyone grows",
		  500,
		  4,
		  { { "a", 0, 1000, 0, 1024, 0 }, { "b", 0, 0, 1000, 1024, 1024 } },
		  { 1126, 1126, NONE, NONE },
		  "grow" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = 12 * GIB_KIB, .psi_some = -1 };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		g_auto(KvConfig) cfg = { 0 };

		g_test_message("node balloon case %u: %s", i, cases[i].what);
		kv_config_defaults(&cfg);
		cfg.balloon_guests_per_tick = cases[i].per_tick;
		add_two_nodes(s, cases[i].node3_free);
		st->tick = 10;
		for (guint j = 0; j < 4 && cases[i].g[j].name; j++)
			add_node_guest(s, cases[i].g[j].name, cases[i].g[j].prio, cases[i].g[j].n0,
				       cases[i].g[j].n3, cases[i].g[j].actual, cases[i].g[j].floor);
		kv_policy_numa(s, &cfg, st, p);
		kv_policy_balloon(s, &cfg, st, p);
		g_test_message("  -> %s", kv_plan_summary(p, "balloon")->reason);
		for (guint j = 0; j < 4 && cases[i].g[j].name; j++) {
			const KvAction *a = find_action(p, KV_ACTION_BALLOON, 0, cases[i].g[j].name);

			if (cases[i].want_mib[j] == NONE) {
				g_assert_null(a);
				continue;
			}
			g_assert_nonnull(a);
			g_assert_cmpuint(a->value / 1024, ==, cases[i].want_mib[j]);
			if (a->value < a->old_value)
				g_assert_nonnull(strstr(a->reason, "MiB of it on the node under pressure"));
		}
		g_assert_cmpstr(kv_plan_summary(p, "balloon")->decision, ==, cases[i].decision);
		if (cases[i].node3_free < 50)
			g_assert_nonnull(
				strstr(kv_plan_summary(p, "numa")->reason, "node 3 under pressure: 3% free"));
	}
}

/* Node pressure turns KSM on even when the host is comfortable; the rate
 * doubles (as under host pressure) only with merge_across_nodes=0, where
 * every merge frees memory within its node. */
static void
test_node_ksm(void)
{
	static const struct {
		guint node3_free;
		guint64 man, run;
		guint64 want_run, want_pages; /* NONE: no write */
		const char *decision;
	} cases[] = {
		{ 30, 0, 1, NONE, 800, "raise" },
		{ 30, 1, 1, NONE, 600, "raise" },
		{ 30, 0, 0, 1, NONE, "on" },
		{ 500, 0, 1, 0, NONE, "off" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = 12 * GIB_KIB,
			       .psi_some = -1,
			       .run = cases[i].run,
			       .pages_to_scan = 400,
			       .sleep_ms = 20,
			       .man = cases[i].man,
			       .deltas = TRUE,
			       .prev_run = cases[i].run,
			       .ksmd_cpu_s = 1.0,
			       .merged_delta = 100000 };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = NULL;
		g_auto(KvConfig) cfg = { 0 };

		kv_config_defaults(&cfg);
		add_two_nodes(s, cases[i].node3_free);
		st->ksm_active = TRUE;
		st->full_scans_since_on = 5;
		p = kv_policy_decide(s, &cfg, st);
		g_test_message("node ksm case %u: %s", i, kv_plan_summary(p, "ksm")->reason);
		assert_knob(p, KV_KSM_RUN, cases[i].want_run);
		assert_knob(p, KV_KSM_PAGES_TO_SCAN, cases[i].want_pages);
		g_assert_cmpstr(kv_plan_summary(p, "ksm")->decision, ==, cases[i].decision);
		if (cases[i].node3_free < 50)
			g_assert_nonnull(strstr(kv_plan_summary(p, "ksm")->reason, "node 3 under pressure"));
	}
}

static void
test_numa_ebusy_learn(void)
{
	HostCase h = { .avail_kib = 4 * GIB_KIB, .run = 1, .man = 1, .psi_some = -1 };
	g_autoptr(KvSnapshot) s = make_snapshot(&h);
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_auto(KvConfig) cfg = { 0 };

	kv_config_defaults(&cfg);
	cfg.merge_across_nodes = 0;
	{
		g_autoptr(KvPlan) p = kv_policy_decide(s, &cfg, st);
		KvAction *a = (KvAction *)find_action(p, KV_ACTION_KSM_KNOB, KV_KSM_MERGE_ACROSS_NODES, NULL);

		g_assert_nonnull(a);
		a->result = KV_RESULT_TRANSIENT;
		a->errnum = EBUSY;
		kv_policy_learn(p, &cfg, st);
	}
	for (guint i = 0; i < cfg.swap_busy_ticks - 1; i++) {
		g_autoptr(KvPlan) p = kv_policy_decide(s, &cfg, st);

		g_assert_null(find_action(p, KV_ACTION_KSM_KNOB, KV_KSM_MERGE_ACROSS_NODES, NULL));
		g_assert_cmpstr(kv_plan_summary(p, "numa")->decision, ==, "wait");
	}
	{
		g_autoptr(KvPlan) p = kv_policy_decide(s, &cfg, st);

		g_assert_nonnull(find_action(p, KV_ACTION_KSM_KNOB, KV_KSM_MERGE_ACROSS_NODES, NULL));
	}
}

typedef struct {
	const char *name;
	int prio;
	gboolean driver;
	guint64 max_mib, actual_mib, unused_mib, floor_mib;
	guint64 changed_tick;
} BalloonGuest;

static void
test_balloon_table(void)
{
	static const struct {
		const char *what;
		guint64 avail_kib;
		double psi;
		BalloonGuest g[3];
		guint64 want_mib[3]; /* NONE: no change */
		const char *decision;
	} cases[] = {
		{ "pressure: lowest priority shrinks by 5% of max",
		  GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 2048, 1500, 0, 0 }, { "b", 5, TRUE, 2048, 2048, 1500, 0, 0 } },
		  { 1945, NONE, NONE },
		  "shrink" },
		{ "pressure: guest without driver untouched",
		  GIB_KIB,
		  0,
		  { { "a", 0, FALSE, 2048, 2048, 0, 0, 0 }, { "b", 5, TRUE, 2048, 2048, 1500, 0, 0 } },
		  { NONE, 1945, NONE },
		  "shrink" },
		{ "pressure: floor from policy",
		  GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 1100, 1000, 1024, 0 } },
		  { 1024, NONE, NONE },
		  "shrink" },
		{ "pressure: keep 20% of actual free in the guest",
		  GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 2048, 450, 0, 0 } },
		  { 2007, NONE, NONE },
		  "shrink" },
		{ "pressure: at floor, the next priority gives",
		  GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 1024, 900, 1024, 0 },
		    { "b", 3, TRUE, 4096, 4096, 3000, 0, 0 },
		    { "c", 3, TRUE, 4096, 4096, 3000, 0, 0 } },
		  { NONE, 3891, 3891 },
		  "shrink" },
		{ "pressure: rate limited",
		  GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 2048, 1500, 0, 9 } },
		  { NONE, NONE, NONE },
		  "hold" },
		{ "PSI pressure shrinks too",
		  12 * GIB_KIB,
		  30,
		  { { "a", 0, TRUE, 2048, 2048, 1500, 0, 0 } },
		  { 1945, NONE, NONE },
		  "shrink" },
		{ "between thresholds: hold",
		  4 * GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 1024, 100, 0, 0 } },
		  { NONE, NONE, NONE },
		  "hold" },
		{ "comfortable: grow, highest priority first, capped at max",
		  12 * GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 1024, 100, 0, 0 }, { "b", 5, TRUE, 2048, 2000, 100, 0, 0 } },
		  { 1126, 2048, NONE },
		  "grow" },
		{ "comfortable, guests with enough free memory: memory goes back too",
		  12 * GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 1024, 500, 0, 0 } },
		  { 1126, NONE, NONE },
		  "grow" },
		{ "comfortable: a guest short of memory before a higher priority",
		  12 * GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 1024, 100, 0, 0 }, { "b", 5, TRUE, 2048, 1024, 900, 0, 0 } },
		  { 1126, 1126, NONE },
		  "grow" },
		{ "comfortable: rate limited, at max: hold",
		  12 * GIB_KIB,
		  0,
		  { { "a", 0, TRUE, 2048, 1024, 100, 0, 9 }, { "b", 5, TRUE, 2048, 2048, 900, 0, 0 } },
		  { NONE, NONE, NONE },
		  "hold" },
		{ "no drivers at all", GIB_KIB, 0, { { "a", 0, FALSE, 2048, 2048, 0, 0, 0 } }, { NONE, NONE, NONE }, "none" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = cases[i].avail_kib, .psi_some = cases[i].psi };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		g_auto(KvConfig) cfg = { 0 };

		g_test_message("balloon case %u: %s", i, cases[i].what);
		kv_config_defaults(&cfg);
		st->tick = 10;
		for (guint j = 0; j < 3 && cases[i].g[j].name; j++) {
			const BalloonGuest *b = &cases[i].g[j];
			KvGuestSense *g = add_guest(s, b->name, b->max_mib * 1024, b->prio);

			g->has_balloon = TRUE;
			g->has_balloon_driver = b->driver;
			g->balloon_max_kib = b->max_mib * 1024;
			g->balloon_actual_kib = b->actual_mib * 1024;
			g->balloon_unused_kib = b->unused_mib * 1024;
			g->balloon_floor_kib = b->floor_mib * 1024;
			g->floor_source = b->floor_mib ? "policy" : NULL;
			kv_policy_state_guest(st, b->name)->balloon_changed_tick = b->changed_tick;
		}
		kv_policy_balloon(s, &cfg, st, p);
		g_test_message("  -> %s", kv_plan_summary(p, "balloon")->reason);
		for (guint j = 0; j < 3 && cases[i].g[j].name; j++) {
			const KvAction *a = find_action(p, KV_ACTION_BALLOON, 0, cases[i].g[j].name);

			if (cases[i].want_mib[j] == NONE) {
				g_assert_null(a);
				continue;
			}
			g_assert_nonnull(a);
			g_assert_cmpuint(a->value / 1024, ==, cases[i].want_mib[j]);
			g_assert_cmpuint(a->value, >=, cases[i].g[j].floor_mib * 1024);
			g_assert_cmpuint(a->value, <=, cases[i].g[j].max_mib * 1024);
		}
		g_assert_cmpstr(kv_plan_summary(p, "balloon")->decision, ==, cases[i].decision);
	}
}

static void
test_swap_table(void)
{
	static const struct {
		const char *what;
		double psi_full;
		guint64 swap_free_kib;
		KvCgroupVersion ver;
		guint64 ram_mib, usage_mib, limit_mib; /* limit NONE: unlimited */
		guint64 busy_until, original_mib;
		guint64 want_mib; /* NONE: no write; 0: unlimited */
		const char *decision;
	} cases[] = {
		{ "stalls: v1 limit below usage by 5% of RAM", 20, GIB_KIB, KV_CGROUP_V1, 2048, 2000, NONE, 0,
		  0, 1897, "limit" },
		{ "stalls: v2 memory.high", 20, GIB_KIB, KV_CGROUP_V2, 2048, 2000, NONE, 0, 0, 1897, "limit" },
		{ "stalls: floor at 50% of RAM", 20, GIB_KIB, KV_CGROUP_V1, 2048, 2000, 1050, 0, 0, 1024, "limit" },
		{ "stalls: at floor, nothing", 20, GIB_KIB, KV_CGROUP_V1, 2048, 2000, 1024, 0, 0, NONE, "hold" },
		{ "stalls: no swap", 20, 0, KV_CGROUP_V1, 2048, 2000, NONE, 0, 0, NONE, "hold" },
		{ "stalls: EBUSY earlier, wait", 20, GIB_KIB, KV_CGROUP_V1, 2048, 2000, NONE, 15, 0, NONE, "hold" },
		{ "no cgroup", 20, GIB_KIB, KV_CGROUP_NONE, 2048, 2000, NONE, 0, 0, NONE, "none" },
		{ "between thresholds", 5, GIB_KIB, KV_CGROUP_V1, 2048, 1500, 1500, 0, 1600, NONE, "hold" },
		{ "calm: raise toward original", 0, GIB_KIB, KV_CGROUP_V1, 2048, 1500, 1500, 0, 1800, 1602,
		  "relax" },
		{ "calm: back to unlimited", 0, GIB_KIB, KV_CGROUP_V1, 2048, 1500, 1990, 0, NONE, 0, "relax" },
		{ "calm: never lowered, keep", 0, GIB_KIB, KV_CGROUP_V1, 2048, 1500, NONE, 0, 0, NONE, "keep" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = 8 * GIB_KIB,
			       .psi_some = 30,
			       .psi_full = cases[i].psi_full,
			       .swap_free_kib = cases[i].swap_free_kib };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		KvGuestSense *g = add_guest(s, "g", cases[i].ram_mib * 1024, 0);
		KvGuestPolicyState *gs = kv_policy_state_guest(st, "g");
		const KvAction *a;
		g_auto(KvConfig) cfg = { 0 };

		g_test_message("swap case %u: %s", i, cases[i].what);
		kv_config_defaults(&cfg);
		st->tick = 10;
		g->cg_version = cases[i].ver;
		g->cg_dir = cases[i].ver ? g_strdup("/sys/fs/cgroup/memory/machine/qemu-1-g.libvirt-qemu") : NULL;
		g->cg_usage_bytes = cases[i].usage_mib << 20;
		g->cg_limit_bytes = cases[i].limit_mib == NONE ? KV_UNLIMITED : cases[i].limit_mib << 20;
		gs->cg_busy_until_tick = cases[i].busy_until;
		gs->cg_original_limit_bytes = cases[i].original_mib == NONE ? KV_UNLIMITED
									    : cases[i].original_mib << 20;
		kv_policy_swap(s, &cfg, st, p);
		g_test_message("  -> %s", kv_plan_summary(p, "swap")->reason);
		a = find_action(p, KV_ACTION_CGROUP_LIMIT, 0, "g");
		if (cases[i].want_mib == NONE) {
			g_assert_null(a);
		} else {
			g_assert_nonnull(a);
			if (cases[i].want_mib == 0)
				g_assert_cmpuint(a->value, ==, KV_UNLIMITED);
			else
				g_assert_cmpuint(a->value >> 20, ==, cases[i].want_mib);
			g_assert_nonnull(strstr(a->cg_file, cases[i].ver == KV_CGROUP_V2
								    ? "memory.high"
								    : "memory.limit_in_bytes"));
		}
		g_assert_cmpstr(kv_plan_summary(p, "swap")->decision, ==, cases[i].decision);
	}
}

/* Memory stalls with node 3 under pressure: among guests of the same
 * priority, the one with the most memory on node 3 is limited first;
 * priority still comes before the node. */
static void
test_node_swap(void)
{
	static const struct {
		const char *what;
		guint per_tick;
		struct {
			const char *name;
			int prio;
			guint64 n0, n3;
		} g[3];
		gboolean want[3];
		const char *first_reason_has; /* in the first limited guest's reason */
	} cases[] = {
		{ "same priority, one per tick: the guest on node 3",
		  1,
		  { { "a", 0, 1000, 0 }, { "b", 0, 100, 900 }, { "c", 0, 600, 400 } },
		  { FALSE, TRUE, FALSE },
		  "900 MiB of it on the node under pressure" },
		{ "same priority, two per tick: node 3 order",
		  2,
		  { { "a", 0, 1000, 0 }, { "b", 0, 100, 900 }, { "c", 0, 600, 400 } },
		  { FALSE, TRUE, TRUE },
		  "900 MiB" },
		{ "priority first: the low-priority guest off node 3 swaps",
		  1,
		  { { "a", -1, 1000, 0 }, { "b", 0, 0, 1000 }, { NULL, 0, 0, 0 } },
		  { TRUE, FALSE, FALSE },
		  "priority -1 swaps first" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = 8 * GIB_KIB, .psi_some = 30, .psi_full = 20, .swap_free_kib = GIB_KIB };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		gboolean first = TRUE;
		g_auto(KvConfig) cfg = { 0 };

		g_test_message("node swap case %u: %s", i, cases[i].what);
		kv_config_defaults(&cfg);
		cfg.swap_guests_per_tick = cases[i].per_tick;
		add_two_nodes(s, 30);
		st->tick = 10;
		for (guint j = 0; j < 3 && cases[i].g[j].name; j++) {
			KvGuestSense *g = add_node_guest(s, cases[i].g[j].name, cases[i].g[j].prio,
							 cases[i].g[j].n0, cases[i].g[j].n3, 2048, 0);

			g->cg_version = KV_CGROUP_V2;
			g->cg_dir = g_strdup_printf("/sys/fs/cgroup/machine.slice/%s", cases[i].g[j].name);
			g->cg_usage_bytes = 2000ull << 20;
			g->cg_limit_bytes = KV_UNLIMITED;
		}
		kv_policy_numa(s, &cfg, st, p);
		kv_policy_swap(s, &cfg, st, p);
		g_test_message("  -> %s", kv_plan_summary(p, "swap")->reason);
		for (guint j = 0; j < 3 && cases[i].g[j].name; j++) {
			const KvAction *a = find_action(p, KV_ACTION_CGROUP_LIMIT, 0, cases[i].g[j].name);

			g_assert_cmpint(a != NULL, ==, cases[i].want[j]);
		}
		for (guint j = 0; j < p->actions->len; j++) {
			const KvAction *a = g_ptr_array_index(p->actions, j);

			if (a->kind != KV_ACTION_CGROUP_LIMIT)
				continue;
			if (first)
				g_assert_nonnull(strstr(a->reason, cases[i].first_reason_has));
			first = FALSE;
		}
		g_assert_false(first);
	}
}

static void
test_swap_ebusy_learn(void)
{
	HostCase h = { .avail_kib = 8 * GIB_KIB, .psi_some = 30, .psi_full = 20, .swap_free_kib = GIB_KIB };
	g_autoptr(KvSnapshot) s = make_snapshot(&h);
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	KvGuestSense *g = add_guest(s, "g", 2 * GIB_KIB, 0);
	g_auto(KvConfig) cfg = { 0 };
	guint writes = 0;

	kv_config_defaults(&cfg);
	g->cg_version = KV_CGROUP_V1;
	g->cg_dir = g_strdup("/x");
	g->cg_usage_bytes = 2000ull << 20;
	g->cg_limit_bytes = KV_UNLIMITED;
	/* The write fails with EBUSY each time: it is tried once per wait. */
	for (guint i = 0; i < 2 * cfg.swap_busy_ticks; i++) {
		g_autoptr(KvPlan) p = kv_policy_decide(s, &cfg, st);
		KvAction *a = (KvAction *)find_action(p, KV_ACTION_CGROUP_LIMIT, 0, "g");

		if (a) {
			writes++;
			a->result = KV_RESULT_TRANSIENT;
			a->errnum = EBUSY;
		}
		kv_policy_learn(p, &cfg, st);
	}
	g_assert_cmpuint(writes, ==, 2);
}

static void
test_guests_per_tick(void)
{
	HostCase h = { .avail_kib = GIB_KIB, .psi_some = 30, .psi_full = 20, .swap_free_kib = GIB_KIB };
	g_autoptr(KvSnapshot) s = make_snapshot(&h);
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_autoptr(KvPlan) p = kv_plan_new();
	guint swaps = 0, balloons = 0;
	g_auto(KvConfig) cfg = { 0 };

	kv_config_defaults(&cfg);
	for (guint i = 0; i < 10; i++) {
		g_autofree char *name = g_strdup_printf("g%u", i);
		KvGuestSense *g = add_guest(s, name, 2 * GIB_KIB, 0);

		g->cg_version = KV_CGROUP_V2;
		g->cg_dir = g_strdup("/x");
		g->cg_usage_bytes = 2000ull << 20;
		g->has_balloon = g->has_balloon_driver = TRUE;
		g->balloon_max_kib = g->balloon_actual_kib = 2 * GIB_KIB;
		g->balloon_unused_kib = GIB_KIB;
	}
	kv_policy_balloon(s, &cfg, st, p);
	kv_policy_swap(s, &cfg, st, p);
	for (guint i = 0; i < p->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(p->actions, i);

		swaps += a->kind == KV_ACTION_CGROUP_LIMIT;
		balloons += a->kind == KV_ACTION_BALLOON;
	}
	g_assert_cmpuint(swaps, ==, cfg.swap_guests_per_tick);
	g_assert_cmpuint(balloons, ==, cfg.balloon_guests_per_tick);
}

static void
test_condition(void)
{
	static const struct {
		guint64 avail_kib, guest_kib;
		double psi;
		gboolean over, low, psi_p, comfy;
	} cases[] = {
		{ 12 * GIB_KIB, 4 * GIB_KIB, 0, FALSE, FALSE, FALSE, TRUE },
		{ 12 * GIB_KIB, 17 * GIB_KIB, 0, TRUE, FALSE, FALSE, FALSE },
		{ 3 * GIB_KIB, 0, 0, FALSE, TRUE, FALSE, FALSE },
		{ 12 * GIB_KIB, 0, 10, FALSE, FALSE, TRUE, FALSE },
		{ 12 * GIB_KIB, 0, 5, FALSE, FALSE, FALSE, FALSE }, /* hysteresis band */
		{ 4 * GIB_KIB, 0, 0, FALSE, FALSE, FALSE, FALSE },  /* 25%: band */
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = cases[i].avail_kib, .psi_some = cases[i].psi };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		KvHostCondition c;
		g_auto(KvConfig) cfg = { 0 };

		kv_config_defaults(&cfg);
		if (cases[i].guest_kib)
			add_guest(s, "g", cases[i].guest_kib, 0);
		kv_policy_condition(s, &cfg, &c);
		g_assert_cmpint(c.overcommitted, ==, cases[i].over);
		g_assert_cmpint(c.low_memory, ==, cases[i].low);
		g_assert_cmpint(c.psi_pressure, ==, cases[i].psi_p);
		g_assert_cmpint(c.comfortable, ==, cases[i].comfy);
	}
}

static void
test_describe(void)
{
	HostCase h = { .avail_kib = GIB_KIB, .psi_some = 30, .run = 0, .pages_to_scan = 100, .sleep_ms = 20 };
	g_autoptr(KvSnapshot) s = make_snapshot(&h);
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_autoptr(KvPlan) p = NULL;
	g_auto(KvConfig) cfg = { 0 };

	kv_config_defaults(&cfg);
	p = kv_policy_decide(s, &cfg, st);
	for (guint i = 0; i < p->actions->len; i++) {
		g_autofree char *d = kv_action_describe(g_ptr_array_index(p->actions, i));

		g_assert_true(g_str_has_prefix(d, "ksm: "));
	}
	{
		g_autofree char *d = kv_action_describe(find_action(p, KV_ACTION_KSM_KNOB, KV_KSM_RUN, NULL));

		g_assert_true(g_str_has_prefix(d, "ksm: run 0 -> 1 (MemAvailable low"));
	}
	/* numa, ksm, balloon, swap, zero-pages, isolation */
	g_assert_cmpuint(p->summaries->len, ==, 6);
	g_assert_nonnull(kv_plan_summary(p, "isolation"));
}

/* Windows guests (inspection) turn use_zero_pages on; the summary says
 * it only affects pages scanned afterwards. */
static void
test_zero_pages_table(void)
{
	static const struct {
		const char *what;
		gboolean manage, for_windows, has_knob, unmerging;
		guint64 cur;
		const char *guests; /* one letter per guest: w Windows, l other */
		const char *decision;
		gboolean action; /* use_zero_pages 0 -> 1 planned */
		const char *reason_has;
	} cases[] = {
		{ "one Windows guest, off", TRUE, TRUE, TRUE, FALSE, 0, "lw", "on", TRUE,
		  "only affects pages scanned after" },
		{ "two Windows guests", TRUE, TRUE, TRUE, FALSE, 0, "ww", "on", TRUE,
		  "2 Windows guest(s) (g0, g1)" },
		{ "already on", TRUE, TRUE, TRUE, FALSE, 1, "w", "keep", FALSE,
		  "only affects pages scanned after" },
		{ "no Windows guest", TRUE, TRUE, TRUE, FALSE, 0, "ll", "keep", FALSE, "no Windows guest" },
		{ "no guests", TRUE, TRUE, TRUE, FALSE, 0, "", "keep", FALSE, "no Windows guest" },
		{ "no Windows guest keeps it on", TRUE, TRUE, TRUE, FALSE, 1, "l", "keep", FALSE, "stays 1" },
		{ "kernel without the knob", TRUE, TRUE, FALSE, FALSE, 0, "w", "unsupported", FALSE,
		  "no use_zero_pages" },
		{ "switched off in the config", TRUE, FALSE, TRUE, FALSE, 0, "w", "unmanaged", FALSE,
		  "zero-pages-for-windows" },
		{ "KSM unmanaged", FALSE, TRUE, TRUE, FALSE, 0, "w", "unmanaged", FALSE, "ksm-manage" },
		{ "NUMA unmerge in progress", TRUE, TRUE, TRUE, TRUE, 0, "w", "hold", FALSE, "on hold" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		HostCase h = { .avail_kib = 8 * GIB_KIB, .psi_some = 0, .run = 1, .pages_to_scan = 100 };
		g_autoptr(KvSnapshot) s = make_snapshot(&h);
		g_autoptr(KvPolicyState) st = kv_policy_state_new();
		g_autoptr(KvPlan) p = kv_plan_new();
		const KvSummary *sum;
		const KvAction *a;
		g_auto(KvConfig) cfg = { 0 };

		g_test_message("case %u: %s", i, cases[i].what);
		kv_config_defaults(&cfg);
		cfg.ksm_manage = cases[i].manage;
		cfg.zero_pages_for_windows = cases[i].for_windows;
		if (cases[i].has_knob)
			s->ksm->have |= 1ull << KV_KSM_USE_ZERO_PAGES;
		s->ksm->value[KV_KSM_USE_ZERO_PAGES] = cases[i].cur;
		st->numa_unmerging = cases[i].unmerging;
		for (guint j = 0; cases[i].guests[j]; j++) {
			g_autofree char *name = g_strdup_printf("g%u", j);

			add_guest(s, name, GIB_KIB, 0)->is_windows = cases[i].guests[j] == 'w';
		}
		kv_policy_zero_pages(s, &cfg, st, p);
		sum = kv_plan_summary(p, "zero");
		g_assert_nonnull(sum);
		g_assert_cmpstr(sum->decision, ==, cases[i].decision);
		g_assert_nonnull(strstr(sum->reason, cases[i].reason_has));
		a = find_action(p, KV_ACTION_KSM_KNOB, KV_KSM_USE_ZERO_PAGES, NULL);
		g_assert_cmpint(a != NULL, ==, cases[i].action);
		g_assert_cmpuint(p->actions->len, ==, cases[i].action ? 1 : 0);
		if (a) {
			g_autofree char *d = kv_action_describe(a);

			g_assert_cmpuint(a->value, ==, 1);
			g_assert_true(g_str_has_prefix(d, "zero: use_zero_pages 0 -> 1"));
			g_assert_nonnull(strstr(d, "only affects pages scanned after"));
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/policy/condition", test_condition);
	g_test_add_func("/policy/ksm/table", test_ksm_table);
	g_test_add_func("/policy/ksm/rearm-off", test_ksm_rearm_off);
	g_test_add_func("/policy/ksm/advisor", test_ksm_advisor);
	g_test_add_func("/policy/ksm/sequence", test_ksm_sequence);
	g_test_add_func("/policy/ksm/blocked", test_ksm_blocked);
	g_test_add_func("/policy/unmerge-fits", test_unmerge_fits);
	g_test_add_func("/policy/numa/table", test_numa_table);
	g_test_add_func("/policy/numa/ebusy", test_numa_ebusy_learn);
	g_test_add_func("/policy/numa/nodes", test_numa_nodes);
	g_test_add_func("/policy/numa/node-pressure", test_node_pressure_hysteresis);
	g_test_add_func("/policy/numa/node-balloons", test_node_balloon_table);
	g_test_add_func("/policy/numa/node-ksm", test_node_ksm);
	g_test_add_func("/policy/balloon/table", test_balloon_table);
	g_test_add_func("/policy/swap/table", test_swap_table);
	g_test_add_func("/policy/swap/ebusy", test_swap_ebusy_learn);
	g_test_add_func("/policy/swap/numa", test_node_swap);
	g_test_add_func("/policy/describe", test_describe);
	g_test_add_func("/policy/zero-pages/table", test_zero_pages_table);
	g_test_add_func("/policy/guests-per-tick", test_guests_per_tick);
	return g_test_run();
}
