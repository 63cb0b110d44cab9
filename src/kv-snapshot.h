/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-snapshot.h: what the balancer senses in one tick (KvSnapshot), the
 * input of every decide function.  Sensing (kv-sense.c) fills it. */
#pragma once

#include <glib.h>

#include "kv-guest-policy.h"
#include "kv-host.h"

G_BEGIN_DECLS

/* A memory cgroup limit that is not set. */
#define KV_UNLIMITED G_MAXUINT64

typedef enum {
	KV_CGROUP_NONE = 0,
	KV_CGROUP_V1 = 1,
	KV_CGROUP_V2 = 2,
} KvCgroupVersion;

/* One host NUMA node. */
typedef struct {
	int id;
	guint64 total_kib, free_kib;
} KvNodeSense;

/* Memory of a guest resident on one host node. */
typedef struct {
	int node;
	guint64 kib;
} KvGuestNodeKib;

/* One guest as sensed in one tick. */
typedef struct {
	char *name;
	char *uuid;      /* may be NULL */
	int pid;         /* 0: unknown */
	guint64 ram_kib; /* configured maximum */
	guint64 rss_kib, swap_kib;
	guint64 merging_pages; /* ksm_stat ksm_merging_pages */
	int priority;          /* higher: more important; default 0 */
	gboolean has_policy;   /* priority/floor from the live domain XML */

	gboolean has_balloon;        /* libvirt reports balloon.current */
	gboolean has_balloon_driver; /* and the guest driver reports usage */
	guint64 balloon_actual_kib;  /* current balloon target */
	guint64 balloon_max_kib;
	guint64 balloon_available_kib, balloon_unused_kib, balloon_usable_kib;
	guint64 balloon_floor_kib; /* min-balloon-mib or min_guarantee; 0: none */
	const char *floor_source;  /* "policy", "min_guarantee", NULL */
	gboolean is_windows;       /* inspection found Windows on its disks */

	KvCgroupVersion cg_version;
	char *cg_dir;           /* absolute path below the root, or NULL */
	guint64 cg_limit_bytes; /* KV_UNLIMITED when none */
	guint64 cg_usage_bytes;

	KvMergePolicy merge_policy; /* from the live domain XML */
	GArray *node_kib;           /* KvGuestNodeKib from numa_maps, with 2+ host
	                                 nodes; NULL when unknown */
} KvGuestSense;

void kv_guest_sense_free(KvGuestSense *g);

typedef struct {
	gint64 time_us;      /* monotonic */
	guint64 interval_ms; /* since the previous snapshot; 0 first */
	gsize page_size;

	KvMeminfo meminfo;
	gboolean have_psi;
	double psi_some_avg10, psi_full_avg10; /* percent */

	gboolean have_ksm;
	KvKsm *ksm; /* NULL when the kernel has no KSM */
	gboolean have_ksmd_cpu;
	double ksmd_cpu_s;         /* ksmd CPU seconds since the last tick */
	gboolean have_deltas;      /* counters below compare two ticks */
	guint64 prev_run;          /* KSM run at the previous tick */
	gint64 merged_delta_pages; /* change of pages_sharing + ksm_zero_pages */
	guint64 scanned_delta_pages;
	gboolean have_full_scans;
	guint64 full_scans_delta; /* complete passes of ksmd since the last tick */
	KvVmstat vmstat;
	guint64 pswpin_delta, pswpout_delta, ksm_swpin_copy_delta;

	guint n_numa_nodes;
	GArray *nodes;      /* KvNodeSense, ascending id (ids need not be contiguous) */
	GPtrArray *guests;  /* KvGuestSense, sorted by name */
	GPtrArray *notes;   /* char*: what could not be sensed */
	gboolean hv_failed; /* the hypervisor did not answer */
	char *hv_error;     /* why, when hv_failed */
} KvSnapshot;

KvSnapshot *kv_snapshot_new(void);
void kv_snapshot_free(KvSnapshot *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvSnapshot, kv_snapshot_free)

G_END_DECLS
