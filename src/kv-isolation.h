/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-isolation.h: merge isolation, decided.  Each guest belongs to a
 * group (its policy's group=, else ksmvirtd.conf [isolation] by); pages of
 * guests in different groups must never be merged together.  The stock
 * kernel cannot keep groups apart, so with two or more groups the fallback
 * applies: "strict" lets one group merge (the one with the most guest RAM,
 * unless [isolation] merging-group names it) and turns merging off for
 * the guests of every other group; "warn" merges everything and says so.
 * A guest's own merge="off" (and each <ksmvirt:node cell= merge=>) applies
 * in both modes.
 *
 * Pure: no I/O; tested with tables (tests/unit/test-isolation.c).  The
 * balancer's decide step is kv_policy_isolation(). */
#pragma once

#include <glib.h>
#include "kv-config.h"
#include "kv-guest-policy.h"
#include "kv-plan.h"
#include "kv-policy-state.h"
#include "kv-snapshot.h"

G_BEGIN_DECLS

/* The group of guests that name none, with [isolation] by = none (or by =
 * owner and no owner in their metadata). */
#define KV_ISOLATION_DEFAULT_GROUP "default"

/* kv_isolation_group: the group of guest NAME with policy P (may be NULL).
 * Returns a new string. */
char *kv_isolation_group(const KvConfig *cfg, const KvMergePolicy *p, const char *name);

/* One guest, as the decision needs it. */
typedef struct {
	const char *name;
	guint64 ram_kib;
	const KvMergePolicy *policy; /* may be NULL */
} KvIsolationInput;

/* What is wanted of one guest. */
typedef struct {
	char *name;
	char *group;
	/* The whole guest: OFF (merging must be off), ON (its policy says
	 * merge="on"), DEFAULT (nothing asked: left as QEMU started it). */
	KvPolicyMerge want;
	char *reason;  /* why OFF or ON; NULL for DEFAULT */
	GArray *cells; /* KvCellMerge wanted per cell; empty when want is OFF */
} KvIsolationGuest;

typedef struct {
	KvIsolationFallback fallback; /* as configured */
	guint n_groups;
	gboolean enforced;    /* strict with two or more groups */
	char *merging_group;  /* when enforced */
	char *merging_reason; /* why that group */
	GPtrArray *guests;    /* KvIsolationGuest, in input order */
	GPtrArray *warnings;  /* char*: e.g. warn mode with several groups */
} KvIsolation;

void kv_isolation_free(KvIsolation *iso);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvIsolation, kv_isolation_free)

/* kv_isolation_decide: the groups of the N guests of IN and what is
 * wanted of each. */
KvIsolation *kv_isolation_decide(const KvIsolationInput *in, guint n, const KvConfig *cfg);

/* kv_isolation_summary: one line: the mode in force, which group merges
 * and why.  A new string. */
char *kv_isolation_summary(const KvIsolation *iso);

/* kv_policy_isolation: the balancer's decide step: compares what
 * kv_isolation_decide() wants of each running guest with what earlier ticks
 * applied (ST), and plans KV_ACTION_GUEST_MERGE actions.  Turning merging
 * off brings every merged page of the guest back as a private copy, so it
 * is planned only while MemAvailable minus [ksm] unmerge-reserve-mib holds
 * the guest's merged pages (ksm_merging_pages); otherwise it is staged and
 * the summary says so.  Turning merging back on is planned only for
 * backends ksmvirtd itself turned off, or where the policy says "on". */
void kv_policy_isolation(const KvSnapshot *s, const KvConfig *cfg, KvPolicyState *st, KvPlan *plan);

/* kv_isolation_merge_state: what merging of guest G is, as far as
 * ksmvirtd knows: "off" or "on" as it applied to G's QEMU (with the cells
 * it set apart, "on, cell 1 off"), "off (nosharepages)" when QEMU started
 * it so, else "on".  A new string. */
char *kv_isolation_merge_state(const KvGuestSense *g, const KvPolicyState *st);

/* kv_policy_isolation_learn: records in ST what a done action of PLAN
 * applied, and holds a guest back for a while after a failure. */
void kv_policy_isolation_learn(const KvPlan *plan, KvPolicyState *st);

G_END_DECLS
