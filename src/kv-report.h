/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-report.h: the one table model behind every report format.
 *
 * kv_report_collect() senses (host KSM, every process, guest RAM mappings,
 * optionally the page census); renderers (kv-render-*.c) only format it.
 */
#pragma once

#include <glib.h>
#include "kv-ctx.h"
#include "kv-host.h"
#include "kv-proc.h"
#include "kv-qemu.h"
#include "kv-numa.h"
#include "kv-census.h"
#include "kv-hv.h"
#include "kv-inspect.h"
#include "kv-history.h"
#include "kv-inventory.h"
#include "kv-sharing.h"

G_BEGIN_DECLS

#define KV_REPORT_SCHEMA "ksmvirt-report/1"

typedef struct {
	char *backend_id;
	int guest_node;     /* -1: not a guest NUMA node */
	guint64 size_bytes; /* configured */
	gboolean found;     /* its mapping was located in smaps */
	guint64 start, end; /* address span of the mapping(s) */
	guint64 rss_bytes, swap_bytes, ksm_bytes;
	gboolean have_ksm;           /* smaps has "KSM:" */
	gboolean mergeable;          /* VmFlags mg */
	gboolean dontfork;           /* VmFlags dc */
	KvTristate merge_configured; /* merge= on the backend (or mem-merge) */
	char *unmergeable_reason;    /* shared/hugetlb: KSM cannot merge */
	KvCensus *census;            /* --census */
	/* From QEMU's query-memdev (a QEMU with the ksm-per-node series,
	 * reached over -qmp unix:PATH); have_qmp is FALSE otherwise. */
	gboolean have_qmp;
	gboolean qmp_have_mergeable, qmp_mergeable;
	gboolean qmp_have_merged, qmp_have_swapped;
	guint64 qmp_merged_bytes, qmp_swapped_bytes;
} KvGuestNode;

typedef struct {
	int pid;
	char *name;
	char *uuid;
	char *source; /* "libvirt", "cmdline", "registry", "pid",
	                                 "process" (a non-QEMU process given by --pid) */
	guint64 ram_bytes, rss_bytes, swap_bytes;
	KvKsmStat ksm;
	guint64 saved_bytes;
	const char *saved_method;  /* "census": each merged frame's own map
	                                 count; "estimate": the host-wide ratio */
	double saved_percent;      /* of guest RAM */
	gboolean merging_disabled; /* no guest RAM mapping is mergeable */
	GPtrArray *nodes;          /* KvGuestNode */
	GPtrArray *warnings;       /* char* */
	KvCensus *census;          /* sum over nodes, --census */
	KvOsInfo *os;              /* from the OS map, NULL when not inspected */
	char *group;               /* merge-isolation group, NULL: none */
} KvGuest;

typedef struct {
	char *family; /* kv_os_info_family(), "unknown" */
	guint guests;
	guint64 saved_bytes;     /* all savings of its guests */
	guint64 zero_page_bytes; /* of which merged into the zero page */
} KvOsFamily;

/* Savings of the guests of one merge-isolation group. */
typedef struct {
	char *group;
	guint guests;
	guint64 saved_bytes;
} KvGroupSaving;

typedef struct {
	gsize page_size;
	guint64 interval_ms;
	KvKsm *ksm;
	KvVmstat vmstat;
	KvMeminfo meminfo;
	int ksmd_pid;
	double ksmd_cpu_percent; /* -1: not sampled */
	guint64 saved_bytes;
	double sharing_ratio;
	GPtrArray *guests; /* KvGuest, sorted by name */
	KvOther other;
	KvNumaTopo *topo;       /* with --census */
	KvCensus *census_total; /* with --census: all guests */
	GPtrArray *notes;       /* char*: e.g. "libvirt unreachable: ..." */
	GPtrArray *families;    /* KvOsFamily, by saved bytes, largest first */
	GPtrArray *groups;      /* KvGroupSaving, by name; empty when no guest
	                                 has a group */
	GArray *history;        /* KvHistoryPoint of ksmvirtd, for --html;
	                                 NULL when not loaded (owned) */
	KvSharing *sharing;     /* with --sharing: guest i of the model is
	                           guests->pdata[i] */
} KvReport;

typedef struct {
	guint64 interval_ms; /* ksmd CPU sampling; 0: do not sample */
	gboolean census;
	gboolean qmp; /* ask QEMUs with a -qmp unix: socket */
	KvHv *hv;     /* may be NULL */
	GArray *pids; /* int: also report these processes as
	                                 guests: a QEMU by its command line, any
	                                 other by its MADV_MERGEABLE mappings (its
	                                 "RAM"); may be NULL */
	/* Called with a guest's UUID when libvirt does not name it (before
	 * QEMU's -name is used); returns a new string or NULL.  May be NULL. */
	char *(*lookup_name)(const char *uuid, gpointer data);
	gpointer lookup_data;
	GHashTable *os_map; /* UUID -> KvOsInfo (kv_os_map_load); may be NULL */
	/* Who is a guest (kv-ident.h): the user libvirt runs QEMU as, NULL
	 * for qemu.conf's; note_impostors adds a note naming processes that
	 * look like QEMU but are not libvirt guests. */
	const char *qemu_user;
	gboolean note_impostors;
	/* A note the caller adds to the report's notes (e.g. the merge
	 * isolation decision); may be NULL. */
	const char *note;
	/* KSM frames per pair of guests and of groups (kv-sharing.h); implies
	 * the census.  Guests of different groups that share a frame get a
	 * warning. */
	gboolean sharing;
	/* A guest's merge-isolation group: PID_GROUPS (pid -> name, given
	 * with --group) first, then group_of (a new string, or NULL for none).
	 * Either may be NULL. */
	GHashTable *pid_groups;
	char *(*group_of)(const char *uuid, const char *name, gpointer data);
	gpointer group_data;
} KvReportOptions;

/* kv_report_collect: builds a report.  Processes that exit while being
 * read are skipped.  Returns NULL with ERROR when KSM is unsupported
 * (KV_ERROR_UNSUPPORTED) or /proc cannot be read; census failures
 * (KV_ERROR_ACCESS) also fail the call when OPTS->census is set. */
KvReport *kv_report_collect(const KvCtx *ctx, const KvReportOptions *opts, GError **error);
void kv_report_free(KvReport *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvReport, kv_report_free)

/* kv_guest_saved_bytes: a guest's share of the savings: each merged page
 * of a stable node with k sharers saves (k-1)/k of a page to each sharer;
 * with the host-wide SHARED/SHARING counters that is MERGING x
 * sharing/(shared+sharing), plus every KSM zero page in full.  Pure. */
guint64 kv_guest_saved_bytes(guint64 merging_pages, guint64 zero_pages, guint64 pages_shared,
			     guint64 pages_sharing, gsize page_size);

/* Renderers.  Each returns a newly allocated string. */
char *kv_render_text(const KvReport *r);
char *kv_render_json(const KvReport *r);
char *kv_render_prometheus(const KvReport *r);
char *kv_render_html(const KvReport *r);

/* kv_format_bytes: "512.0 MiB", "1.50 GiB", "12 KiB". */
char *kv_format_bytes(guint64 bytes);

G_END_DECLS
