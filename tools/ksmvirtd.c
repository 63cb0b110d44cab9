/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ksmvirtd: the ksmvirt daemon.
 *
 * This first version keeps the guest registry: it listens on a Unix socket
 * for the events of the libvirt hook (one JSON line per connection,
 * answered with "ok ID" once the registry holding the event is saved, or
 * "error MESSAGE"), folds them into the registry and keeps the registry
 * file up to date.  The socket (kv-server.h) never blocks the main loop:
 * connection cap, idle timeout, bounded lines and answers.  Events the hook could not
 * deliver wait in the spool directory; the daemon replays them at start, on
 * SIGHUP and every few seconds, then removes them.
 *
 * Every tick (tick-seconds in ksmvirtd.conf, 5 s by default) it also runs
 * the balancer (kv-balancer.h): sense, decide, act.  The line "status" on
 * the socket answers with the balancer's status document; SIGHUP reloads
 * the configuration.  Under systemd (Type=notify) it reports READY=1.
 *
 * In the background it inspects the OS on running guests' disks, one
 * libguestfs appliance at a time in a child ("ksmvirtd --inspect-child
 * DISK...") watched from the main loop (ksmvirtd-inspect.h).
 *
 * Usage: ksmvirtd [--socket PATH] [--state-dir DIR] [--config FILE]
 *                 [--root DIR] [--connect URI] [--no-libvirt] [--dry-run]
 *                 [--no-balance] [--oneshot] [--verbose]
 *
 * Exit status: 0 after SIGTERM/SIGINT or a successful --oneshot, 1 when
 * the socket, the state directory or the configuration cannot be set up,
 * 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "kv-balancer.h"
#include "kv-config.h"
#include "kv-escape.h"
#include "kv-event.h"
#include "kv-ident.h"
#include "kv-file.h"
#include "kv-inspect-queue.h"
#include "kv-json.h"
#include "kv-order.h"
#include "kv-registry.h"
#include "kv-server.h"
#include "kv-spool.h"
#include "kv-paths.h"
#include "ksmvirtd/log.h"

#define DEFAULT_SOCKET KV_PATH_SOCKET
#define DEFAULT_STATE_DIR KV_PATH_STATE_DIR
#define SPOOL_POLL_INTERVAL_S 5
/* A status document is reused this long (a burst of requests builds one). */
#define STATUS_REUSE_US (250 * 1000)
/* The longest answer buffered for one client (a status document). */
#define MAX_ANSWER_BYTES (64u << 20)

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
	gboolean saving;  /* a registry write runs in a worker thread */
	gboolean dirty;   /* the registry changed since that write began */
	/* Hook events acknowledged once the registry holding them is saved:
	 * Ack*, waiting for the next write, and covered by the running one. */
	GPtrArray *acks_waiting, *acks_in_flight;
	KvBalancer *bal;  /* NULL with --no-balance */
	KvConfig cfg;
	gchar *config_path;
	guint tick_source;
	gboolean dry_run_forced;  /* --dry-run: survives reloads */
	/* Guest OS inspection (ksmvirtd-inspect.h). */
	const KvCtx *ctx;
	const char *uri;
	const char *qemu_user;    /* --qemu-user, NULL: qemu.conf's */
	KvHv *ihv;                /* read-only libvirt connection */
	KvInspectQueue *iq;
	KvInspectCache *icache;
	GHashTable *os_map;       /* UUID -> KvOsInfo */
	gchar *icache_path, *os_map_path;
	gchar *inote;             /* why inspection cannot run now, or NULL */
	guint inspect_source;
	GPid irun_pid;            /* the running inspection child, or 0 */
	int irun_fd;
	guint irun_fd_source, irun_timeout_source;
	GString *irun_out;
	gchar *irun_uuid, *irun_key;
	gboolean irun_timed_out;
	gint64 irun_started_us;
} Daemon;

static void save_registry(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	if (!kv_registry_save(d->reg, d->registry_path, &err))
		kvd_log(LOG_ERR, "cannot save the registry: %s", err->message);
}

/* An acknowledgement owed to a hook once its event is saved. */
typedef struct {
	KvServerClient *client;
	gchar *reply;
} Ack;

