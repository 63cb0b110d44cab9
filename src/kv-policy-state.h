/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy-state.h: what the decide functions learned in earlier ticks
 * (KvPolicyState): hysteresis, back-off, waits, per-guest rate limits. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What earlier ticks learned; kept across restarts (kv-balancer.c). */
typedef struct {
	guint64 tick;
	gboolean ksm_active; /* hysteresis: in "merge" mode */
	guint low_gain_ticks;
	gboolean backed_off;
	double gain_pages_per_cpu_s; /* last measured; < 0: not measured */
	guint64 full_scans_since_on; /* KSM merges from its second pass only */
	gboolean numa_unmerging;     /* run=2 issued for a merge_across_nodes change */
	guint64 numa_restore_run;
	guint64 numa_busy_until_tick;   /* EBUSY seen: wait */
	guint64 ksm_blocked_until_tick; /* a KSM write failed for good: wait */
	char *ksm_blocked_error;
	GHashTable *guests;    /* name -> KvGuestPolicyState */
	GArray *pressed_nodes; /* int: host nodes under pressure (hysteresis) */
} KvPolicyState;

typedef struct {
	guint64 balloon_changed_tick; /* 0: never */
	guint64 cg_busy_until_tick;
	guint64 cg_original_limit_bytes; /* before we lowered it; 0: untouched */
	/* Merge isolation (kv-isolation.h): what ksmvirtd set on the QEMU
	 * process MERGE_PID, backend id ("" for all) -> KvPolicyMerge. */
	int merge_pid;
	GHashTable *merge_applied;
	guint64 merge_blocked_until_tick; /* a change failed: wait */
} KvGuestPolicyState;

KvPolicyState *kv_policy_state_new(void);
void kv_policy_state_free(KvPolicyState *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvPolicyState, kv_policy_state_free)
/* Returns the state of guest NAME, created on first use. */
KvGuestPolicyState *kv_policy_state_guest(KvPolicyState *st, const char *name);

G_END_DECLS
