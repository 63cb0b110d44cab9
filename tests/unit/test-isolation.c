/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: merge isolation: each guest's group, which group merges
 * under the strict fallback, and the balancer's step (what it plans given
 * what it applied before, and the unmerge headroom). */
#include "kv-isolation.h"

#include <string.h>

#define MIB_KIB 1024u
#define GIB_KIB (1024u * 1024u)

static KvMergePolicy
policy(KvPolicyMerge merge, const char *group, const char *owner)
{
	KvMergePolicy p = { 0 };

	p.merge = merge;
	p.group = (char *)group;
	p.owner = (char *)owner;
	return p;
}

static void
test_group(void)
{
	static const struct {
		KvIsolationBy by;
		const char *group, *owner, *name, *want;
	} cases[] = {
		{ KV_ISOLATION_BY_NONE, NULL, "p1", "vm1", KV_ISOLATION_DEFAULT_GROUP },
		{ KV_ISOLATION_BY_NONE, "gold", "p1", "vm1", "gold" },
		{ KV_ISOLATION_BY_GUEST, NULL, "p1", "vm1", "vm1" },
		{ KV_ISOLATION_BY_GUEST, "gold", NULL, "vm1", "gold" },
		{ KV_ISOLATION_BY_OWNER, NULL, "p1", "vm1", "p1" },
		{ KV_ISOLATION_BY_OWNER, NULL, NULL, "vm1", KV_ISOLATION_DEFAULT_GROUP },
		{ KV_ISOLATION_BY_OWNER, "gold", "p1", "vm1", "gold" },
	};
	g_auto(KvConfig) cfg = { 0 };

	kv_config_defaults(&cfg);
	g_assert_cmpint(cfg.isolation_by, ==, KV_ISOLATION_BY_OWNER);
	g_assert_cmpint(cfg.isolation_fallback, ==, KV_ISOLATION_STRICT);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		KvMergePolicy p = policy(KV_POLICY_MERGE_DEFAULT, cases[i].group, cases[i].owner);
		g_autofree char *g = NULL;

		cfg.isolation_by = cases[i].by;
		g = kv_isolation_group(&cfg, &p, cases[i].name);
		g_assert_cmpstr(g, ==, cases[i].want);
	}
	{
		g_autofree char *g = kv_isolation_group(&cfg, NULL, "vm1");

		g_assert_cmpstr(g, ==, KV_ISOLATION_DEFAULT_GROUP);
	}
}

/* One decision case: up to four guests "name:group:ram_mib[:on|off]". */
typedef struct {
	const char *what;
	KvIsolationFallback fallback;
	const char *merging_group; /* config; NULL: "" */
	const char *guests[4];
	gboolean enforced;
	const char *merging; /* NULL when not enforced */
	const char *want;    /* per guest: '-' default, 'o' off, 'O' on */
	guint warnings;
} DecideCase;

static const DecideCase decide_cases[] = {
	{ "one group: nothing off", KV_ISOLATION_STRICT, NULL, { "a:g1:1024", "b:g1:1024" }, FALSE, NULL, "--", 0 },
	{ "two groups: the larger merges",
	  KV_ISOLATION_STRICT,
	  NULL,
	  { "a:g1:1024", "b:g2:4096", "c:g1:1024" },
	  TRUE,
	  "g2",
	  "o-o",
	  0 },
	{ "sum per group decides", KV_ISOLATION_STRICT, NULL, { "a:g1:1024", "b:g2:1536", "c:g1:1024" }, TRUE, "g1", "-o-", 0 },
	{ "tie: first name", KV_ISOLATION_STRICT, NULL, { "a:zz:1024", "b:aa:1024" }, TRUE, "aa", "o-", 0 },
	{ "configured group merges", KV_ISOLATION_STRICT, "g1", { "a:g1:1024", "b:g2:4096" }, TRUE, "g1", "-o", 0 },
	{ "configured group absent: all off", KV_ISOLATION_STRICT, "g9", { "a:g1:1024", "b:g2:4096" }, TRUE, "g9", "oo", 0 },
	{ "warn: nothing off, a warning", KV_ISOLATION_WARN, NULL, { "a:g1:1024", "b:g2:4096" }, FALSE, NULL, "--", 1 },
	{ "merge=off holds in warn", KV_ISOLATION_WARN, NULL, { "a:g1:1024:off", "b:g2:4096" }, FALSE, NULL, "o-", 1 },
	{ "merge=off in one group", KV_ISOLATION_STRICT, NULL, { "a:g1:1024:off", "b:g1:4096:on" }, FALSE, NULL, "oO", 0 },
	{ "isolation beats merge=on", KV_ISOLATION_STRICT, NULL, { "a:g1:1024:on", "b:g2:4096" }, TRUE, "g2", "o-", 0 },
};