static void ack_free(gpointer p)
{
	Ack *a = p;
	g_free(a->reply);
	g_free(a);
}

/* Answers every Ack in acks: "ok ID" when the registry holding them was
 * saved, else an error (the hook then spools the event). */
static void answer_acks(GPtrArray *acks, const GError *save_error)
{
	for (guint i = 0; i < acks->len; i++) {
		Ack *a = g_ptr_array_index(acks, i);
		g_autofree gchar *err = save_error ?
			g_strdup_printf("error cannot save the registry: %s\n", save_error->message) : NULL;
		kv_server_client_answer(a->client, err ? err : a->reply);
	}
	g_ptr_array_set_size(acks, 0);
}

/* Registry writes fsync: on a busy disk that takes long enough to make
 * hooks wait for their acknowledgement, and an event is acknowledged only
 * once it is on disk.  So the file is written by a worker thread, one
 * write at a time, coalescing the changes that arrive meanwhile (and their
 * acknowledgements) into the next write; the main loop goes on serving. */
static void save_thread(GTask *task, gpointer source, gpointer data,
			GCancellable *cancel)
{
	const char *path = g_object_get_data(G_OBJECT(task), "path");
	GError *err = NULL;
	if (kv_registry_save_json(data, path, &err))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, err);
}

static void start_save(Daemon *d);

static void on_saved(GObject *source, GAsyncResult *res, gpointer data)
{
	Daemon *d = data;
	g_autoptr(GError) err = NULL;
	if (!g_task_propagate_boolean(G_TASK(res), &err))
		kvd_log(LOG_ERR, "cannot save the registry: %s", err->message);
	answer_acks(d->acks_in_flight, err);
	d->saving = FALSE;
	if (d->dirty)
		start_save(d);
}

static void start_save(Daemon *d)
{
	d->dirty = FALSE;
	d->saving = TRUE;
	/* The acknowledgements waiting so far ride on this write. */
	g_ptr_array_extend_and_steal(d->acks_in_flight, d->acks_waiting);
	d->acks_waiting = g_ptr_array_new_with_free_func(ack_free);
	g_autoptr(GTask) task = g_task_new(NULL, NULL, on_saved, d);
	g_object_set_data_full(G_OBJECT(task), "path", g_strdup(d->registry_path), g_free);
	g_task_set_task_data(task, kv_registry_to_json(d->reg), g_free);
	g_task_run_in_thread(task, save_thread);
}

static void save_registry_soon(Daemon *d)
{
	if (d->saving)
		d->dirty = TRUE;
	else
		start_save(d);
}

/* Let a write in flight finish (at exit, before a synchronous save). */
static void wait_saves(Daemon *d)
{
	while (d->saving)
		g_main_context_iteration(NULL, TRUE);
}

static void log_event(const KvEvent *ev, const char *how)
{
	kvd_log(LOG_DEBUG, "%s: %s %s %s (uuid %s)", how, ev->name,
		kv_event_op_to_string(ev->op), ev->subop, ev->uuid ? ev->uuid : "unknown");
}

/* Replay every spooled event in order.  Entries are removed only after the
 * registry holding them is saved; entries that do not decode are renamed
 * to NAME.bad-TIMESTAMP so they are not retried.  Returns the number applied. */
