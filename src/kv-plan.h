/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-plan.h: what the decide functions want changed (KvPlan): actions,
 * each with its reason and, once acted on, its result, and one summary
 * per policy. */
#pragma once

#include <glib.h>

#include "kv-host.h"
#include "kv-snapshot.h"

G_BEGIN_DECLS

typedef enum {
	KV_ACTION_KSM_KNOB,     /* write knob = value (or value_str) */
	KV_ACTION_BALLOON,      /* set guest balloon to target_kib */
	KV_ACTION_CGROUP_LIMIT, /* write cg_file = target bytes */
	KV_ACTION_GUEST_MERGE,  /* guest RAM mergeable (value 1) or not (0):
	                           backend value_str, "" for all */
} KvActionKind;

typedef enum {
	KV_RESULT_PENDING,
	KV_RESULT_DONE,
	KV_RESULT_DRY_RUN,
	KV_RESULT_TRANSIENT, /* try again later (EBUSY, EAGAIN, ENOMEM) */
	KV_RESULT_PERMANENT, /* do not retry (EROFS, EACCES, EINVAL, ENOENT) */
} KvActionResult;

typedef struct {
	KvActionKind kind;
	char *policy; /* "ksm", "numa", "balloon", "swap" */
	KvKsmKnob knob;
	guint64 old_value, value;
	char *value_str; /* advisor_mode */
	char *guest;
	char *uuid;
	char *cg_file; /* absolute path below the root */
	KvCgroupVersion cg_version;
	char *reason;
	KvActionResult result;
	int errnum;
	char *error; /* message when result is TRANSIENT/PERMANENT */
} KvAction;

void kv_action_free(KvAction *a);
/* kv_action_describe: "ksm: pages_to_scan 100 -> 200 (reason)". */
char *kv_action_describe(const KvAction *a);
const char *kv_action_result_to_string(KvActionResult r);

typedef struct {
	char *policy;
	char *decision; /* short: "on", "off", "keep", "back off" */
	char *reason;
} KvSummary;

typedef struct {
	GPtrArray *actions;   /* KvAction */
	GPtrArray *summaries; /* KvSummary, one per policy */
} KvPlan;

KvPlan *kv_plan_new(void);
void kv_plan_free(KvPlan *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvPlan, kv_plan_free)
/* The summary of POLICY in PLAN, or NULL. */
const KvSummary *kv_plan_summary(const KvPlan *p, const char *policy);

/* kv_plan_summarize: appends POLICY's summary: its DECISION and the
 * reason, formatted from FMT. */
G_GNUC_PRINTF(4, 5)
void kv_plan_summarize(KvPlan *p, const char *policy, const char *decision, const char *fmt, ...);
/* kv_plan_add_ksm: appends an action of POLICY setting KNOB to VALUE (its
 * old value from KSM).  Returns the action, owned by P. */
KvAction *kv_plan_add_ksm(KvPlan *p, const char *policy, const KvKsm *ksm, KvKsmKnob knob, guint64 value,
			  const char *reason);
/* kv_plan_add_guest: appends an action of KIND and POLICY on guest G from
 * OLD_VALUE to VALUE; takes REASON.  Returns the action, owned by P. */
KvAction *kv_plan_add_guest(KvPlan *p, KvActionKind kind, const char *policy, const KvGuestSense *g,
			    guint64 old_value, guint64 value, char *reason);

G_END_DECLS