static void
test_decide(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(decide_cases); i++) {
		const DecideCase *c = &decide_cases[i];
		g_auto(KvConfig) cfg = { 0 };
		KvIsolationInput in[4] = { 0 };
		KvMergePolicy pol[4] = { 0 };
		GStrv parts[4] = { 0 };
		g_autoptr(KvIsolation) iso = NULL;
		guint n = 0;

		kv_config_defaults(&cfg);
		cfg.isolation_fallback = c->fallback;
		g_free(cfg.merging_group);
		cfg.merging_group = g_strdup(c->merging_group ? c->merging_group : "");
		for (; n < 4 && c->guests[n]; n++) {
			parts[n] = g_strsplit(c->guests[n], ":", 4);
			pol[n].group = parts[n][1];
			if (parts[n][3])
				pol[n].merge = !strcmp(parts[n][3], "on") ? KV_POLICY_MERGE_ON
									  : KV_POLICY_MERGE_OFF;
			in[n].name = parts[n][0];
			in[n].ram_kib = g_ascii_strtoull(parts[n][2], NULL, 10) * MIB_KIB;
			in[n].policy = &pol[n];
		}
		iso = kv_isolation_decide(in, n, &cfg);
		g_test_message("case %u: %s", i, c->what);
		g_assert_cmpint(iso->enforced, ==, c->enforced);
		g_assert_cmpstr(iso->merging_group, ==, c->merging);
		g_assert_cmpuint(iso->warnings->len, ==, c->warnings);
		for (guint j = 0; j < n; j++) {
			const KvIsolationGuest *g = g_ptr_array_index(iso->guests, j);
			char w = g->want == KV_POLICY_MERGE_OFF  ? 'o'
				 : g->want == KV_POLICY_MERGE_ON ? 'O'
								 : '-';

			g_assert_cmpint(w, ==, c->want[j]);
			g_assert_true((g->reason != NULL) == (w != '-'));
		}
		for (guint j = 0; j < n; j++)
			g_strfreev(parts[j]);
	}
}

static void
test_summary(void)
{
	g_auto(KvConfig) cfg = { 0 };
	KvMergePolicy p1 = policy(KV_POLICY_MERGE_DEFAULT, "linux", NULL);
	KvMergePolicy p2 = policy(KV_POLICY_MERGE_DEFAULT, "windows", NULL);
	KvIsolationInput in[] = { { "l1", 3 * GIB_KIB, &p1 }, { "w1", GIB_KIB, &p2 } };
	g_autoptr(KvIsolation) iso = NULL;
	g_autofree char *s = NULL;

	kv_config_defaults(&cfg);
	iso = kv_isolation_decide(in, 2, &cfg);
	s = kv_isolation_summary(iso);
	g_assert_nonnull(strstr(s, "strict"));
	g_assert_nonnull(strstr(s, "group linux merges"));
	g_assert_nonnull(strstr(s, "the most guest RAM (3072 MiB)"));
}

/* Cells: wanted only when the guest is not off as a whole, and only for
 * cells the guest has. */
static void
test_cells(void)
{
	g_auto(KvConfig) cfg = { 0 };
	g_autoptr(GArray) cells = g_array_new(FALSE, FALSE, sizeof(KvCellMerge));
	KvCellMerge c1 = { 1, KV_POLICY_MERGE_OFF }, c7 = { 7, KV_POLICY_MERGE_OFF };
	KvMergePolicy p = policy(KV_POLICY_MERGE_DEFAULT, NULL, NULL);
	KvIsolationInput in[] = { { "a", GIB_KIB, &p } };
	g_autoptr(KvIsolation) iso = NULL;
	g_autoptr(KvIsolation) iso_off = NULL;
	const KvIsolationGuest *g;

	kv_config_defaults(&cfg);
	g_array_append_val(cells, c1);
	g_array_append_val(cells, c7);
	p.cells = cells;
	p.n_cells = 2;
	iso = kv_isolation_decide(in, 1, &cfg);
	g = g_ptr_array_index(iso->guests, 0);
	g_assert_cmpint(g->want, ==, KV_POLICY_MERGE_DEFAULT);
	g_assert_cmpuint(g->cells->len, ==, 1);
	g_assert_cmpuint(g_array_index(g->cells, KvCellMerge, 0).cell, ==, 1);
	p.merge = KV_POLICY_MERGE_OFF;
	iso_off = kv_isolation_decide(in, 1, &cfg);
	g = g_ptr_array_index(iso_off->guests, 0);
	g_assert_cmpint(g->want, ==, KV_POLICY_MERGE_OFF);
	g_assert_cmpuint(g->cells->len, ==, 0);
}

