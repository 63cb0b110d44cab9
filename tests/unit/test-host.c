/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: KSM sysfs, vmstat, meminfo, CPU %. */
#include "kv-host.h"

static KvCtx *
root_ctx(const char *name)
{
	g_autofree char *root = g_build_filename(TEST_DATA_DIR, "roots", name, NULL);

	return kv_ctx_new(root);
}

static void
test_knob_values(void)
{
	static const struct {
		KvKsmKnob knob;
		const char *content;
		gboolean ok;
		guint64 want;
	} cases[] = {
		{ KV_KSM_RUN, "1\n", TRUE, 1 },
		{ KV_KSM_PAGES_SHARING, "18446744073709551615\n", TRUE, G_MAXUINT64 },
		{ KV_KSM_PAGES_SHARING, "18446744073709551616\n", FALSE, 0 },
		{ KV_KSM_PAGES_SHARED, "abc\n", FALSE, 0 },
		{ KV_KSM_PAGES_SHARED, "", FALSE, 0 },
		{ KV_KSM_GENERAL_PROFIT, "-4096\n", TRUE, (guint64)-4096 },
		{ KV_KSM_PAGES_SHARED, "-1\n", FALSE, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		KvKsm k = { 0 };

		g_test_message("case %u: %s='%s'", i, kv_ksm_knob_name(cases[i].knob), cases[i].content);
		g_assert_cmpint(kv_ksm_parse_value(&k, cases[i].knob, cases[i].content), ==, cases[i].ok);
		g_assert_cmpint(kv_ksm_has(&k, cases[i].knob), ==, cases[i].ok);
		if (cases[i].ok)
			g_assert_cmpuint(k.value[cases[i].knob], ==, cases[i].want);
	}
}

static void
test_advisor_mode(void)
{
	KvKsm k = { 0 };

	g_assert_true(kv_ksm_parse_value(&k, KV_KSM_ADVISOR_MODE, "none [scan-time]\n"));
	g_assert_cmpstr(k.advisor_mode, ==, "scan-time");
	g_assert_true(kv_ksm_parse_value(&k, KV_KSM_ADVISOR_MODE, "[none] scan-time\n"));
	g_assert_cmpstr(k.advisor_mode, ==, "none");
	g_assert_false(kv_ksm_parse_value(&k, KV_KSM_ADVISOR_MODE, ""));
	g_free(k.advisor_mode);
}

static void
test_read_full(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-full");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvKsm) k = kv_ksm_read(ctx, &err);

	g_assert_no_error(err);
	for (int i = 0; i < KV_KSM_N_KNOBS; i++)
		g_assert_true(kv_ksm_has(k, (KvKsmKnob)i));
	g_assert_cmpuint(k->value[KV_KSM_PAGES_SHARING], ==, 120);
	g_assert_cmpuint(kv_ksm_saved_bytes(k, 4096), ==, (120 + 20) * 4096);
	g_assert_cmpfloat_with_epsilon(kv_ksm_sharing_ratio(k), 1.2, 1e-9);
	g_assert_cmpuint(k->extra_names->len, ==, 0);
}

static void
test_read_old_kernel(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-old");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvKsm) k = kv_ksm_read(ctx, &err);

	g_assert_no_error(err);
	g_assert_false(kv_ksm_has(k, KV_KSM_ZERO_PAGES));
	g_assert_false(kv_ksm_has(k, KV_KSM_ADVISOR_MODE));
	g_assert_false(kv_ksm_has(k, KV_KSM_SMART_SCAN));
	g_assert_true(kv_ksm_has(k, KV_KSM_PAGES_SHARING));
	/* Unsupported ksm_zero_pages counts as none. */
	g_assert_cmpuint(kv_ksm_saved_bytes(k, 4096), ==, 120 * 4096);
}

static void
test_read_hostile(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("hostile");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvKsm) k = kv_ksm_read(ctx, &err);

	g_assert_no_error(err);
	g_assert_false(kv_ksm_has(k, KV_KSM_PAGES_SHARED));
	g_assert_false(kv_ksm_has(k, KV_KSM_FULL_SCANS));
	g_assert_false(kv_ksm_has(k, KV_KSM_PAGES_VOLATILE));
	g_assert_cmpuint(k->value[KV_KSM_PAGES_SHARING], ==, G_MAXUINT64);
	g_assert_cmpint((gint64)k->value[KV_KSM_GENERAL_PROFIT], ==, G_MININT64);
	/* Saturates instead of wrapping. */
	g_assert_cmpuint(kv_ksm_saved_bytes(k, 4096), ==, G_MAXUINT64);
	g_assert_cmpfloat(kv_ksm_sharing_ratio(k), ==, 0);
	g_assert_cmpuint(k->extra_names->len, ==, 1);
	g_assert_cmpstr(k->extra_names->pdata[0], ==, "future_knob");
	g_assert_cmpstr(k->extra_values->pdata[0], ==, "17");
}

static void
test_no_ksm(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("no-ksm");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvKsm) k = kv_ksm_read(ctx, &err);

	g_assert_null(k);
	g_assert_error(err, KV_ERROR, KV_ERROR_UNSUPPORTED);
}

static void
test_vmstat_meminfo(void)
{
	KvVmstat vs;
	KvMeminfo mi;

	kv_vmstat_parse("pgfault 1\nksm_swpin_copy 93131\ncow_ksm 7\npswpin 1\npswpout 2\n", &vs);
	g_assert_cmpuint(vs.have, ==, 0xf);
	g_assert_cmpuint(vs.ksm_swpin_copy, ==, 93131);
	kv_vmstat_parse("pswpin\ncow_ksm -1\nksm_swpin_copy 18446744073709551615", &vs);
	g_assert_cmpuint(vs.have, ==, 1);
	g_assert_cmpuint(vs.ksm_swpin_copy, ==, G_MAXUINT64);
	kv_meminfo_parse("MemTotal:       24572440 kB\nMemAvailable: x kB\nSwapFree: 5 kB", &mi);
	g_assert_cmpuint(mi.mem_total_kib, ==, 24572440);
	g_assert_false(mi.have & 4);
	g_assert_cmpuint(mi.swap_free_kib, ==, 5);
}

static void
test_cpu_percent(void)
{
	static const struct {
		guint64 before, after, interval_ms;
		long hz;
		double want;
	} cases[] = {
		{ 100, 200, 1000, 100, 100.0 }, { 100, 150, 1000, 100, 50.0 }, { 0, 1, 2000, 100, 0.5 },
		{ 100, 100, 1000, 100, 0.0 },   { 200, 100, 1000, 100, -1 },   { 100, 200, 0, 100, -1 },
		{ 100, 200, 1000, 0, -1 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpfloat_with_epsilon(kv_cpu_percent(cases[i].before, cases[i].after,
							      cases[i].interval_ms, cases[i].hz),
					       cases[i].want, 1e-9);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/host/knob-values", test_knob_values);
	g_test_add_func("/host/advisor-mode", test_advisor_mode);
	g_test_add_func("/host/read-full", test_read_full);
	g_test_add_func("/host/read-old-kernel", test_read_old_kernel);
	g_test_add_func("/host/read-hostile", test_read_hostile);
	g_test_add_func("/host/no-ksm", test_no_ksm);
	g_test_add_func("/host/vmstat-meminfo", test_vmstat_meminfo);
	g_test_add_func("/host/cpu-percent", test_cpu_percent);
	return g_test_run();
}
