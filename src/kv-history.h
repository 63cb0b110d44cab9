/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-history.h: ksmvirtd's time series (history.jsonl, schema
 * "ksmvirt-history/1": one JSON object a tick), read back for plotting. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	double time_s; /* Unix time of the tick */
	guint64 pages_sharing, ksm_zero_pages, pages_to_scan;
	guint64 mem_total_kib, mem_available_kib;
	double psi_some_avg10; /* -1 when absent */
	gint64 ksm_run;        /* -1 when absent */
} KvHistoryPoint;

/* kv_history_parse: appends the ticks of BUF (JSON lines) to POINTS
 * (KvHistoryPoint), skipping lines that are not history objects.  Returns
 * the number of lines skipped. */
guint kv_history_parse(const char *buf, GArray *points);

/* kv_history_load: the previous part (PATH.1) then PATH, in time order.
 * Returns a new array (empty when neither file exists), or NULL with
 * ERROR when a file exists but cannot be read. */
GArray *kv_history_load(const char *path, GError **error);

G_END_DECLS
