/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: reading ksmvirtd's history back. */
#include "kv-history.h"

static void
test_parse(void)
{
	g_autoptr(GArray) pts = g_array_new(FALSE, FALSE, sizeof(KvHistoryPoint));
	const char *buf =
		"{\"schema\":\"ksmvirt-history/1\",\"time\":10.5,\"ksm_run\":1,\"pages_to_scan\":300,"
		"\"pages_sharing\":7,\"mem_total_kib\":100,\"mem_available_kib\":50,\"psi_some_avg10\":2.5}\n"
		"\n"
		"garbage\n"
		"{\"schema\":\"other/1\",\"time\":11}\n"
		"[1,2]\n"
		"{\"schema\":\"ksmvirt-history/1\",\"time\":15,\"pages_sharing\":-3}";
	KvHistoryPoint *p;

	g_assert_cmpuint(kv_history_parse(buf, pts), ==, 3);
	g_assert_cmpuint(pts->len, ==, 2);
	p = &g_array_index(pts, KvHistoryPoint, 0);
	g_assert_cmpfloat(p->time_s, ==, 10.5);
	g_assert_cmpuint(p->pages_to_scan, ==, 300);
	g_assert_cmpint(p->ksm_run, ==, 1);
	g_assert_cmpfloat(p->psi_some_avg10, ==, 2.5);
	p = &g_array_index(pts, KvHistoryPoint, 1);
	g_assert_cmpint(p->ksm_run, ==, -1);
	g_assert_cmpfloat(p->psi_some_avg10, ==, -1);
	g_assert_cmpuint(p->pages_sharing, ==, 0);
}

static void
test_load(void)
{
	g_autofree char *path = g_build_filename(TEST_DATA_DIR, "roots", "host-full", "var", "lib", "ksmvirt",
						 "history.jsonl", NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(GArray) pts = kv_history_load(path, &err);
	g_autoptr(GArray) none = kv_history_load("/nonexistent/history.jsonl", &err);

	g_assert_no_error(err);
	/* The older part first: 3 + 9 ticks, in time order. */
	g_assert_cmpuint(pts->len, ==, 12);
	for (guint i = 1; i < pts->len; i++)
		g_assert_cmpfloat(g_array_index(pts, KvHistoryPoint, i - 1).time_s, <,
				  g_array_index(pts, KvHistoryPoint, i).time_s);
	g_assert_nonnull(none);
	g_assert_cmpuint(none->len, ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/history/parse", test_parse);
	g_test_add_func("/history/load", test_load);
	return g_test_run();
}
