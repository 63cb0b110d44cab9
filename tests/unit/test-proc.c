/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: /proc/PID parsers. */
#include "kv-proc.h"

#include <string.h>

static void
test_stat(void)
{
	static const struct {
		const char *in;
		gboolean ok;
		const char *comm;
		int ppid;
		guint64 utime;
	} cases[] = {
		{ "1 (init) S 0 1 1 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 1 0 10 100 200\n", TRUE, "init", 0, 5 },
		{ "42 (a b) (c)) R 2 0 0 0 -1 0 0 0 0 0 7 8 0 0 -2 -20 1 0 10 0 0\n", TRUE, "a b) (c)", 2, 7 },
		{ "43 (new\nline) S 1 0 0 0 -1 0 0 0 0 0 9 1 0 0 20 0 1 0 10 0 0\n", TRUE, "new\nline", 1, 9 },
		{ "44 ()) S 1 0 0 0 -1 0 0 0 0 0 18446744073709551615 1 0 0 20 0 1 0 10 0 0", TRUE, ")", 1,
		  G_MAXUINT64 },
		{ "77 (trunc", FALSE, NULL, 0, 0 },
		{ "77 (x) S 1 2 3", FALSE, NULL, 0, 0 },
		{ "x (y) S 1 0 0 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 10 0 0", FALSE, NULL, 0, 0 },
		{ "5 (z) S 1 0 0 0 -1 0 0 0 0 0 abc 8 0 0 20 0 1 0 10 0 0", FALSE, NULL, 0, 0 },
		{ "", FALSE, NULL, 0, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		KvProcStat st;
		g_autoptr(GError) err = NULL;
		gboolean ok = kv_proc_stat_parse(cases[i].in, &st, &err);

		g_test_message("stat case %u", i);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (!ok) {
			g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
			continue;
		}
		g_assert_cmpstr(st.comm, ==, cases[i].comm);
		g_assert_cmpint(st.ppid, ==, cases[i].ppid);
		g_assert_cmpuint(st.utime_ticks, ==, cases[i].utime);
		kv_proc_stat_clear(&st);
	}
}

static void
test_ksm_stat(void)
{
	KvKsmStat ks;

	kv_ksm_stat_parse("ksm_rmap_items 10\nksm_zero_pages 2\nksm_merging_pages 8\n"
			  "ksm_process_profit -320\nksm_merge_any: yes\nksm_mergeable: no\n",
			  &ks);
	g_assert_cmpuint(ks.have, ==, 0x3f);
	g_assert_cmpuint(ks.rmap_items, ==, 10);
	g_assert_cmpuint(ks.merging_pages, ==, 8);
	g_assert_cmpint(ks.process_profit, ==, -320);
	g_assert_true(ks.merge_any);
	g_assert_false(ks.mergeable);
	/* 6.1: only two lines; hostile values leave fields unsupported. */
	kv_ksm_stat_parse("ksm_rmap_items 3\nksm_merging_pages x\nksm_merge_any: maybe", &ks);
	g_assert_cmpuint(ks.have, ==, KV_KSM_STAT_RMAP_ITEMS);
	kv_ksm_stat_parse("", &ks);
	g_assert_cmpuint(ks.have, ==, 0);
}

static void
test_status(void)
{
	KvProcStatus st;

	kv_proc_status_parse("Name:\tqemu\nVmRSS:\t  1024 kB\nVmSwap:\t 8 kB\n", &st);
	g_assert_cmpuint(st.have, ==, 3);
	g_assert_cmpuint(st.vm_rss_kib, ==, 1024);
	g_assert_cmpuint(st.vm_swap_kib, ==, 8);
	kv_proc_status_parse("Name:\tkthread\n", &st);
	g_assert_cmpuint(st.have, ==, 0);
}

static void
test_smaps(void)
{
	const char *buf =
		"7f0000000000-7f0010000000 rw-p 00000000 00:00 0 \n"
		"Size:             262144 kB\nRss:               1000 kB\nAnonymous:         1000 kB\n"
		"KSM:                400 kB\nSwap:                 8 kB\nVmFlags: rd wr mr mw me ac sd mg dc dd\n"
		"55d000000000-55d000001000 r-xp 00001000 fe:00 1234                       /usr/bin/qemu system\n"
		"Size:                  4 kB\nRss:                   4 kB\nVmFlags: rd ex mr mw me\n";
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) maps = kv_smaps_parse(buf, &err);
	KvMapping *m;

	g_assert_no_error(err);
	g_assert_cmpuint(maps->len, ==, 2);
	m = maps->pdata[0];
	g_assert_cmpuint(m->start, ==, 0x7f0000000000);
	g_assert_cmpuint(m->size_kib, ==, 262144);
	g_assert_cmpuint(m->ksm_kib, ==, 400);
	g_assert_true(m->have_ksm);
	g_assert_null(m->path);
	g_assert_true(kv_mapping_has_flag(m, "mg"));
	g_assert_true(kv_mapping_has_flag(m, "dc"));
	g_assert_false(kv_mapping_has_flag(m, "ex"));
	m = maps->pdata[1];
	g_assert_cmpstr(m->path, ==, "/usr/bin/qemu system");
	g_assert_false(m->have_ksm);
	g_assert_false(kv_mapping_has_flag(m, "mg"));

	maps = (g_ptr_array_unref(maps), kv_smaps_parse("7f00-zz rw-p 0 00:00 0\n", &err));
	g_assert_null(maps);
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
	g_clear_error(&err);
	maps = kv_smaps_parse("", &err);
	g_assert_no_error(err);
	g_assert_cmpuint(maps->len, ==, 0);
}

static void
test_cmdline(void)
{
	static const char buf[] = "qemu\0-name\0guest=a b\0\0x";
	g_auto(GStrv) v = kv_cmdline_parse(buf, sizeof(buf) - 1);

	g_assert_cmpuint(g_strv_length(v), ==, 5);
	g_assert_cmpstr(v[2], ==, "guest=a b");
	g_assert_cmpstr(v[3], ==, "");
	g_assert_cmpstr(v[4], ==, "x");
	g_strfreev(g_steal_pointer(&v));
	v = kv_cmdline_parse("", 0);
	g_assert_cmpuint(g_strv_length(v), ==, 0);
}

static void
test_read_gone(void)
{
	g_autofree char *root = g_build_filename(TEST_DATA_DIR, "roots", "host-full", NULL);
	g_autoptr(KvCtx) ctx = kv_ctx_new(root);
	g_autoptr(GError) err = NULL;
	g_autoptr(KvProc) p = kv_proc_read(ctx, 999999, &err);

	g_assert_null(p);
	g_assert_error(err, KV_ERROR, KV_ERROR_NOT_FOUND);
	g_clear_error(&err);
	p = kv_proc_read(ctx, 1201, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(p->stat.comm, ==, "qemu-system-x86");
	g_assert_cmpuint(p->ksm.merging_pages, ==, 60);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/proc/stat", test_stat);
	g_test_add_func("/proc/ksm-stat", test_ksm_stat);
	g_test_add_func("/proc/status", test_status);
	g_test_add_func("/proc/smaps", test_smaps);
	g_test_add_func("/proc/cmdline", test_cmdline);
	g_test_add_func("/proc/read-gone", test_read_gone);
	return g_test_run();
}
