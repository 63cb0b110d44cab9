/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-ksmd.h: the ksmd kernel thread: which process it is, and the CPU
 * time it has used. */
#pragma once

#include <glib.h>

#include "kv-ctx.h"

G_BEGIN_DECLS

/* kv_ksmd_find: the pid of ksmd (comm "ksmd", a child of kthreadd) among
 * PIDS (int; NULL: every process below the root).  Returns 0 when none. */
int kv_ksmd_find(const KvCtx *ctx, GArray *pids);

/* kv_ksmd_cpu_ticks: utime + stime of PID in clock ticks.  Returns FALSE
 * when PID is not positive or its stat cannot be read. */
gboolean kv_ksmd_cpu_ticks(const KvCtx *ctx, int pid, guint64 *ticks);

G_END_DECLS