/* ---- the balancer's step ------------------------------------------------- */

static KvGuestSense *
add_guest(KvSnapshot *s, const char *name, int pid, guint64 ram_mib, const char *group, guint64 merging_pages)
{
	KvGuestSense *g = g_new0(KvGuestSense, 1);

	g->name = g_strdup(name);
	g->pid = pid;
	g->ram_kib = ram_mib * MIB_KIB;
	g->merging_pages = merging_pages;
	g->merge_policy.group = g_strdup(group);
	g->cg_limit_bytes = KV_UNLIMITED;
	g_ptr_array_add(s->guests, g);
	return g;
}

static KvSnapshot *
host(guint64 avail_mib)
{
	KvSnapshot *s = kv_snapshot_new();

	s->page_size = 4096;
	s->meminfo.mem_total_kib = 16 * GIB_KIB;
	s->meminfo.mem_available_kib = avail_mib * MIB_KIB;
	return s;
}

static guint
merge_actions(const KvPlan *p, GString *out)
{
	guint n = 0;

	g_string_truncate(out, 0);
	for (guint i = 0; i < p->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(p->actions, i);

		if (a->kind != KV_ACTION_GUEST_MERGE)
			continue;
		g_string_append_printf(out, "%s%s/%s=%s", n ? " " : "", a->guest, a->value_str,
				       a->value ? "on" : "off");
		n++;
	}
	return n;
}

/* Marks every action of P done, as kv_act would on success. */
static void
all_done(KvPlan *p)
{
	for (guint i = 0; i < p->actions->len; i++)
		((KvAction *)g_ptr_array_index(p->actions, i))->result = KV_RESULT_DONE;
}

static void
test_step(void)
{
	g_auto(KvConfig) cfg = { 0 };
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_autoptr(KvSnapshot) s = host(8192);
	g_autoptr(GString) acts = g_string_new(NULL);
	KvGuestSense *w;

	kv_config_defaults(&cfg);
	add_guest(s, "l1", 101, 2048, "linux", 1000);
	add_guest(s, "l2", 102, 2048, "linux", 1000);
	w = add_guest(s, "w1", 103, 1024, "windows", 5000);

	/* Tick 1: the windows guest is turned off. */
	{
		g_autoptr(KvPlan) p = kv_plan_new();
		const KvSummary *sum;

		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 1);
		g_assert_cmpstr(acts->str, ==, "w1/=off");
		sum = kv_plan_summary(p, "isolation");
		g_assert_nonnull(sum);
		g_assert_cmpstr(sum->decision, ==, "strict");
		all_done(p);
		kv_policy_isolation_learn(p, st);
	}
	/* Tick 2: applied: nothing to do. */
	{
		g_autoptr(KvPlan) p = kv_plan_new();
		g_autofree char *ms = kv_isolation_merge_state(w, st);
		g_autofree char *ml = kv_isolation_merge_state(g_ptr_array_index(s->guests, 0), st);

		g_assert_cmpstr(ms, ==, "off");
		g_assert_cmpstr(ml, ==, "on");
		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 0);
	}
	/* The windows guest restarts (new pid): turned off again. */
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		w->pid = 203;
		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 1);
		g_assert_cmpstr(acts->str, ==, "w1/=off");
		all_done(p);
		kv_policy_isolation_learn(p, st);
	}
	/* It joins the linux group: merging comes back. */
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		g_free(w->merge_policy.group);
		w->merge_policy.group = g_strdup("linux");
		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 1);
		g_assert_cmpstr(acts->str, ==, "w1/=on");
		g_assert_cmpstr(kv_plan_summary(p, "isolation")->decision, ==, "keep");
		all_done(p);
		kv_policy_isolation_learn(p, st);
	}
	/* And stays so. */
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 0);
	}
}

/* Unmerging needs room: 5000 merged pages (19 MiB) do not fit in 1030 MiB
 * available less the 1024 MiB reserve; staged until they do. */
