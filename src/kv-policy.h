/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy.h: the pure functions that decide what the balancer changes.
 *
 * Sensing (kv-sense.c) fills a KvSnapshot (kv-snapshot.h); the decide
 * functions here turn a snapshot, the configuration (kv-config.h) and the
 * policy state (what earlier ticks learned, kv-policy-state.h) into a
 * KvPlan (kv-plan.h): a list of actions, each with the reason for it, and
 * one summary line per policy.  Acting (kv-act.c) applies a plan.
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

#include "kv-act.h" /* the sysfs paths, for kv-sense.c */
#include "kv-config.h"
#include "kv-plan.h"
#include "kv-policy-state.h"
#include "kv-snapshot.h"

G_BEGIN_DECLS

/* Host condition shared by every policy. */
typedef struct {
	guint64 guest_ram_kib;
	double overcommit; /* guest RAM / MemTotal */
	double avail_pct;  /* MemAvailable / MemTotal */
	gboolean overcommitted, low_memory, psi_pressure, comfortable;
	gboolean swap_pressure, swap_comfortable;
} KvHostCondition;

/* kv_policy_condition: pure; classifies the host. */
void kv_policy_condition(const KvSnapshot *s, const KvConfig *cfg, KvHostCondition *c);

/* kv_policy_unmerge_fits: TRUE when unmerging everything (run=2) would
 * bring back no more than MemAvailable minus the reserve.  *NEED_KIB and
 * *ROOM_KIB (optional) get both sides. */
gboolean kv_policy_unmerge_fits(const KvSnapshot *s, const KvConfig *cfg, guint64 *need_kib, guint64 *room_kib);

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
