/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of kv-spool: atomic entries, order, consumption. */
#include <glib/gstdio.h>
#include <string.h>

#include "kv-spool.h"

static gchar *
make_tmpdir(void)
{
	g_autoptr(GError) err = NULL;
	gchar *dir = g_dir_make_tmp("kv-spool-XXXXXX", &err);
	g_assert_no_error(err);
	return dir;
}

static void
rm_rf(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *p = g_build_filename(dir, n, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			rm_rf(p);
		else
			g_unlink(p);
	}
	g_rmdir(dir);
}

static void
test_missing_dir(void)
{
	g_autofree gchar *top = make_tmpdir();
	g_autofree gchar *dir = g_build_filename(top, "no", "such", NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) l = kv_spool_list(dir, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(l->len, ==, 0);
	/* Writing creates it. */
	g_autofree gchar *path = NULL;
	g_assert_true(kv_spool_write(dir, "{}", 1, &path, &err));
	g_assert_no_error(err);
	g_assert_true(g_str_has_suffix(path, KV_SPOOL_SUFFIX));
	g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
	rm_rf(top);
}

static void
test_order_and_consume(void)
{
	g_autofree gchar *dir = make_tmpdir();
	g_autoptr(GError) err = NULL;
	/* Written out of time order: listed in time order. */
	const gint64 times[] = { 3000, 1000, 2000, 1000000000000 };
	const char *lines[] = { "third", "first", "second", "fourth" };
	for (guint i = 0; i < G_N_ELEMENTS(times); i++)
		g_assert_true(kv_spool_write(dir, lines[i], times[i], NULL, &err));
	/* Leftovers of an interrupted write and foreign files are ignored. */
	g_autofree gchar *tmp = g_build_filename(dir, ".0000000000000001-1-1.tmp", NULL);
	g_autofree gchar *other = g_build_filename(dir, "README", NULL);
	g_assert_true(g_file_set_contents(tmp, "partial", -1, NULL));
	g_assert_true(g_file_set_contents(other, "x", -1, NULL));

	g_autoptr(GPtrArray) l = kv_spool_list(dir, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(l->len, ==, 4);
	const char *want[] = { "first\n", "second\n", "third\n", "fourth\n" };
	for (guint i = 0; i < l->len; i++) {
		gsize len = 0;
		g_autofree gchar *buf = kv_spool_read(g_ptr_array_index(l, i), &len, &err);
		g_assert_no_error(err);
		g_assert_cmpstr(buf, ==, want[i]);
		g_assert_cmpuint(len, ==, strlen(want[i]));
	}
	for (guint i = 0; i < l->len; i++)
		g_assert_true(kv_spool_consume(g_ptr_array_index(l, i), &err));
	/* Consuming twice is harmless. */
	g_assert_true(kv_spool_consume(g_ptr_array_index(l, 0), &err));
	g_assert_no_error(err);
	g_autoptr(GPtrArray) l2 = kv_spool_list(dir, &err);
	g_assert_cmpuint(l2->len, ==, 0);
	rm_rf(dir);
}

static void
test_bad_dir(void)
{
	/* A regular file where the spool directory should be. */
	g_autofree gchar *dir = make_tmpdir();
	g_autofree gchar *file = g_build_filename(dir, "file", NULL);
	g_assert_true(g_file_set_contents(file, "x", -1, NULL));
	g_autoptr(GError) err = NULL;
	g_assert_false(kv_spool_write(file, "x", 1, NULL, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_IO);
	g_clear_error(&err);
	g_assert_null(kv_spool_list(file, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_IO);
	rm_rf(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/spool/missing-dir", test_missing_dir);
	g_test_add_func("/spool/order-and-consume", test_order_and_consume);
	g_test_add_func("/spool/bad-dir", test_bad_dir);
	return g_test_run();
}