static void
test_headroom(void)
{
	g_auto(KvConfig) cfg = { 0 };
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_autoptr(KvSnapshot) s = host(1030);
	g_autoptr(GString) acts = g_string_new(NULL);
	g_autoptr(KvPlan) p = kv_plan_new();
	g_autoptr(KvPlan) p2 = kv_plan_new();
	const KvSummary *sum;

	kv_config_defaults(&cfg);
	add_guest(s, "a", 101, 2048, "g1", 100);
	add_guest(s, "b", 102, 1024, "g2", 5000);
	kv_policy_isolation(s, &cfg, st, p);
	g_assert_cmpuint(merge_actions(p, acts), ==, 0);
	sum = kv_plan_summary(p, "isolation");
	g_assert_cmpstr(sum->decision, ==, "staged");
	g_assert_nonnull(strstr(sum->reason, "b (19 MiB)"));

	s->meminfo.mem_available_kib = 2048 * MIB_KIB;
	kv_policy_isolation(s, &cfg, st, p2);
	g_assert_cmpuint(merge_actions(p2, acts), ==, 1);
	g_assert_cmpstr(acts->str, ==, "b/=off");
}

/* A failed change holds the guest back; a guest QEMU started unmergeable
 * (nosharepages) is not made mergeable when isolation ends. */
static void
test_failure_and_nosharepages(void)
{
	g_auto(KvConfig) cfg = { 0 };
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_autoptr(KvSnapshot) s = host(8192);
	g_autoptr(GString) acts = g_string_new(NULL);
	KvGuestSense *b;

	kv_config_defaults(&cfg);
	add_guest(s, "a", 101, 2048, "g1", 0);
	b = add_guest(s, "b", 102, 1024, "g2", 0);
	b->merge_policy.nosharepages = TRUE;
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 1);
		((KvAction *)g_ptr_array_index(p->actions, 0))->result = KV_RESULT_PERMANENT;
		kv_policy_isolation_learn(p, st);
	}
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 0);
	}
	kv_policy_state_guest(st, "b")->merge_blocked_until_tick = 0;
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 1);
		all_done(p);
		kv_policy_isolation_learn(p, st);
	}
	g_free(b->merge_policy.group);
	b->merge_policy.group = g_strdup("g1");
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		st->tick++;
		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 0);
	}
}

/* A cell's policy: only that backend; lifted, merging comes back there. */
static void
test_step_cells(void)
{
	g_auto(KvConfig) cfg = { 0 };
	g_autoptr(KvPolicyState) st = kv_policy_state_new();
	g_autoptr(KvSnapshot) s = host(8192);
	g_autoptr(GString) acts = g_string_new(NULL);
	KvGuestSense *a;
	KvCellMerge c1 = { 1, KV_POLICY_MERGE_OFF };

	kv_config_defaults(&cfg);
	a = add_guest(s, "a", 101, 2048, NULL, 10);
	a->merge_policy.n_cells = 2;
	a->merge_policy.cells = g_array_new(FALSE, FALSE, sizeof(KvCellMerge));
	g_array_append_val(a->merge_policy.cells, c1);
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 1);
		g_assert_cmpstr(acts->str, ==, "a/ram-node1=off");
		all_done(p);
		kv_policy_isolation_learn(p, st);
	}
	{
		g_autofree char *ms = kv_isolation_merge_state(a, st);

		g_assert_cmpstr(ms, ==, "on, ram-node1 off");
		a->merge_policy.nosharepages = TRUE;
		g_free(ms);
		ms = kv_isolation_merge_state(a, NULL);
		g_assert_cmpstr(ms, ==, "off (nosharepages)");
		a->merge_policy.nosharepages = FALSE;
	}
	g_array_set_size(a->merge_policy.cells, 0);
	{
		g_autoptr(KvPlan) p = kv_plan_new();

		kv_policy_isolation(s, &cfg, st, p);
		g_assert_cmpuint(merge_actions(p, acts), ==, 1);
		g_assert_cmpstr(acts->str, ==, "a/ram-node1=on");
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/isolation/group", test_group);
	g_test_add_func("/isolation/decide", test_decide);
	g_test_add_func("/isolation/summary", test_summary);
	g_test_add_func("/isolation/cells", test_cells);
	g_test_add_func("/isolation/step", test_step);
	g_test_add_func("/isolation/headroom", test_headroom);
	g_test_add_func("/isolation/failure-nosharepages", test_failure_and_nosharepages);
	g_test_add_func("/isolation/step-cells", test_step_cells);
	return g_test_run();
}
