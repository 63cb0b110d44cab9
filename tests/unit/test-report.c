/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the report model over fixture roots, and the savings
 * attribution as a pure function. */
#include "kv-report.h"

#include <string.h>

static KvCtx *
root_ctx(const char *name)
{
	g_autofree char *root = g_build_filename(TEST_DATA_DIR, "roots", name, NULL);
	KvCtx *ctx = kv_ctx_new(root);

	ctx->page_size = 4096;
	return ctx;
}

static KvGuest *
find_guest(KvReport *r, const char *name)
{
	for (guint i = 0; i < r->guests->len; i++)
		if (g_strcmp0(((KvGuest *)r->guests->pdata[i])->name, name) == 0)
			return r->guests->pdata[i];
	return NULL;
}

static void
test_saved_table(void)
{
	static const struct {
		guint64 merging, zero, shared, sharing, want;
	} cases[] = {
		/* 3 sharers of 100 pages: each saves 2/3 of its 100. */
		{ 100, 0, 100, 200, 66 * 4096 + 2731 },  { 0, 8, 0, 0, 8 * 4096 }, { 10, 0, 0, 0, 0 },
		{ 50, 5, 50, 50, 25 * 4096 + 5 * 4096 }, { 0, 0, 10, 10, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("case %u", i);
		g_assert_cmpuint(kv_guest_saved_bytes(cases[i].merging, cases[i].zero, cases[i].shared,
						      cases[i].sharing, 4096),
				 ==, cases[i].want);
	}
}

static void
test_collect_full(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-full");
	KvReportOptions opts = { .census = TRUE };
	g_autoptr(GError) err = NULL;
	g_autoptr(KvReport) r = kv_report_collect(ctx, &opts, &err);
	KvGuest *web, *db, *win, *lv;
	KvGuestNode *n;

	g_assert_no_error(err);
	g_assert_cmpint(r->ksmd_pid, ==, 40);
	g_assert_cmpfloat(r->ksmd_cpu_percent, ==, -1);
	g_assert_cmpuint(r->guests->len, ==, 4);
	web = find_guest(r, "web-1");
	db = find_guest(r, "db \"primary\",ü");
	win = find_guest(r, "win10");
	lv = find_guest(r, "lv-probe");
	g_assert_nonnull(web);
	g_assert_nonnull(db);
	g_assert_nonnull(win);
	g_assert_nonnull(lv);
	g_assert_cmpstr(web->source, ==, "cmdline");
	g_assert_cmpstr(web->uuid, ==, "0a1b2c3d-0000-4000-8000-000000000001");

	g_assert_cmpuint(web->nodes->len, ==, 1);
	n = web->nodes->pdata[0];
	g_assert_true(n->found);
	g_assert_true(n->mergeable);
	g_assert_true(n->dontfork);
	g_assert_cmpuint(n->ksm_bytes, ==, 240 * 1024);
	g_assert_cmpuint(web->census->total.merged, ==, 60);
	g_assert_cmpuint(web->warnings->len, ==, 0);
	g_assert_false(web->merging_disabled);

	/* Two guest nodes; merge=off yet mergeable is flagged. */
	g_assert_cmpuint(db->nodes->len, ==, 2);
	g_assert_cmpuint(db->warnings->len, ==, 1);
	g_assert_nonnull(strstr(db->warnings->pdata[0], "merge=off"));
	g_assert_cmpuint(db->census->total.merged, ==, 60);
	/* 40 merged frames on host node 0, 20 on host node 2. */
	g_assert_cmpuint(g_array_index(db->census->per_node, KvCensusCount, 0).merged, ==, 40);
	g_assert_cmpuint(g_array_index(db->census->per_node, KvCensusCount, 1).merged, ==, 20);

	/* nosharepages: no mg on its RAM. */
	g_assert_true(win->merging_disabled);
	n = win->nodes->pdata[0];
	g_assert_false(n->mergeable);
	g_assert_cmpint(n->merge_configured, ==, KV_TRISTATE_OFF);

	g_assert_cmpint(lv->ksm.process_profit, ==, -2048);
	/* The java process, not QEMU, is "other". */
	g_assert_cmpuint(r->other.processes, ==, 1);
	g_assert_cmpuint(r->other.merging_pages, ==, 40);
	/* Totals: guests' merging + other == shared + sharing (220). */
	g_assert_cmpuint(web->ksm.merging_pages + db->ksm.merging_pages + r->other.merging_pages, ==, 160);
	g_assert_cmpuint(r->saved_bytes, ==, (120 + 20) * 4096);
}

static void
test_collect_old_and_hostile(void)
{
	g_autoptr(KvCtx) old = root_ctx("host-old");
	g_autoptr(KvCtx) bad = root_ctx("hostile");
	g_autoptr(KvCtx) none = root_ctx("no-ksm");
	g_autoptr(KvCtx) missing = kv_ctx_new("/nonexistent/ksmvirt/root");
	KvReportOptions opts = { 0 };
	g_autoptr(GError) err = NULL;
	g_autoptr(KvReport) r = kv_report_collect(old, &opts, &err);
	KvGuest *g;

	g_assert_no_error(err);
	g_assert_cmpuint(r->guests->len, ==, 1);
	g_assert_cmpuint(((KvGuest *)r->guests->pdata[0])->ksm.have, ==, 0);
	g_assert_cmpuint(r->vmstat.have & 1, ==, 0);
	kv_report_free(g_steal_pointer(&r));

	r = kv_report_collect(bad, &opts, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(r->guests->len, ==, 1);
	g = r->guests->pdata[0];
	g_assert_cmpstr(g->name, ==, "pid 3001");
	g_assert_cmpuint(g->ksm.rmap_items, ==, G_MAXUINT64);
	g_assert_false(g->ksm.have & KV_KSM_STAT_MERGING_PAGES);
	kv_report_free(g_steal_pointer(&r));

	r = kv_report_collect(none, &opts, &err);
	g_assert_null(r);
	g_assert_error(err, KV_ERROR, KV_ERROR_UNSUPPORTED);
	g_clear_error(&err);
	r = kv_report_collect(missing, &opts, &err);
	g_assert_null(r);
	g_assert_nonnull(err);
}

static void
test_libvirt_test_driver(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-full");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvHv) hv = kv_hv_libvirt_open(ctx, "test:///default", &err);
	g_autoptr(GPtrArray) doms = NULL;
	g_autoptr(KvReport) r = NULL;
	KvReportOptions opts = { 0 };
	KvGuest *g;

	g_assert_no_error(err);
	doms = kv_hv_list_domains(hv, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(doms->len, ==, 1);
	g_assert_cmpstr(((KvDomain *)doms->pdata[0])->name, ==, "test");
	opts.hv = hv;
	r = kv_report_collect(ctx, &opts, &err);
	g_assert_no_error(err);
	/* Named by libvirt through its UUID, not by -name. */
	g = find_guest(r, "test");
	g_assert_nonnull(g);
	g_assert_cmpstr(g->source, ==, "libvirt");
	g_assert_null(find_guest(r, "lv-probe"));
	/* An unreachable URI is an error, not a crash. */
	kv_hv_close(g_steal_pointer(&hv));
	hv = kv_hv_libvirt_open(ctx, "qemu+unix:///system?socket=/nonexistent/sock", &err);
	g_assert_null(hv);
	g_assert_nonnull(err);
}

static void
test_renderers(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-full");
	KvReportOptions opts = { .census = TRUE };
	g_autoptr(KvReport) r = kv_report_collect(ctx, &opts, NULL);
	g_autofree char *text = kv_render_text(r);
	g_autofree char *json = kv_render_json(r);
	g_autofree char *prom = kv_render_prometheus(r);
	g_autofree char *html = kv_render_html(r);

	/* Control characters never reach the terminal raw. */
	g_assert_null(strstr(text, "va\nx"));
	g_assert_nonnull(strstr(json, "\"schema\" : \"ksmvirt-report/1\""));
	g_assert_nonnull(strstr(prom, "ksmvirt_guest_ksm_merging_pages{name=\"web-1\""));
	g_assert_nonnull(strstr(prom, "name=\"db \\\"primary\\\",ü\""));
	g_assert_nonnull(strstr(html, "<svg"));
	g_assert_nonnull(strstr(html, "db &quot;primary&quot;,ü"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/report/saved-table", test_saved_table);
	g_test_add_func("/report/collect-full", test_collect_full);
	g_test_add_func("/report/collect-old-and-hostile", test_collect_old_and_hostile);
	g_test_add_func("/report/libvirt-test-driver", test_libvirt_test_driver);
	g_test_add_func("/report/renderers", test_renderers);
	return g_test_run();
}
