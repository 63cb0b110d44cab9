/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-census.h: where a process's pages are, page by page.
 *
 * Walks /proc/PID/pagemap over address ranges and looks each present
 * page's frame up in /proc/kpageflags (KPF_KSM, KPF_ZERO_PAGE) and in the
 * host's NUMA PFN ranges, and each merged frame's map count in
 * /proc/kpagecount.  Needs CAP_SYS_ADMIN (PFNs read as 0 otherwise).
 */
#pragma once

#include <glib.h>
#include "kv-ctx.h"
#include "kv-numa.h"

G_BEGIN_DECLS

typedef struct {
	guint64 merged;   /* present, KPF_KSM */
	guint64 zero;     /* present, the shared zero page */
	guint64 private_; /* present, neither */
} KvCensusCount;

typedef struct {
	guint64 pages; /* pages walked */
	guint64 present, swapped;
	/* Fair share of merged frames: a frame k page tables map saves
	 * (k-1)/k of a page to each (k from /proc/kpagecount). */
	double merged_saved_pages;
	KvCensusCount total;
	GArray *per_node; /* KvCensusCount, same order as topo->nodes; last
	                        entry: frames outside every known range */
} KvCensus;

KvCensus *kv_census_new(const KvNumaTopo *topo);
void kv_census_free(KvCensus *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvCensus, kv_census_free)

typedef struct KvCensusScanner KvCensusScanner;

/* kv_census_scanner_new: opens /proc/kpageflags.  TOPO must outlive the
 * scanner.  Returns NULL with KV_ERROR_ACCESS when not privileged. */
KvCensusScanner *kv_census_scanner_new(const KvCtx *ctx, const KvNumaTopo *topo, GError **error);
void kv_census_scanner_free(KvCensusScanner *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvCensusScanner, kv_census_scanner_free)

/* kv_census_scanner_has_mapcounts: TRUE when /proc/kpagecount could be
 * opened, so merged_saved_pages is exact. */
gboolean kv_census_scanner_has_mapcounts(const KvCensusScanner *s);

/* kv_census_scanner_set_ksm_sink: from now on, kv_census_scan appends
 * the frame of every present KSM page it meets to SINK (guint64 PFNs, in
 * walk order, one per page: a frame several pages map repeats); NULL
 * stops it.  SINK is borrowed and must outlive its use. */
void kv_census_scanner_set_ksm_sink(KvCensusScanner *s, GArray *sink);

/* kv_census_scan: adds the pages of [START, END) of process PID to OUT.
 * Returns FALSE with ERROR (KV_ERROR_NOT_FOUND when the process exited,
 * KV_ERROR_ACCESS when PFNs are hidden). */
gboolean kv_census_scan(KvCensusScanner *s, int pid, guint64 start, guint64 end, KvCensus *out, GError **error);

/* kv_census_add: OUT += IN (same topology). */
void kv_census_add(KvCensus *out, const KvCensus *in);

G_END_DECLS
