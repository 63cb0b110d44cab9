/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-file: reading and writing the files of a root process safely.
 *
 * kv_file_read_capped() reads a whole file without following a symlink at
 * its last component (unless asked), without blocking on a FIFO, and never
 * more than a bound.  kv_file_write_atomic() replaces a file so that
 * readers see the old or the new contents, never a mix, and the new
 * contents survive a crash once it returns: a temporary file in the same
 * directory, fsync, rename, fsync of the directory.  It never replaces
 * anything but a regular file: a device node, a FIFO, a socket or a
 * symlink at the path is refused.
 *
 * kv_file_check_dir() tells whether a directory is one only this process's
 * user can change: a real directory (not a symlink), owned by the
 * effective user, writable by no group or other user.  A file in such a
 * directory cannot be swapped by anyone else between a check and its use.
 *
 * Errors are in the G_FILE_ERROR domain (G_FILE_ERROR_NOENT for a missing
 * file, as g_file_get_contents() reports it).
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef enum {
	KV_FILE_READ_FOLLOW = 1 << 0, /* follow a symlink at the last component */
	KV_FILE_READ_DEVICE = 1 << 1, /* also read a character device (/dev/null) */
} KvFileReadFlags;

typedef enum {
	KV_FILE_WRITE_CHECK_DIR = 1 << 0, /* the directory must pass kv_file_check_dir() */
} KvFileWriteFlags;

/* kv_file_read_capped: the contents of PATH (NUL-terminated, g_free) and
 * their length in *LEN_OUT (may be NULL).  PATH is opened O_NOFOLLOW
 * (unless KV_FILE_READ_FOLLOW) and O_NONBLOCK, and must be a regular file
 * (or a character device with KV_FILE_READ_DEVICE).  A file longer than
 * MAX_BYTES is an error (G_FILE_ERROR_FAILED, "larger than"), as is a
 * symlink (G_FILE_ERROR_LOOP) or another kind of file (G_FILE_ERROR_INVAL).
 * Returns NULL with ERROR set on failure. */
char *kv_file_read_capped(const char *path, gsize max_bytes, KvFileReadFlags flags, gsize *len_out,
			  GError **error);

/* kv_file_write_atomic: replaces PATH with the LEN bytes at DATA (file mode
 * MODE) through a temporary file in PATH's directory (O_EXCL, O_NOFOLLOW),
 * fsync, rename and an fsync of the directory.  The directory must exist.
 * A PATH that exists and is not a regular file is refused
 * (G_FILE_ERROR_INVAL); with KV_FILE_WRITE_CHECK_DIR an unsafe directory
 * too (G_FILE_ERROR_PERM).  Every write, fsync, close and rename error is
 * reported; on failure PATH is left as it was and no temporary file stays.
 * Returns TRUE on success, FALSE with ERROR set. */
gboolean kv_file_write_atomic(const char *path, const void *data, gsize len, mode_t mode,
			      KvFileWriteFlags flags, GError **error);

/* kv_file_check_dir: TRUE when DIR is a directory (lstat: not a symlink)
 * owned by the effective user and not writable by its group or others;
 * FALSE with ERROR (G_FILE_ERROR_PERM, or the lstat error) saying why. */
gboolean kv_file_check_dir(const char *dir, GError **error);

/* kv_write_all: writes LEN bytes of DATA to FD, retrying on EINTR and
 * short writes; a write that makes no progress fails with EIO.  Returns
 * FALSE with errno set on failure. */
gboolean kv_write_all(int fd, const void *data, gsize len);

/* kv_file_set_aside: renames a file whose content does not parse to
 * PATH.bad-YYYYmmddTHHMMSSZ, so the next start does not meet it again and
 * it stays for a post-mortem.  Returns the new path, or NULL with ERROR. */
char *kv_file_set_aside(const char *path, GError **error);

G_END_DECLS
