/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-ctx.h: the context every sensing function takes.
 *
 * All reads of /proc, /sys and /run go through kv_ctx_path(), which puts
 * the context's root prefix in front, so tests can point the library at a
 * fixture tree (--root DIR, KSMVIRT_ROOT).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KV_ERROR (kv_error_quark())
GQuark kv_error_quark(void);

typedef enum {
	KV_ERROR_FAILED,      /* anything else */
	KV_ERROR_NOT_FOUND,   /* file or process absent (ENOENT, ESRCH) */
	KV_ERROR_ACCESS,      /* EACCES/EPERM */
	KV_ERROR_PARSE,       /* content malformed */
	KV_ERROR_UNSUPPORTED, /* the kernel lacks the feature */
	KV_ERROR_IO,          /* other errno */
} KvError;

typedef struct {
	char *root;      /* "" for the real system, else a directory */
	gsize page_size; /* bytes */
} KvCtx;

/* kv_ctx_new: ROOT may be NULL or "" for the real system.
 * Returns a new context; never NULL. */
KvCtx *kv_ctx_new(const char *root);
void kv_ctx_free(KvCtx *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvCtx, kv_ctx_free)

/* kv_ctx_path: returns a newly allocated ROOT + PATH (PATH is absolute). */
char *kv_ctx_path(const KvCtx *ctx, const char *path);

/* kv_ctx_read: reads a whole file below the root.  Files under /proc and
 * /sys report a size of 0, so this reads until EOF.  MAX_BYTES bounds the
 * read (0: 64 MiB).  Returns TRUE and a NUL-terminated buffer, or FALSE
 * with ERROR set (KV_ERROR_NOT_FOUND, KV_ERROR_ACCESS, KV_ERROR_IO). */
gboolean kv_ctx_read(const KvCtx *ctx, const char *path, gsize max_bytes, char **contents, gsize *length,
		     GError **error);

/* kv_ctx_exists: TRUE if PATH below the root exists. */
gboolean kv_ctx_exists(const KvCtx *ctx, const char *path);

/* kv_ctx_list_dir: names in directory PATH below the root, sorted.
 * Returns NULL with ERROR set when the directory cannot be read. */
GPtrArray *kv_ctx_list_dir(const KvCtx *ctx, const char *path, GError **error);

/* kv_set_error_errno: sets ERROR from ERRNUM with a "PATH: strerror" message,
 * classifying the errno into a KvError code. */
void kv_set_error_errno(GError **error, int errnum, const char *what);

G_END_DECLS
