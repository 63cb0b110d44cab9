/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy-apply.h: `ksmvirt policy`: change one guest's policy in its
 * domain metadata (live and persistent) and apply it to the running
 * guest at once, as ksmvirtd's isolation step would (kv-isolation.h),
 * refusing a merge="off" whose unmerge does not fit in memory. */
#pragma once

#include <glib.h>
#include "kv-config.h"
#include "kv-ctx.h"
#include "kv-hv.h"

G_BEGIN_DECLS

typedef struct {
	char *guest;
	char *before, *after; /* the policy, kv_policy_edit_describe() */
	gboolean active;      /* the guest runs: applied now */
	char *group;          /* its merge group, with the new policy */
	char *isolation;      /* kv_isolation_summary() with the new policy */
	GPtrArray *applied;   /* char*: "RAM merge off (reason)", one per change */
} KvPolicyChange;

void kv_policy_change_free(KvPolicyChange *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvPolicyChange, kv_policy_change_free)

/* kv_policy_change: applies ARGS (see kv_policy_edit_apply()) to domain
 * GUEST's policy, writes it back through HV (read-write) and, when the
 * guest runs, sets its memory backends' merging as the isolation
 * decision over every running guest wants (CFG's [isolation]).  Turning
 * merging off needs room for the guest's merged pages
 * (/proc/PID/ksm_stat ksm_merging_pages) in MemAvailable minus [ksm]
 * unmerge-reserve-mib: otherwise nothing is changed and the call fails
 * with KV_ERROR_FAILED saying so.  DRY_RUN: everything but the writes.
 * Returns NULL with ERROR (G_OPTION_ERROR for a bad argument). */
KvPolicyChange *kv_policy_change(const KvCtx *ctx, KvHv *hv, const KvConfig *cfg, const char *guest,
				 const char *const *args, gboolean dry_run, GError **error);

/* kv_policy_groups: domain name -> merge-isolation group of every running
 * domain HV knows (its policy, else CFG's [isolation] by), and in
 * *SUMMARY (optional) the isolation decision over them,
 * kv_isolation_summary().  Returns NULL with ERROR when HV cannot list
 * them. */
GHashTable *kv_policy_groups(KvHv *hv, const KvConfig *cfg, char **summary, GError **error);

G_END_DECLS
