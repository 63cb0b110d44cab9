/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-spool: a directory of events waiting for the daemon.
 *
 * The hook writes an event here when the daemon does not take it in time;
 * the daemon replays the spool in order and then consumes each entry.  An
 * entry is one file holding one event line.  Entries appear atomically
 * (written to a hidden temporary file, synced, renamed), so a reader never
 * sees half an event.  Names sort in the order of writing.
 */
#pragma once

#include <glib.h>

#include "kv-ctx.h"

G_BEGIN_DECLS

/* Errors are KV_ERROR_IO (kv-ctx.h): a file operation failed; the message
 * names it. */

/* Suffix of complete entries. */
#define KV_SPOOL_SUFFIX ".event"

/* Write line (a trailing newline is added) as a new entry of dir, creating
 * dir (mode 0755) when missing.  time_us orders the entry (pass the
 * event's time).  On success returns TRUE and, when out_path is not NULL,
 * the entry's path.  On failure returns FALSE with error set and leaves no
 * file behind. */
gboolean kv_spool_write(const char *dir, const char *line, gint64 time_us, gchar **out_path, GError **error);

/* Paths of dir's complete entries, oldest first.  A missing dir is an empty
 * spool.  Returns NULL with error set when dir cannot be read. */
GPtrArray *kv_spool_list(const char *dir, GError **error);

/* A spool entry is read up to this size. */
#define KV_SPOOL_MAX_BYTES (16u << 20)

/* Read one entry (not through a symlink, at most KV_SPOOL_MAX_BYTES).
 * Returns its contents (NUL-terminated) or NULL with error set. */
gchar *kv_spool_read(const char *path, gsize *out_len, GError **error);

/* Remove an entry after its event was applied.  An entry already gone is
 * not an error. */
gboolean kv_spool_consume(const char *path, GError **error);

G_END_DECLS