static guint replay_spool(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) paths = kv_spool_list(d->spool_dir, &err);
	if (paths == NULL) {
		kvd_log(LOG_WARNING, "%s", err->message);
		return 0;
	}
	if (paths->len == 0)
		return 0;
	/* The synchronous save below must not be overtaken by an older one. */
	wait_saves(d);
	guint applied = 0;
	for (guint i = 0; i < paths->len; i++) {
		const char *path = g_ptr_array_index(paths, i);
		gsize len = 0;
		g_autoptr(GError) e = NULL;
		g_autofree gchar *buf = kv_spool_read(path, &len, &e);
		g_autoptr(KvEvent) ev = buf ? kv_event_from_json_line(buf, len, &e) : NULL;
		if (ev == NULL) {
			g_autoptr(GError) re = NULL;
			g_autofree gchar *bad = kv_file_set_aside(path, &re);
			if (bad)
				kvd_log(LOG_WARNING, "spooled event %s is unusable (%s): set aside as %s", path,
					e->message, bad);
			else
				kvd_log(LOG_WARNING, "spooled event %s is unusable (%s), cannot be set aside: %s",
					path, e->message, re->message);
			continue;
		}
		kv_registry_apply(d->reg, ev);
		log_event(ev, "replayed");
		applied++;
	}
	g_autoptr(GError) serr = NULL;
	if (!kv_registry_save(d->reg, d->registry_path, &serr)) {
		kvd_log(LOG_ERR, "cannot save the registry, spool kept: %s", serr->message);
		return applied;
	}
	for (guint i = 0; i < paths->len; i++) {
		g_autoptr(GError) e = NULL;
		if (!kv_spool_consume(g_ptr_array_index(paths, i), &e))
			kvd_log(LOG_WARNING, "%s", e->message);
	}
	kvd_log(LOG_INFO, "replayed %u spooled event(s)", applied);
	return applied;
}

static gchar *inspect_status_json(Daemon *d, const char *doc);

static void on_request(KvServerClient *client, const char *line, gsize len, gpointer data)
{
	Daemon *d = data;
	g_autoptr(GError) err = NULL;
	if (!strcmp(line, KV_STATUS_REQUEST)) {
		gint64 now = g_get_monotonic_time();
		if (d->status_doc == NULL || now - d->status_built_us >= STATUS_REUSE_US) {
			g_autofree gchar *bdoc = d->bal ? kv_balancer_status_json(d->bal) : NULL;
			g_free(d->status_doc);
			d->status_doc = bdoc ? inspect_status_json(d, bdoc) :
				g_strdup("error the balancer is off (--no-balance)\n");
			d->status_built_us = now;
		}
		kv_server_client_answer(client, d->status_doc);
		return;
	}
	g_autoptr(KvEvent) ev = kv_event_from_json_line(line, len, &err);
	if (ev == NULL) {
		kvd_log(LOG_WARNING, "rejected an event: %s", err->message);
		g_autofree gchar *reply = g_strdup_printf("error %s\n", err->message);
		kv_server_client_answer(client, reply);
		return;
	}
	gboolean changed = kv_registry_apply(d->reg, ev);
	log_event(ev, changed ? "event" : "stale event");
	Ack *a = g_new0(Ack, 1);
	a->client = client;
	a->reply = g_strdup_printf("ok %s\n", ev->id);
	/* Acknowledge only what is on disk: a crash after "ok" must not lose
	 * the event (the hook spools what is not acknowledged).  A stale
	 * event changes nothing, but may repeat one still being written. */
	g_ptr_array_add(d->acks_waiting, a);
	if (changed || d->saving || d->dirty)
		save_registry_soon(d);
	else
		answer_acks(d->acks_waiting, NULL);
}

static KvServerLimits server_limits(const KvConfig *cfg)
{
	return (KvServerLimits){
		.max_clients = cfg->max_connections,
		.idle_timeout_ms = cfg->idle_timeout_s * 1000,
		.max_line_bytes = (gsize)cfg->max_line_kib * 1024,
		.max_answer_bytes = MAX_ANSWER_BYTES,
	};
}

