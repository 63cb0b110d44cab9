/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon.h: ksmvirtd's state, shared by its main loop (ksmvirtd.c), the
 * hook events and the registry (registry.c) and the balancer's tick
 * (balance.c); guest OS inspection keeps its own (inspect.h). */
#pragma once

#include <glib.h>

#include "kv-balancer.h"
#include "kv-config.h"
#include "kv-ctx.h"
#include "kv-event.h"
#include "kv-registry.h"
#include "kv-server.h"
#include "ksmvirtd/inspect.h"
#include "ksmvirtd/log.h"

G_BEGIN_DECLS

typedef struct {
	gchar *socket_path;
	gchar *spool_dir;
	gchar *registry_path;
	KvRegistry *reg;
	GMainLoop *loop;
	KvServer *server;
	/* The status document, built at most every STATUS_REUSE_US and once
	 * after each tick, however many clients ask. */
	gchar *status_doc;
	gint64 status_built_us;
	gboolean saving; /* a registry write runs in a worker thread */
	gboolean dirty;  /* the registry changed since that write began */
	/* Hook events acknowledged once the registry holding them is saved:
	 * waiting for the next write, and covered by the running one. */
	GPtrArray *acks_waiting, *acks_in_flight;
	KvBalancer *bal; /* NULL with --no-balance */
	KvConfig cfg;
	gchar *config_path;
	guint tick_source;
	gboolean dry_run_forced; /* --dry-run: survives reloads */
	const char *qemu_user;   /* --qemu-user, NULL: qemu.conf's */
	KvdInspector *insp;      /* NULL with --oneshot */
} Daemon;

/* registry.c: the hook's events folded into the registry, which is saved
 * before they are acknowledged; the spool replayed. */

/* kvd_registry_open: loads the registry (one that does not parse is set
 * aside; either way the daemon starts), orders this boot's events after
 * earlier ones, forgets guests gone long ago. */
void kvd_registry_open(Daemon *d, const KvCtx *ctx);
/* kvd_registry_event: folds EV in; CLIENT gets "ok ID" once it is saved. */
void kvd_registry_event(Daemon *d, KvServerClient *client, const KvEvent *ev);
/* kvd_registry_replay_spool: every spooled event in order, then saved and
 * removed.  Returns the number applied. */
guint kvd_registry_replay_spool(Daemon *d);
/* kvd_registry_expire: forget guests gone long ago, save soon. */
void kvd_registry_expire(Daemon *d);
/* kvd_registry_save: now, synchronously (at start, after a replay). */
void kvd_registry_save(Daemon *d);
/* kvd_registry_close: at exit: the last writes done, every event
 * acknowledged or refused, the registry freed. */
void kvd_registry_close(Daemon *d);

/* balance.c: the balancer's side of the loop. */

/* kvd_balance_open: the balancer (d->bal) over CTX, the registry as the
 * source of guest policy and the inspection runner of the guest OS. */
void kvd_balance_open(Daemon *d, const KvCtx *ctx, gboolean use_libvirt, const char *uri, const char *state_dir);
/* kvd_balance_start: the first tick once the loop turns, then every
 * tick-seconds. */
void kvd_balance_start(Daemon *d);
/* kvd_balance_reconfigure: d->cfg was reloaded: hand it to the balancer,
 * retime the ticks when tick-seconds changed from OLD_TICK_MS. */
void kvd_balance_reconfigure(Daemon *d, guint old_tick_ms);

G_END_DECLS
