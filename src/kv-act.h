/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-act.h: applies a plan (kv-plan.h): KSM sysfs writes, balloon moves
 * through the hypervisor, memory cgroup limit writes.  Every write goes
 * below the context root.  A failed write is classed as transient (worth
 * another try later: EBUSY, EAGAIN, ENOMEM, EINTR) or permanent (EROFS,
 * EACCES, EPERM, EINVAL, ENOENT, ...), and recorded in the action. */
#pragma once

#include <glib.h>

#include "kv-ctx.h"
#include "kv-hv.h"
#include "kv-plan.h"

G_BEGIN_DECLS

/* Where the actuators write, below the context root. */
#define KV_KSM_SYSFS_DIR "/sys/kernel/mm/ksm"
#define KV_CGROUP_V1_MEMORY_DIR "/sys/fs/cgroup/memory"
#define KV_CGROUP_V2_DIR "/sys/fs/cgroup/unified"

/* kv_act_classify_errno: KV_RESULT_TRANSIENT or KV_RESULT_PERMANENT. */
KvActionResult kv_act_classify_errno(int errnum);

/* kv_act_write_file: writes TEXT to PATH below the root (O_WRONLY|O_TRUNC,
 * one write).  Returns 0 or a positive errno. */
int kv_act_write_file(const KvCtx *ctx, const char *path, const char *text);

/* kv_act: applies every action of PLAN in order and sets its result.
 * DRY_RUN: nothing is written, every action ends as KV_RESULT_DRY_RUN.
 * HV may be NULL (balloon actions then fail as permanent).  Returns the
 * number of failed actions.  Actions whose result is already set (not
 * KV_RESULT_PENDING) are left alone. */
guint kv_act(const KvCtx *ctx, KvHv *hv, KvPlan *plan, gboolean dry_run);

G_END_DECLS
