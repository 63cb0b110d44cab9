/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-file.c: safe reads and atomic writes (see kv-file.h). */
#include "kv-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean
errno_error(GError **error, int err, const char *what, const char *path)
{
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "%s %s: %s", what, path, g_strerror(err));
	return FALSE;
}

char *
kv_file_read_capped(const char *path, gsize max_bytes, KvFileReadFlags flags, gsize *len_out, GError **error)
{
	int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	g_autofree char *buf = NULL;
	gsize len = 0, cap;
	struct stat st;
	int fd;

	if (!(flags & KV_FILE_READ_FOLLOW))
		oflags |= O_NOFOLLOW;
	fd = open(path, oflags);
	if (fd < 0) {
		int err = errno;

		if (err == ELOOP && !(flags & KV_FILE_READ_FOLLOW)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_LOOP,
				    "cannot read %s: a symbolic link (not followed)", path);
			return NULL;
		}
		errno_error(error, err, "cannot open", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		errno_error(error, errno, "cannot stat", path);
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) && !(S_ISCHR(st.st_mode) && (flags & KV_FILE_READ_DEVICE))) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "cannot read %s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (S_ISREG(st.st_mode) && (guint64)st.st_size > max_bytes)
		goto too_large;
	/* The size may change while we read: read up to the bound plus one. */
	cap = S_ISREG(st.st_mode) ? (gsize)st.st_size + 1 : 4096;
	cap = MIN(cap, max_bytes + 1);
	buf = g_malloc(cap + 1);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > max_bytes)
				goto too_large;
			cap = MIN(cap * 2, max_bytes + 1);
			buf = g_realloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errno_error(error, errno, "cannot read", path);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (gsize)n;
	}
	close(fd);
	if (len > max_bytes) {
		fd = -1;
		goto too_large;
	}
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return g_steal_pointer(&buf);

too_large:
	if (fd >= 0)
		close(fd);
	g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		    "cannot read %s: larger than %" G_GSIZE_FORMAT " bytes", path, max_bytes);
	return NULL;
}

gboolean
kv_file_check_dir(const char *dir, GError **error)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return errno_error(error, errno, "cannot check directory", dir);
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM, "%s is %s, not a directory", dir,
			    S_ISLNK(st.st_mode) ? "a symbolic link" : "another kind of file");
		return FALSE;
	}
	if (st.st_uid != geteuid()) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM, "directory %s is owned by uid %u, not %u",
			    dir, (guint)st.st_uid, (guint)geteuid());
		return FALSE;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM,
			    "directory %s is writable by %s (mode %04o)", dir,
			    (st.st_mode & S_IWOTH) ? "every user" : "its group", (guint)(st.st_mode & 07777));
		return FALSE;
	}
	return TRUE;
}

gboolean
kv_write_all(int fd, const void *data, gsize len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FALSE;
		if (n == 0) {
			errno = EIO;
			return FALSE;
		}
		p += n;
		len -= (gsize)n;
	}
	return TRUE;
}

gboolean
kv_file_write_atomic(const char *path, const void *data, gsize len, mode_t mode, KvFileWriteFlags flags,
		     GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *tmp = NULL;
	struct stat st;
	int fd, dfd, err;

	if ((flags & KV_FILE_WRITE_CHECK_DIR) && !kv_file_check_dir(dir, error))
		return FALSE;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "will not replace %s: it exists and is not a regular file", path);
		return FALSE;
	}
	tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, (int)(mode & 0777));
	if (fd < 0)
		return errno_error(error, errno, "cannot create a temporary file for", path);
	/* Not subject to the umask: the mode asked for. */
	if (fchmod(fd, mode & 0777) < 0 || !kv_write_all(fd, data, len) || fsync(fd) < 0) {
		err = errno;
		close(fd);
		unlink(tmp);
		return errno_error(error, err, "cannot write", tmp);
	}
	if (close(fd) < 0) {
		err = errno;
		unlink(tmp);
		return errno_error(error, err, "cannot write", tmp);
	}
	if (rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		return errno_error(error, err, "cannot rename into", path);
	}
	/* Make the rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno_error(error, errno, "cannot open directory", dir);
	if (fsync(dfd) < 0 && errno != EINVAL) {
		err = errno;
		close(dfd);
		return errno_error(error, err, "cannot sync directory", dir);
	}
	close(dfd);
	return TRUE;
}

char *
kv_file_set_aside(const char *path, GError **error)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
	g_autofree char *aside = g_strdup_printf("%s.bad-%s", path, stamp);

	/* Two bad files in one second: keep the first, number the rest. */
	for (guint i = 1; g_file_test(aside, G_FILE_TEST_EXISTS) && i < 100; i++) {
		g_free(aside);
		aside = g_strdup_printf("%s.bad-%s.%u", path, stamp, i);
	}
	if (rename(path, aside) < 0) {
		int err = errno;

		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot set %s aside: %s",
			    path, g_strerror(err));
		return NULL;
	}
	return g_steal_pointer(&aside);
}
