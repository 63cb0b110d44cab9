/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-spool: atomic event files.  See kv-spool.h.
 */
#include "kv-spool.h"
#include "kv-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean
set_errno_error(GError **error, int err, const char *what, const char *path)
{
	g_set_error(error, KV_ERROR, KV_ERROR_IO, "%s %s: %s", what, path, g_strerror(err));
	return FALSE;
}

gboolean
kv_spool_write(const char *dir, const char *line, gint64 time_us, gchar **out_path, GError **error)
{
	if (g_mkdir_with_parents(dir, 0755) < 0)
		return set_errno_error(error, errno, "cannot create spool directory", dir);

	/* The name sorts by time; pid and randomness keep it unique. */
	g_autofree gchar *base = g_strdup_printf("%016" G_GINT64_MODIFIER "x-%08x-%08x", MAX(time_us, 0),
						 (guint)getpid(), g_random_int());
	g_autofree gchar *tmp = g_strdup_printf("%s/.%s.tmp", dir, base);
	g_autofree gchar *path = g_strdup_printf("%s/%s" KV_SPOOL_SUFFIX, dir, base);

	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return set_errno_error(error, errno, "cannot create", tmp);
	gsize len = strlen(line);
	gboolean ok = kv_write_all(fd, line, len) && kv_write_all(fd, "\n", 1);
	int err = errno;
	if (ok && fsync(fd) < 0) {
		ok = FALSE;
		err = errno;
	}
	if (close(fd) < 0 && ok) {
		ok = FALSE;
		err = errno;
	}
	if (!ok) {
		unlink(tmp);
		return set_errno_error(error, err, "cannot write", tmp);
	}
	if (rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		return set_errno_error(error, err, "cannot rename into", path);
	}
	/* Make the rename itself durable. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	if (out_path)
		*out_path = g_steal_pointer(&path);
	return TRUE;
}

static gint
compare_paths(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
kv_spool_list(const char *dir, GError **error)
{
	g_autoptr(GPtrArray) r = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
	if (d == NULL) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return g_steal_pointer(&r);
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "cannot read spool directory: %s", local->message);
		return NULL;
	}
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		if (name[0] == '.' || !g_str_has_suffix(name, KV_SPOOL_SUFFIX))
			continue;
		g_ptr_array_add(r, g_build_filename(dir, name, NULL));
	}
	g_ptr_array_sort(r, compare_paths);
	return g_steal_pointer(&r);
}

gchar *
kv_spool_read(const char *path, gsize *out_len, GError **error)
{
	gchar *buf = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	/* Not through a symlink, not from a FIFO, never more than the bound. */
	if (!(buf = kv_file_read_capped(path, KV_SPOOL_MAX_BYTES, 0, &len, &local))) {
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "%s", local->message);
		return NULL;
	}
	if (out_len)
		*out_len = len;
	return buf;
}

gboolean
kv_spool_consume(const char *path, GError **error)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return set_errno_error(error, errno, "cannot remove", path);
	return TRUE;
}
