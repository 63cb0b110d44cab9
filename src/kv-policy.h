/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy.h: what the balancer senses in one tick, how it is configured,
 * and the pure functions that decide what to change.
 *
 * Sensing (kv-sense.c) fills a KvSnapshot; the decide functions here turn
 * a snapshot, the configuration and the policy state (what earlier ticks
 * learned) into a KvPlan: a list of actions, each with the reason for it,
 * and one summary line per policy.  Acting (kv-act.c) applies a plan.
 * Nothing in this file does I/O, so every rule is tested with tables of
 * cases (tests/unit/test-policy.c).
 *
 * Rules shared by every policy:
 *  - an action is planned only when it changes a value (a controller
 *    writes only knobs that change);
 *  - every actuator has hysteresis (separate "on" and "off" thresholds)
 *    and a rate limit (ticks between two changes of one guest);
 *  - a reason in plain words goes with every action and every summary.
 */
#pragma once

#include <glib.h>

#include "kv-host.h"

G_BEGIN_DECLS

/* Where the actuators write, below the context root. */
#define KV_KSM_SYSFS_DIR "/sys/kernel/mm/ksm"
#define KV_CGROUP_V1_MEMORY_DIR "/sys/fs/cgroup/memory"
#define KV_CGROUP_V2_DIR "/sys/fs/cgroup/unified"

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
	char *uuid;                   /* may be NULL */
	int pid;                      /* 0: unknown */
	guint64 ram_kib;              /* configured maximum */
	guint64 rss_kib, swap_kib;
	guint64 merging_pages;        /* ksm_stat ksm_merging_pages */
	int priority;                 /* higher: more important; default 0 */
	gboolean has_policy;          /* priority/floor from the live domain XML */

	gboolean has_balloon;         /* libvirt reports balloon.current */
	gboolean has_balloon_driver;  /* and the guest driver reports usage */
	guint64 balloon_actual_kib;   /* current balloon target */
	guint64 balloon_max_kib;
	guint64 balloon_available_kib, balloon_unused_kib, balloon_usable_kib;
	guint64 balloon_floor_kib;    /* min-balloon-mib or min_guarantee; 0: none */
	const char *floor_source;     /* "policy", "min_guarantee", NULL */
	gboolean is_windows;          /* inspection found Windows on its disks */

	KvCgroupVersion cg_version;
	char *cg_dir;                 /* absolute path below the root, or NULL */
	guint64 cg_limit_bytes;       /* KV_UNLIMITED when none */
	guint64 cg_usage_bytes;

	GArray *node_kib;             /* KvGuestNodeKib from numa_maps, with 2+ host
	                                 nodes; NULL when unknown */
} KvGuestSense;

void kv_guest_sense_free(KvGuestSense *g);

typedef struct {
	gint64 time_us;               /* monotonic */
	guint64 interval_ms;          /* since the previous snapshot; 0 first */
	gsize page_size;

	KvMeminfo meminfo;
	gboolean have_psi;
	double psi_some_avg10, psi_full_avg10;   /* percent */

	gboolean have_ksm;
	KvKsm *ksm;                   /* NULL when the kernel has no KSM */
	gboolean have_ksmd_cpu;
	double ksmd_cpu_s;            /* ksmd CPU seconds since the last tick */
	gboolean have_deltas;         /* counters below compare two ticks */
	guint64 prev_run;             /* KSM run at the previous tick */
	gint64 merged_delta_pages;    /* change of pages_sharing + ksm_zero_pages */
	guint64 scanned_delta_pages;
	gboolean have_full_scans;
	guint64 full_scans_delta;     /* complete passes of ksmd since the last tick */
	KvVmstat vmstat;
	guint64 pswpin_delta, pswpout_delta, ksm_swpin_copy_delta;

	guint n_numa_nodes;
	GArray *nodes;                /* KvNodeSense, ascending id (ids need not be contiguous) */
	GPtrArray *guests;            /* KvGuestSense, sorted by name */
	GPtrArray *notes;             /* char*: what could not be sensed */
	gboolean hv_failed;           /* the hypervisor did not answer */
	char *hv_error;               /* why, when hv_failed */
} KvSnapshot;

KvSnapshot *kv_snapshot_new(void);
void kv_snapshot_free(KvSnapshot *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvSnapshot, kv_snapshot_free)

typedef enum {
	KV_ADVISOR_OFF,               /* ksmvirtd drives pages_to_scan itself */
	KV_ADVISOR_SCAN_TIME,         /* leave pages_to_scan to the kernel */
	KV_ADVISOR_AUTO,              /* the advisor when ksmd CPU cannot be measured */
} KvAdvisorUse;

