/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-owned: open files that a root process writes in a directory, such
 * that nobody else can steer the write.
 *
 * The directory must belong to us (or to root) and be writable by nobody
 * else, so no other user can plant a symlink, a hard link or a FIFO in
 * it; the file itself is opened without following a symlink and without
 * blocking on a FIFO, and must then be a regular file of ours with one
 * link.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Open directory path (creating it with mode 0755 when missing) and check
 * that it is owned by the effective user or root and not writable by group
 * or others.  Returns a directory fd (O_CLOEXEC) or -1 with error set
 * (KV_ERROR, KV_ERROR_ACCESS when the checks fail). */
int kv_owned_dir_open(const char *path, GError **error);

/* openat(dir_fd, name) with O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC added to
 * flags, then check it is a regular file owned by the effective user with
 * a single link.  Returns the fd or -1 with error set. */
int kv_owned_file_openat(int dir_fd, const char *name, int flags, int mode, GError **error);

G_END_DECLS
