/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-balancer.h: one entry point for the daemon and the CLI: each tick
 * senses (kv-sense), decides (kv-policy), acts (kv-act), feeds the results
 * back into the policy state, and records what it saw and did.
 *
 * With a state directory the balancer keeps there:
 *   balancer-state.json   policy state and the last tick (survives restarts)
 *   history.jsonl         one JSON line per tick, bounded in size (the
 *                         previous part is kept as history.jsonl.1)
 */
#pragma once

#include <glib.h>

#include "kv-ctx.h"
#include "kv-hv.h"
#include "kv-policy.h"
#include "kv-sense.h"
#include "kv-status-client.h"
#include "kv-status.h"

G_BEGIN_DECLS

typedef struct {
	const KvCtx *ctx;      /* borrowed, outlives the balancer */
	gboolean use_libvirt;  /* connect to libvirt (and reconnect) */
	const char *uri;       /* NULL: qemu:///system when running */
	const char *state_dir; /* NULL: nothing kept */
	KvPolicyLookup lookup; /* may be NULL */
	gpointer lookup_data;
	KvOsLookup is_windows; /* may be NULL; called with lookup_data */
	GArray *pids;          /* int: also treat as guests; may be NULL */
	const char *qemu_user; /* libvirt's QEMU user; NULL: qemu.conf's */
	/* Opens the hypervisor (default: kv_hv_libvirt_open_rw); tests put a
	 * fake behind the KvHv interface here.  Called again after the
	 * hypervisor stopped answering. */
	KvHv *(*open_hv)(const KvCtx *ctx, const char *uri, gpointer data, GError **error);
	gpointer open_hv_data;
} KvBalancerOptions;

typedef struct KvBalancer KvBalancer;

/* kv_balancer_new: loads the policy state from the state directory when
 * there is one (a missing or unreadable state starts afresh; the reason
 * is kept for kv_balancer_take_notes()). */
KvBalancer *kv_balancer_new(const KvBalancerOptions *opts, const KvConfig *cfg);
void kv_balancer_free(KvBalancer *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvBalancer, kv_balancer_free)

void kv_balancer_set_config(KvBalancer *b, const KvConfig *cfg);
const KvConfig *kv_balancer_get_config(const KvBalancer *b);

/* kv_balancer_tick: sense, decide, act (dry run when the configuration or
 * FORCE_DRY_RUN says so), learn, record.  Returns the plan of this tick
 * (owned by the balancer, valid until the next tick) or NULL with ERROR
 * when nothing could be sensed. */
const KvPlan *kv_balancer_tick(KvBalancer *b, gboolean force_dry_run, GError **error);

/* The last snapshot (NULL before the first tick). */
const KvSnapshot *kv_balancer_snapshot(const KvBalancer *b);

/* kv_balancer_status: the status (kv-status.h): host, guests, the last
 * decisions with their reasons, the last actions with their results.
 * kv_balancer_status_json: the same as its JSON document. */
KvStatus *kv_balancer_status(const KvBalancer *b);
char *kv_balancer_status_json(const KvBalancer *b);

/* kv_balancer_take_notes: messages for the log (state not loaded, a
 * history write failed, libvirt lost...) gathered since the last call.
 * Returns a GPtrArray of char* (possibly empty). */
GPtrArray *kv_balancer_take_notes(KvBalancer *b);

G_END_DECLS