/* Every key of ksmvirtd.conf(5); kv_config_defaults() sets the defaults. */
typedef struct {
	guint tick_ms;
	gboolean dry_run;
	guint history_max_kib;
	/* The control socket (kv-server.h). */
	guint max_connections;        /* served at once; more are refused */
	guint idle_timeout_s;         /* a connection moving no byte is closed */
	guint max_line_kib;           /* longest request line */
	/* Only guests whose name matches one of these shell globs (separated
	 * by ';', ',' or spaces) are sensed and managed; "" for every guest. */
	char guests[256];

	gboolean ksm_manage;
	double overcommit_ratio;      /* guest RAM / MemTotal above this: on */
	guint avail_low_pct;          /* MemAvailable below: pressure */
	guint avail_high_pct;         /* MemAvailable above: comfortable */
	double psi_some_on_pct;
	double psi_some_off_pct;
	guint64 pages_to_scan_min, pages_to_scan_max, pages_to_scan_start;
	guint sleep_ms;
	double min_gain_pages_per_cpu_s;
	guint backoff_ticks;
	guint64 rearm_swpin_copies;   /* pages copied at swap-in per tick: scan again */
	KvAdvisorUse advisor;
	guint advisor_max_cpu_pct;
	guint64 unmerge_reserve_mib;

	gboolean balloon_manage;
	guint balloon_step_pct;       /* of the guest maximum per change */
	guint balloon_guest_free_pct; /* keep this much of actual unused in the guest */
	guint balloon_interval_ticks; /* at least this many ticks between changes */
	guint64 balloon_min_change_mib;
	guint balloon_guests_per_tick; /* at most this many balloons move per tick */

	gboolean swap_manage;
	double swap_psi_full_on_pct;
	double swap_psi_full_off_pct;
	guint swap_step_pct;          /* of guest RAM per step */
	guint swap_min_pct;           /* never limit below this % of guest RAM */
	guint swap_busy_ticks;        /* after EBUSY, leave the guest this long */
	guint swap_guests_per_tick;   /* at most this many limits change per tick */

	int merge_across_nodes;       /* -1: leave as is */
	guint node_free_low_pct;      /* a node with less MemFree is under pressure */
	guint node_free_high_pct;     /* ... until it has this much again */

	/* Held (flock, non-blocking) around KSM writes on the real system, so
	 * the balancer and other tools that change KSM settings take turns;
	 * "" for none. */
	char ksm_lock_file[256];

	/* use_zero_pages on while a Windows guest runs (they zero their free
	 * memory); kv_policy_zero_pages. */
	gboolean zero_pages_for_windows;

	/* Guest OS inspection in ksmvirtd (kv-inspect-queue.h). */
	gboolean inspect_enabled;
	guint inspect_timeout_s;      /* an appliance is killed after this */
	guint inspect_interval_s;     /* running guests' disks looked at again */
	char inspect_cache_file[256]; /* "": STATE_DIR/inspect-cache.json */
} KvConfig;

void kv_config_defaults(KvConfig *cfg);

/* What earlier ticks learned; kept across restarts (kv-balancer.c). */
typedef struct {
	guint64 tick;
	gboolean ksm_active;          /* hysteresis: in "merge" mode */
	guint low_gain_ticks;
	gboolean backed_off;
	double gain_pages_per_cpu_s;  /* last measured; < 0: not measured */
	guint64 full_scans_since_on;  /* KSM merges from its second pass only */
	gboolean numa_unmerging;      /* run=2 issued for a merge_across_nodes change */
	guint64 numa_restore_run;
	guint64 numa_busy_until_tick; /* EBUSY seen: wait */
	guint64 ksm_blocked_until_tick;   /* a KSM write failed for good: wait */
	char *ksm_blocked_error;
	GHashTable *guests;           /* name -> KvGuestPolicyState */
	GArray *pressed_nodes;        /* int: host nodes under pressure (hysteresis) */
} KvPolicyState;

typedef struct {
	guint64 balloon_changed_tick; /* 0: never */
	guint64 cg_busy_until_tick;
	guint64 cg_original_limit_bytes;  /* before we lowered it; 0: untouched */
} KvGuestPolicyState;

KvPolicyState *kv_policy_state_new(void);
void kv_policy_state_free(KvPolicyState *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvPolicyState, kv_policy_state_free)
/* Returns the state of guest NAME, created on first use. */
KvGuestPolicyState *kv_policy_state_guest(KvPolicyState *st, const char *name);

