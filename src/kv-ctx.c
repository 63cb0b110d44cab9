/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-ctx.c: root prefix and file access for all sensing code. */
#include "kv-ctx.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(kv - error - quark, kv_error)

KvCtx *
kv_ctx_new(const char *root)
{
	KvCtx *ctx = g_new0(KvCtx, 1);
	long ps = sysconf(_SC_PAGESIZE);

	ctx->root = g_strdup(root ? root : "");
	/* Strip trailing slashes so that root + "/proc" is well formed. */
	for (gsize n = strlen(ctx->root); n > 0 && ctx->root[n - 1] == '/'; n--)
		ctx->root[n - 1] = '\0';
	ctx->page_size = ps > 0 ? (gsize)ps : 4096;
	return ctx;
}

void
kv_ctx_free(KvCtx *ctx)
{
	if (!ctx)
		return;
	g_free(ctx->root);
	g_free(ctx);
}

char *
kv_ctx_path(const KvCtx *ctx, const char *path)
{
	return g_strconcat(ctx->root, path, NULL);
}

void
kv_set_error_errno(GError **error, int errnum, const char *what)
{
	KvError code;

	switch (errnum) {
	case ENOENT:
	case ESRCH:
	case ENOTDIR:
		code = KV_ERROR_NOT_FOUND;
		break;
	case EACCES:
	case EPERM:
		code = KV_ERROR_ACCESS;
		break;
	default:
		code = KV_ERROR_IO;
		break;
	}
	g_set_error(error, KV_ERROR, code, "%s: %s", what, g_strerror(errnum));
}

gboolean
kv_ctx_read(const KvCtx *ctx, const char *path, gsize max_bytes, char **contents, gsize *length, GError **error)
{
	g_autofree char *full = kv_ctx_path(ctx, path);
	g_autoptr(GByteArray) buf = NULL;
	int fd;

	if (max_bytes == 0)
		max_bytes = 64u << 20;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		kv_set_error_errno(error, errno, full);
		return FALSE;
	}
	/* Read straight into the array's storage: /proc files report size 0,
	 * so grow it as needed. */
	buf = g_byte_array_sized_new(65536);
	for (;;) {
		gsize used = buf->len;
		ssize_t n;

		if (buf->len + 32768 > max_bytes + 1)
			g_byte_array_set_size(buf, (guint)(max_bytes + 1));
		else
			g_byte_array_set_size(buf, used + 32768);
		if (buf->len == used) {
			close(fd);
			g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
				    "%s: larger than %" G_GSIZE_FORMAT " bytes", full, max_bytes);
			return FALSE;
		}
		n = read(fd, buf->data + used, buf->len - used);
		if (n < 0) {
			int saved = errno;

			g_byte_array_set_size(buf, (guint)used);
			if (saved == EINTR)
				continue;
			close(fd);
			kv_set_error_errno(error, saved, full);
			return FALSE;
		}
		g_byte_array_set_size(buf, (guint)(used + (gsize)n));
		if (n == 0)
			break;
		if (buf->len > max_bytes) {
			close(fd);
			g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
				    "%s: larger than %" G_GSIZE_FORMAT " bytes", full, max_bytes);
			return FALSE;
		}
	}
	close(fd);
	if (length)
		*length = buf->len;
	g_byte_array_append(buf, (const guint8 *)"", 1);
	*contents = (char *)g_byte_array_free(g_steal_pointer(&buf), FALSE);
	return TRUE;
}

gboolean
kv_ctx_exists(const KvCtx *ctx, const char *path)
{
	g_autofree char *full = kv_ctx_path(ctx, path);

	return access(full, F_OK) == 0;
}

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *
kv_ctx_list_dir(const KvCtx *ctx, const char *path, GError **error)
{
	g_autofree char *full = kv_ctx_path(ctx, path);
	g_autoptr(GDir) dir = NULL;
	GPtrArray *names;
	const char *name;

	dir = g_dir_open(full, 0, error);
	if (!dir) {
		/* Re-class GFileError into our domain for callers. */
		if (error && *error && g_error_matches(*error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_clear_error(error);
			g_set_error(error, KV_ERROR, KV_ERROR_NOT_FOUND, "%s: No such file or directory", full);
		} else if (error && *error && g_error_matches(*error, G_FILE_ERROR, G_FILE_ERROR_ACCES)) {
			g_autofree char *msg = g_strdup((*error)->message);

			g_clear_error(error);
			g_set_error_literal(error, KV_ERROR, KV_ERROR_ACCESS, msg);
		}
		return NULL;
	}
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(dir)))
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, cmp_str);
	return names;
}
