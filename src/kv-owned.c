/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-owned: files in directories nobody else controls.  See kv-owned.h.
 */
#include "kv-owned.h"
#include "kv-ctx.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

int
kv_owned_dir_open(const char *path, GError **error)
{
	if (g_mkdir_with_parents(path, 0755) < 0) {
		kv_set_error_errno(error, errno, path);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		kv_set_error_errno(error, errno, path);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		kv_set_error_errno(error, errno, path);
		close(fd);
		return -1;
	}
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		g_set_error(error, KV_ERROR, KV_ERROR_ACCESS,
			    "%s: owned by uid %u with mode %04o: others could replace its files", path,
			    (guint)st.st_uid, (guint)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

int
kv_owned_file_openat(int dir_fd, const char *name, int flags, int mode, GError **error)
{
	int fd = openat(dir_fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
	if (fd < 0) {
		int err = errno;
		if (err == ELOOP)
			g_set_error(error, KV_ERROR, KV_ERROR_ACCESS, "%s is a symlink: not followed", name);
		else
			kv_set_error_errno(error, err, name);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		kv_set_error_errno(error, errno, name);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		g_set_error(error, KV_ERROR, KV_ERROR_ACCESS,
			    "%s is not a regular file of uid %u with one link", name, (guint)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}