typedef enum {
	KV_ACTION_KSM_KNOB,           /* write knob = value (or value_str) */
	KV_ACTION_BALLOON,            /* set guest balloon to target_kib */
	KV_ACTION_CGROUP_LIMIT,       /* write cg_file = target bytes */
} KvActionKind;

typedef enum {
	KV_RESULT_PENDING,
	KV_RESULT_DONE,
	KV_RESULT_DRY_RUN,
	KV_RESULT_TRANSIENT,          /* try again later (EBUSY, EAGAIN, ENOMEM) */
	KV_RESULT_PERMANENT,          /* do not retry (EROFS, EACCES, EINVAL, ENOENT) */
} KvActionResult;

typedef struct {
	KvActionKind kind;
	char *policy;                 /* "ksm", "numa", "balloon", "swap" */
	KvKsmKnob knob;
	guint64 old_value, value;
	char *value_str;              /* advisor_mode */
	char *guest;
	char *uuid;
	char *cg_file;                /* absolute path below the root */
	KvCgroupVersion cg_version;
	char *reason;
	KvActionResult result;
	int errnum;
	char *error;                  /* message when result is TRANSIENT/PERMANENT */
} KvAction;

void kv_action_free(KvAction *a);
/* kv_action_describe: "ksm: pages_to_scan 100 -> 200 (reason)". */
char *kv_action_describe(const KvAction *a);
const char *kv_action_result_to_string(KvActionResult r);

typedef struct {
	char *policy;
	char *decision;               /* short: "on", "off", "keep", "back off" */
	char *reason;
} KvSummary;

typedef struct {
	GPtrArray *actions;           /* KvAction */
	GPtrArray *summaries;         /* KvSummary, one per policy */
} KvPlan;

KvPlan *kv_plan_new(void);
void kv_plan_free(KvPlan *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvPlan, kv_plan_free)
/* The summary of POLICY in PLAN, or NULL. */
const KvSummary *kv_plan_summary(const KvPlan *p, const char *policy);

/* Host condition shared by every policy. */
typedef struct {
	guint64 guest_ram_kib;
	double overcommit;            /* guest RAM / MemTotal */
	double avail_pct;             /* MemAvailable / MemTotal */
	gboolean overcommitted, low_memory, psi_pressure, comfortable;
	gboolean swap_pressure, swap_comfortable;
} KvHostCondition;

/* kv_policy_condition: pure; classifies the host. */
void kv_policy_condition(const KvSnapshot *s, const KvConfig *cfg, KvHostCondition *c);

/* kv_policy_unmerge_fits: TRUE when unmerging everything (run=2) would
 * bring back no more than MemAvailable minus the reserve.  *NEED_KIB and
 * *ROOM_KIB (optional) get both sides. */
gboolean kv_policy_unmerge_fits(const KvSnapshot *s, const KvConfig *cfg,
				guint64 *need_kib, guint64 *room_kib);

/* kv_policy_node_pressure: pure; updates ST's set of host nodes under
 * pressure: a node enters when its MemFree falls under node-free-low-percent
 * of its MemTotal and leaves once it is back at node-free-high-percent
 * (hysteresis).  With one node there is never node pressure (MemAvailable
 * covers it).  kv_policy_numa() calls it first each tick. */
void kv_policy_node_pressure(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st);
/* kv_policy_node_pressed: TRUE when host node ID is in ST's set. */
gboolean kv_policy_node_pressed(const KvPolicyState *st, int id);
/* kv_guest_pressed_kib: KiB of G resident on nodes under pressure. */
guint64 kv_guest_pressed_kib(const KvGuestSense *g, const KvPolicyState *st);

/* The decide functions: each appends its actions and one summary to PLAN
 * and updates ST.  No I/O. */
void kv_policy_numa(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan);
void kv_policy_ksm(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan);
void kv_policy_balloon(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan);
void kv_policy_swap(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan);
/* kv_policy_zero_pages: use_zero_pages on while a Windows guest
 * (KvGuestSense.is_windows) runs; never turned off by ksmvirtd. */
void kv_policy_zero_pages(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan);

/* kv_policy_decide: every policy in order (NUMA first: an unmerge in
 * progress holds KSM back).  Increments ST->tick.  Returns a new plan. */
KvPlan *kv_policy_decide(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st);

/* kv_policy_learn: feeds the results of acting on PLAN back into ST
 * (EBUSY on a cgroup limit or merge_across_nodes starts a wait). */
void kv_policy_learn(const KvPlan *plan, const KvConfig *cfg, KvPolicyState *st);

G_END_DECLS
