/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-file.c: kv-file (capped reads, atomic writes, directory checks). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv-file.h"

static char *
temp_dir(void)
{
	g_autoptr(GError) err = NULL;
	char *dir = g_dir_make_tmp("ksmvirt-file-XXXXXX", &err);

	g_assert_no_error(err);
	g_assert_cmpint(g_chmod(dir, 0755), ==, 0);
	return dir;
}

static void
rm_rf(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, name, NULL);

		g_unlink(p);
	}
	g_rmdir(dir);
}

static void
test_read_capped(void)
{
	g_autofree char *dir = temp_dir();
	g_autofree char *small = g_build_filename(dir, "small", NULL);
	g_autofree char *big = g_build_filename(dir, "big", NULL);
	g_autofree char *link = g_build_filename(dir, "link", NULL);
	g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
	g_autofree char *missing = g_build_filename(dir, "missing", NULL);
	g_autofree char *buf = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *large = g_strnfill(5000, 'x');
	gsize len = 0;

	g_assert_true(g_file_set_contents(small, "hello", -1, NULL));
	g_assert_true(g_file_set_contents(big, large, -1, NULL));
	g_assert_cmpint(symlink(small, link), ==, 0);
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);

	buf = kv_file_read_capped(small, 5, 0, &len, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(buf, ==, "hello");
	g_assert_cmpuint(len, ==, 5);
	g_clear_pointer(&buf, g_free);

	/* Over the bound, by one byte or by many. */
	g_assert_null(kv_file_read_capped(small, 4, 0, &len, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED);
	g_assert_nonnull(strstr(err->message, "larger than 4 bytes"));
	g_clear_error(&err);
	g_assert_null(kv_file_read_capped(big, 4096, 0, &len, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED);
	g_clear_error(&err);
	buf = kv_file_read_capped(big, 5000, 0, &len, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(len, ==, 5000);
	g_clear_pointer(&buf, g_free);

	/* A symlink is not followed unless asked. */
	g_assert_null(kv_file_read_capped(link, 100, 0, &len, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_LOOP);
	g_clear_error(&err);
	buf = kv_file_read_capped(link, 100, KV_FILE_READ_FOLLOW, &len, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(buf, ==, "hello");
	g_clear_pointer(&buf, g_free);

	/* A FIFO does not block and is refused; a missing file is NOENT. */
	g_assert_null(kv_file_read_capped(fifo, 100, KV_FILE_READ_DEVICE, &len, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
	g_clear_error(&err);
	g_assert_null(kv_file_read_capped(missing, 100, 0, &len, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	g_clear_error(&err);

	/* Devices only when asked: /dev/null reads empty, /dev/zero hits the bound. */
	g_assert_null(kv_file_read_capped("/dev/null", 100, 0, &len, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
	g_clear_error(&err);
	buf = kv_file_read_capped("/dev/null", 100, KV_FILE_READ_DEVICE | KV_FILE_READ_FOLLOW, &len, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(len, ==, 0);
	g_clear_pointer(&buf, g_free);
	g_assert_null(kv_file_read_capped("/dev/zero", 100000, KV_FILE_READ_DEVICE, &len, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED);
	rm_rf(dir);
}

static void
test_write_atomic(void)
{
	g_autofree char *dir = temp_dir();
	g_autofree char *path = g_build_filename(dir, "state.json", NULL);
	g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
	g_autofree char *link = g_build_filename(dir, "link", NULL);
	g_autofree char *target = g_build_filename(dir, "target", NULL);
	g_autofree char *buf = NULL;
	g_autoptr(GError) err = NULL;
	g_autoptr(GDir) d = NULL;
	struct stat st;
	const char *name;
	guint n = 0;

	g_assert_true(kv_file_write_atomic(path, "one", 3, 0640, KV_FILE_WRITE_CHECK_DIR, &err));
	g_assert_no_error(err);
	g_assert_true(kv_file_write_atomic(path, "two!", 4, 0640, KV_FILE_WRITE_CHECK_DIR, &err));
	g_assert_true(g_file_get_contents(path, &buf, NULL, NULL));
	g_assert_cmpstr(buf, ==, "two!");
	g_assert_cmpint(lstat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0640);
	/* No temporary file left behind. */
	d = g_dir_open(dir, 0, NULL);
	while ((name = g_dir_read_name(d)))
		n++;
	g_assert_cmpuint(n, ==, 1);

	/* A FIFO or a symlink at the path is not replaced. */
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_assert_false(kv_file_write_atomic(fifo, "x", 1, 0644, 0, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
	g_clear_error(&err);
	g_assert_cmpint(lstat(fifo, &st), ==, 0);
	g_assert_true(S_ISFIFO(st.st_mode));
	g_assert_true(g_file_set_contents(target, "keep", -1, NULL));
	g_assert_cmpint(symlink(target, link), ==, 0);
	g_assert_false(kv_file_write_atomic(link, "x", 1, 0644, 0, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
	g_clear_error(&err);
	g_clear_pointer(&buf, g_free);
	g_assert_true(g_file_get_contents(target, &buf, NULL, NULL));
	g_assert_cmpstr(buf, ==, "keep");

	/* A device node is never replaced (run as root: /dev/null itself). */
	g_assert_false(kv_file_write_atomic("/dev/null", "x", 1, 0644, 0, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
	g_clear_error(&err);
	g_assert_cmpint(stat("/dev/null", &st), ==, 0);
	g_assert_true(S_ISCHR(st.st_mode));

	/* A missing directory is an error. */
	g_assert_false(kv_file_write_atomic("/nonexistent-dir/x", "x", 1, 0644, 0, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	g_clear_error(&err);
	rm_rf(dir);
}

static void
test_check_dir(void)
{
	g_autofree char *dir = temp_dir();
	g_autofree char *sub = g_build_filename(dir, "sub", NULL);
	g_autofree char *link = g_build_filename(dir, "link", NULL);
	g_autofree char *path = g_build_filename(sub, "f", NULL);
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
	g_assert_true(kv_file_check_dir(sub, &err));
	g_assert_cmpint(g_chmod(sub, 0775), ==, 0);
	g_assert_false(kv_file_check_dir(sub, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_PERM);
	g_assert_nonnull(strstr(err->message, "writable by its group"));
	g_clear_error(&err);
	g_assert_cmpint(g_chmod(sub, 01777), ==, 0);
	g_assert_false(kv_file_write_atomic(path, "x", 1, 0644, KV_FILE_WRITE_CHECK_DIR, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_PERM);
	g_clear_error(&err);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	g_assert_cmpint(g_chmod(sub, 0755), ==, 0);
	g_assert_cmpint(symlink(sub, link), ==, 0);
	g_assert_false(kv_file_check_dir(link, &err));
	g_assert_nonnull(strstr(err->message, "symbolic link"));
	g_clear_error(&err);
	if (geteuid() == 0) {
		g_assert_cmpint(chown(sub, 65534, 65534), ==, 0);
		g_assert_false(kv_file_check_dir(sub, &err));
		g_assert_nonnull(strstr(err->message, "owned by uid 65534"));
		g_clear_error(&err);
	}
	g_unlink(link);
	g_rmdir(sub);
	rm_rf(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/file/read-capped", test_read_capped);
	g_test_add_func("/file/write-atomic", test_write_atomic);
	g_test_add_func("/file/check-dir", test_check_dir);
	return g_test_run();
}
