/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-qmp.h: per-backend KSM figures from QEMU's QMP query-memdev.
 *
 * A QEMU with the ksm-per-node series reports, for each memory backend,
 * whether the kernel sees it mergeable and how much of it is merged and
 * swapped ("ksm-mergeable", "ksm-merged-size", "swapped-size"); a stock
 * QEMU reports only what was configured.  ksmvirt asks over a QMP Unix
 * socket given with -qmp unix:PATH, never over libvirt's own monitor
 * (which accepts only libvirt).
 */
#pragma once

#include <glib.h>
#include "kv-ctx.h"

G_BEGIN_DECLS

typedef struct {
	char *id;
	guint64 size_bytes;
	gboolean merge; /* configured */
	gboolean have_mergeable, mergeable;
	gboolean have_merged, have_swapped;
	guint64 merged_bytes, swapped_bytes;
} KvQmpMemdev;

void kv_qmp_memdev_free(KvQmpMemdev *m);

/* kv_qmp_parse_memdevs: parses a query-memdev reply ({"return": [...]}).
 * Returns a GPtrArray of KvQmpMemdev or NULL with ERROR. */
GPtrArray *kv_qmp_parse_memdevs(const char *reply, GError **error);

/* kv_qmp_sockets_from_argv: the PATHs of every "-qmp unix:PATH[,...]"
 * option, in command-line order (a QEMU serves one client per monitor, so
 * a caller tries them in turn).  Returns a NULL-terminated vector,
 * possibly empty. */
GStrv kv_qmp_sockets_from_argv(const char *const *argv);

/* kv_qmp_query: connects to the QMP socket at PATH (below the context
 * root), negotiates capabilities, runs COMMAND (a JSON object) and returns
 * the reply line, skipping asynchronous events.  Every read and write is
 * bounded by TIMEOUT_MS.  Returns NULL with ERROR on failure. */
char *kv_qmp_query(const KvCtx *ctx, const char *path, const char *command, guint timeout_ms, GError **error);

G_END_DECLS
