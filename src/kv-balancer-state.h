/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-balancer-state.h: what the balancer keeps in its state directory:
 * the policy state (balancer-state.json, read back at start) and the
 * history (history.jsonl, one line a tick, read by kv-history.h). */
#pragma once

#include <glib.h>

#include "kv-policy.h"

G_BEGIN_DECLS

#define KV_BALANCER_STATE_FILE "balancer-state.json"
#define KV_HISTORY_FILE "history.jsonl"
#define KV_HISTORY_SCHEMA "ksmvirt-history/1"

/* kv_balancer_state_save: replaces PATH with PST, the real time of the
 * tick (TIME_US) and its PLAN (may be NULL).  Returns FALSE with ERROR. */
gboolean kv_balancer_state_save(const char *path, const KvPolicyState *pst, gint64 time_us,
				const KvPlan *plan, GError **error);

/* kv_balancer_state_load: fills PST from PATH.  Returns TRUE when
 * restored; FALSE without ERROR when PATH does not exist; FALSE with
 * ERROR (a message for the log, saying the state starts afresh) when it
 * cannot be read, does not parse (it is then set aside) or has another
 * schema. */
gboolean kv_balancer_state_load(const char *path, KvPolicyState *pst, GError **error);

/* kv_balancer_history_append: appends one line for the tick (snapshot S,
 * state PST after it, PLAN, real time TIME_US) to PATH, never through a
 * symlink nor into anything but a regular file.  Past MAX_BYTES / 2 the
 * file becomes PATH.1 first (two halves kept).  Returns FALSE with ERROR. */
gboolean kv_balancer_history_append(const char *path, guint64 max_bytes, const KvSnapshot *s,
				    const KvPolicyState *pst, const KvPlan *plan, gint64 time_us,
				    gboolean dry_run, GError **error);

G_END_DECLS