static gboolean on_quit(gpointer data)
{
	Daemon *d = data;
	kvd_log(LOG_INFO, "stopping");
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

static void reload_config(Daemon *d);

static gboolean on_hup(gpointer data)
{
	reload_config(data);
	replay_spool(data);
	return G_SOURCE_CONTINUE;
}

/* Forget guests gone long ago (kv_registry_expire()). */
static void expire_registry(Daemon *d)
{
	guint n = kv_registry_expire(d->reg, g_get_real_time());
	if (n > 0) {
		kvd_log(LOG_INFO, "forgot %u guest(s) gone from the registry", n);
		save_registry_soon(d);
	}
}

static gboolean on_spool_tick(gpointer data)
{
	replay_spool(data);
	expire_registry(data);
	return G_SOURCE_CONTINUE;
}

#include "ksmvirtd-balance.h"
#include "ksmvirtd-inspect.h"

static void on_server_log(const char *msg, gpointer data)
{
	kvd_log(LOG_WARNING, "control socket: %s", msg);
}

/* Listen on the socket (kv-server.h: mode 0600 from the start, directory
 * checked, a stale socket replaced but never a live daemon).  Returns
 * FALSE with error set on failure. */
static gboolean listen_on(Daemon *d, GError **error)
{
	KvServerLimits lim = server_limits(&d->cfg);
	d->server = kv_server_new(d->socket_path, &lim, on_request, on_server_log, d, error);
	return d->server != NULL;
}

int main(int argc, char **argv)
{
	g_autofree gchar *socket_path = NULL;
	g_autofree gchar *state_dir = NULL;
	gboolean oneshot = FALSE, verbose = FALSE, dry_run = FALSE, no_libvirt = FALSE,
		 no_balance = FALSE;
	g_autofree gchar *config_path = NULL, *root = NULL, *uri = NULL, *qemu_user = NULL;
	/* An inspection child: "ksmvirtd --inspect-child DISK..." */
	if (argc >= 3 && !strcmp(argv[1], INSPECT_CHILD_ARG))
		return inspect_child_main(argc - 2, argv + 2);
	GOptionEntry entries[] = {
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
		  "listen on PATH [" DEFAULT_SOCKET "]", "PATH" },
		{ "state-dir", 'd', 0, G_OPTION_ARG_FILENAME, &state_dir,
		  "registry and spool under DIR [" DEFAULT_STATE_DIR "]", "DIR" },
		{ "oneshot", 0, 0, G_OPTION_ARG_NONE, &oneshot,
		  "replay the spool, save the registry and exit", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "log every event", NULL },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
		  "configuration [" KV_CONFIG_DEFAULT_PATH "]", "FILE" },
		{ "root", 'r', 0, G_OPTION_ARG_FILENAME, &root,
		  "read and write /proc and /sys below DIR (tests)", "DIR" },
		{ "connect", 0, 0, G_OPTION_ARG_STRING, &uri, "libvirt URI [qemu:///system]", "URI" },
		{ "no-libvirt", 0, 0, G_OPTION_ARG_NONE, &no_libvirt, "do not ask libvirt", NULL },
		{ "qemu-user", 0, 0, G_OPTION_ARG_STRING, &qemu_user,
		  "libvirt runs QEMU as USER [qemu.conf's user, else " KV_QEMU_USER_DEFAULT "]", "USER" },
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "decide but change nothing", NULL },
		{ "no-balance", 0, 0, G_OPTION_ARG_NONE, &no_balance, "keep the registry only", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- ksmvirt daemon");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) err = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 1) {
		kvd_log(LOG_ERR, "%s", err ? err->message : "unexpected argument");
		return 2;
	}
	if (socket_path == NULL)
		socket_path = g_strdup(g_getenv("KSMVIRT_SOCKET") ? g_getenv("KSMVIRT_SOCKET") : DEFAULT_SOCKET);
	if (state_dir == NULL)
		state_dir = g_strdup(g_getenv("KSMVIRT_STATE_DIR") ? g_getenv("KSMVIRT_STATE_DIR") : DEFAULT_STATE_DIR);

	kvd_log_set_max_level(verbose ? LOG_DEBUG : LOG_INFO);
	if (g_mkdir_with_parents(state_dir, 0755) < 0) {
		kvd_log(LOG_ERR, "cannot create %s: %s", state_dir, g_strerror(errno));
		return 1;
	}
	/* Files in it are replaced by rename: nobody else may change it. */
	if (!kv_file_check_dir(state_dir, &err)) {
		kvd_log(LOG_ERR, "unsafe state directory: %s", err->message);
		return 1;
	}

	Daemon d = {
		.config_path = config_path ? g_strdup(config_path) : g_strdup(KV_CONFIG_DEFAULT_PATH),
		.socket_path = socket_path,
		.spool_dir = g_build_filename(state_dir, "spool", NULL),
		.registry_path = g_build_filename(state_dir, "registry.json", NULL),
		.acks_waiting = g_ptr_array_new_with_free_func(ack_free),
		.acks_in_flight = g_ptr_array_new_with_free_func(ack_free),
	};
	d.reg = kv_registry_load(d.registry_path, &err);
	if (d.reg == NULL) {
		g_autoptr(GError) re = NULL;
		g_autofree gchar *bad = g_error_matches(err, KV_REGISTRY_ERROR, KV_REGISTRY_ERROR_PARSE)
						? kv_file_set_aside(d.registry_path, &re) : NULL;
		if (bad)
			kvd_log(LOG_WARNING, "%s: set aside as %s, starting with an empty registry", err->message, bad);
		else
			kvd_log(LOG_WARNING, "%s: starting with an empty registry%s%s", err->message,
				re ? "; cannot set it aside: " : "", re ? re->message : "");
		g_clear_error(&err);
		d.reg = kv_registry_new();
	}

	g_autoptr(KvCtx) kctx = kv_ctx_new(root ? root : g_getenv("KSMVIRT_ROOT"));
	/* Events of this boot come after those of any earlier one. */
	g_autofree gchar *boot_id = kv_order_boot_id(kctx, &err);
	if (boot_id == NULL) {
		kvd_log(LOG_WARNING, "%s: events of different boots are ordered by the wall clock", err->message);
		g_clear_error(&err);
	}
	kv_registry_set_boot_id(d.reg, boot_id);
	kv_registry_expire(d.reg, g_get_real_time());
	if (!load_config(&d, &d.cfg, FALSE, &err)) {
		kvd_log(LOG_ERR, "%s", err->message);
		return 1;
	}
	if (dry_run)
		d.cfg.dry_run = TRUE;
	d.dry_run_forced = dry_run;
	d.ctx = kctx;
	d.uri = uri;
	d.qemu_user = qemu_user;
	if (!no_balance)
		d.bal = balance_new(&d, kctx, !no_libvirt, uri, state_dir);
	if (!oneshot)
		inspect_setup(&d, state_dir, !no_libvirt);

	int rc = 0;
	if (oneshot) {
		replay_spool(&d);
		save_registry(&d);
		goto out;
	}
	/* Listen before replaying: hooks running meanwhile reach us, and
	 * folding is ordered by event time whichever path an event took. */
	if (!listen_on(&d, &err)) {
		kvd_log(LOG_ERR, "%s", err->message);
		rc = 1;
		goto out;
	}
	d.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_quit, &d);
	g_unix_signal_add(SIGINT, on_quit, &d);
	g_unix_signal_add(SIGHUP, on_hup, &d);
	if (d.bal) {
		/* The first tick runs once the loop turns, so hook events are
		 * answered meanwhile. */
		g_idle_add(on_first_tick, &d);
		d.tick_source = g_timeout_add(d.cfg.tick_ms, on_balance_tick, &d);
	}
	g_timeout_add_seconds(SPOOL_POLL_INTERVAL_S, on_spool_tick, &d);
	inspect_start(&d);
	replay_spool(&d);
	save_registry(&d);
	kvd_log(LOG_INFO, "listening on %s, state in %s (%u guests known)", d.socket_path,
		state_dir, kv_registry_size(d.reg));
	kvd_notify_systemd("READY=1\nSTATUS=balancing");
	g_main_loop_run(d.loop);
	kvd_notify_systemd("STOPPING=1");
	wait_saves(&d);
	{
		/* Events folded in but not in a write yet: save, then answer. */
		g_autoptr(GError) serr = NULL;
		if (!kv_registry_save(d.reg, d.registry_path, &serr))
			kvd_log(LOG_ERR, "cannot save the registry: %s", serr->message);
		answer_acks(d.acks_waiting, serr);
	}
	kv_server_free(d.server);
	g_main_loop_unref(d.loop);
out:
	inspect_stop(&d);
	kv_balancer_free(d.bal);
	g_free(d.config_path);
	kv_registry_free(d.reg);
	g_free(d.spool_dir);
	g_free(d.registry_path);
	g_free(d.status_doc);
	g_ptr_array_unref(d.acks_waiting);
	g_ptr_array_unref(d.acks_in_flight);
	return rc;
}
