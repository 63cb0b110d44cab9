/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ksmvirtd: the ksmvirt daemon.
 *
 * This first version keeps the guest registry: it listens on a Unix socket
 * for the events of the libvirt hook (one JSON line per connection,
 * answered with "ok ID" or "error MESSAGE"), folds them into the registry
 * and keeps the registry file up to date.  Events the hook could not
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
#include "kv-event.h"
#include "kv-inspect-queue.h"
#include "kv-registry.h"
#include "kv-spool.h"
#include "kv-paths.h"

#define DEFAULT_SOCKET KV_PATH_SOCKET
#define DEFAULT_STATE_DIR KV_PATH_STATE_DIR
#define SPOOL_POLL_INTERVAL_S 5
#define MAX_EVENT_LINE_BYTES (4u << 20)

typedef struct {
	gchar *socket_path;
	gchar *spool_dir;
	gchar *registry_path;
	gboolean verbose;
	KvRegistry *reg;
	GMainLoop *loop;
	GSocketService *service;
	gboolean saving;  /* a registry write runs in a worker thread */
	gboolean dirty;   /* the registry changed since that write began */
	KvBalancer *bal;  /* NULL with --no-balance */
	KvConfig cfg;
	gchar *config_path;
	guint tick_source;
	gboolean dry_run_forced;  /* --dry-run: survives reloads */
	/* Guest OS inspection (ksmvirtd-inspect.h). */
	const KvCtx *ctx;
	const char *uri;
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

G_GNUC_PRINTF(1, 2)
static void log_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree gchar *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "ksmvirtd: %s\n", msg);
}

static void save_registry(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	if (!kv_registry_save(d->reg, d->registry_path, &err))
		log_msg("cannot save the registry: %s", err->message);
}

/* Registry writes fsync: on a busy disk that takes long enough to make
 * hooks wait for their acknowledgement.  So events are acknowledged from
 * the main loop and the file is written by a worker thread, one write at a
 * time, coalescing changes that arrive meanwhile. */
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
		log_msg("cannot save the registry: %s", err->message);
	d->saving = FALSE;
	if (d->dirty)
		start_save(d);
}

static void start_save(Daemon *d)
{
	d->dirty = FALSE;
	d->saving = TRUE;
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

static void log_event(Daemon *d, const KvEvent *ev, const char *how)
{
	if (d->verbose)
		log_msg("%s: %s %s %s (uuid %s)", how, ev->name,
			kv_event_op_to_string(ev->op), ev->subop,
			ev->uuid ? ev->uuid : "unknown");
}

/* Replay every spooled event in order.  Entries are removed only after the
 * registry holding them is saved; entries that do not decode are renamed
 * to NAME.bad so they are not retried.  Returns the number applied. */
static guint replay_spool(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) paths = kv_spool_list(d->spool_dir, &err);
	if (paths == NULL) {
		log_msg("%s", err->message);
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
			g_autofree gchar *bad = g_strconcat(path, ".bad", NULL);
			log_msg("spooled event %s is unusable (%s): kept as %s", path,
				e->message, bad);
			g_rename(path, bad);
			continue;
		}
		kv_registry_apply(d->reg, ev);
		log_event(d, ev, "replayed");
		applied++;
	}
	g_autoptr(GError) serr = NULL;
	if (!kv_registry_save(d->reg, d->registry_path, &serr)) {
		log_msg("cannot save the registry, spool kept: %s", serr->message);
		return applied;
	}
	for (guint i = 0; i < paths->len; i++) {
		g_autoptr(GError) e = NULL;
		if (!kv_spool_consume(g_ptr_array_index(paths, i), &e))
			log_msg("%s", e->message);
	}
	log_msg("replayed %u spooled event(s)", applied);
	return applied;
}

static gchar *inspect_status_json(Daemon *d, const char *doc);

typedef struct {
	Daemon *d;
	GSocketConnection *conn;
	GDataInputStream *in;
} Client;

static void client_free(Client *c)
{
	g_object_unref(c->in);
	g_object_unref(c->conn);
	g_free(c);
}

static void answer(Client *c, const char *text)
{
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(c->conn));
	/* The hook waits a few ms at most: a short blocking write is fine. */
	g_output_stream_write_all(out, text, strlen(text), NULL, NULL, NULL);
	g_output_stream_flush(out, NULL, NULL);
}

static void on_line(GObject *src, GAsyncResult *res, gpointer data)
{
	Client *c = data;
	Daemon *d = c->d;
	gsize len = 0;
	g_autoptr(GError) err = NULL;
	g_autofree gchar *line = g_data_input_stream_read_line_finish(c->in, res, &len, &err);
	if (line == NULL) {
		if (err != NULL)
			log_msg("reading an event: %s", err->message);
		client_free(c);
		return;
	}
	if (!strcmp(line, KV_STATUS_REQUEST)) {
		g_autofree gchar *bdoc = d->bal ? kv_balancer_status_json(d->bal) : NULL;
		g_autofree gchar *doc = bdoc ? inspect_status_json(d, bdoc) :
			g_strdup("error the balancer is off (--no-balance)\n");
		answer(c, doc);
		client_free(c);
		return;
	}
	g_autoptr(KvEvent) ev = len <= MAX_EVENT_LINE_BYTES ?
		kv_event_from_json_line(line, len, &err) : NULL;
	if (ev == NULL) {
		const char *why = err ? err->message : "event line too long";
		log_msg("rejected an event: %s", why);
		g_autofree gchar *reply = g_strdup_printf("error %s\n", why);
		answer(c, reply);
		client_free(c);
		return;
	}
	gboolean changed = kv_registry_apply(d->reg, ev);
	/* Acknowledge first: the hook is on libvirt's critical path. */
	g_autofree gchar *reply = g_strdup_printf("ok %s\n", ev->id);
	answer(c, reply);
	client_free(c);
	log_event(d, ev, changed ? "event" : "stale event");
	if (changed)
		save_registry_soon(d);
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn,
			    GObject *source, gpointer data)
{
	Client *c = g_new0(Client, 1);
	c->d = data;
	c->conn = g_object_ref(conn);
	c->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
	g_data_input_stream_set_newline_type(c->in, G_DATA_STREAM_NEWLINE_TYPE_LF);
	g_data_input_stream_read_line_async(c->in, G_PRIORITY_DEFAULT, NULL, on_line, c);
	return TRUE;
}

static gboolean on_quit(gpointer data)
{
	Daemon *d = data;
	log_msg("stopping");
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

static gboolean on_spool_tick(gpointer data)
{
	replay_spool(data);
	return G_SOURCE_CONTINUE;
}

#include "ksmvirtd-balance.h"
#include "ksmvirtd-inspect.h"

/* Listen on path, replacing a stale socket file but never a live daemon.
 * Returns FALSE with error set on failure. */
static gboolean listen_on(Daemon *d, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname(d->socket_path);
	if (g_mkdir_with_parents(dir, 0755) < 0) {
		int err = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot create %s: %s", dir, g_strerror(err));
		return FALSE;
	}
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(d->socket_path);
	if (g_file_test(d->socket_path, G_FILE_TEST_EXISTS)) {
		g_autoptr(GSocketClient) probe = g_socket_client_new();
		g_autoptr(GSocketConnection) live =
			g_socket_client_connect(probe, G_SOCKET_CONNECTABLE(addr), NULL, NULL);
		if (live != NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
				    "another ksmvirtd listens on %s", d->socket_path);
			return FALSE;
		}
		g_unlink(d->socket_path);
	}
	d->service = g_socket_service_new();
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(d->service), addr,
					   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
					   NULL, NULL, error))
		return FALSE;
	g_chmod(d->socket_path, 0600);
	g_signal_connect(d->service, "incoming", G_CALLBACK(on_incoming), d);
	return TRUE;
}

int main(int argc, char **argv)
{
	g_autofree gchar *socket_path = NULL;
	g_autofree gchar *state_dir = NULL;
	gboolean oneshot = FALSE, verbose = FALSE, dry_run = FALSE, no_libvirt = FALSE,
		 no_balance = FALSE;
	g_autofree gchar *config_path = NULL, *root = NULL, *uri = NULL;
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
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "decide but change nothing", NULL },
		{ "no-balance", 0, 0, G_OPTION_ARG_NONE, &no_balance, "keep the registry only", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- ksmvirt daemon");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) err = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 1) {
		fprintf(stderr, "ksmvirtd: %s\n", err ? err->message : "unexpected argument");
		return 2;
	}
	if (socket_path == NULL)
		socket_path = g_strdup(g_getenv("KSMVIRT_SOCKET") ? g_getenv("KSMVIRT_SOCKET") : DEFAULT_SOCKET);
	if (state_dir == NULL)
		state_dir = g_strdup(g_getenv("KSMVIRT_STATE_DIR") ? g_getenv("KSMVIRT_STATE_DIR") : DEFAULT_STATE_DIR);

	Daemon d = {
		.config_path = config_path ? g_strdup(config_path) : g_strdup(KV_CONFIG_DEFAULT_PATH),
		.socket_path = socket_path,
		.spool_dir = g_build_filename(state_dir, "spool", NULL),
		.registry_path = g_build_filename(state_dir, "registry.json", NULL),
		.verbose = verbose,
	};
	if (g_mkdir_with_parents(state_dir, 0755) < 0) {
		log_msg("cannot create %s: %s", state_dir, g_strerror(errno));
		return 1;
	}
	d.reg = kv_registry_load(d.registry_path, &err);
	if (d.reg == NULL) {
		log_msg("%s: starting with an empty registry", err->message);
		g_clear_error(&err);
		d.reg = kv_registry_new();
	}

	g_autoptr(KvCtx) kctx = kv_ctx_new(root ? root : g_getenv("KSMVIRT_ROOT"));
	if (!load_config(&d, &d.cfg, &err)) {
		log_msg("%s", err->message);
		return 1;
	}
	if (dry_run)
		d.cfg.dry_run = TRUE;
	d.dry_run_forced = dry_run;
	d.ctx = kctx;
	d.uri = uri;
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
		log_msg("%s", err->message);
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
	log_msg("listening on %s, state in %s (%u guests known)", d.socket_path,
		state_dir, kv_registry_size(d.reg));
	notify_systemd("READY=1\nSTATUS=balancing");
	g_main_loop_run(d.loop);
	notify_systemd("STOPPING=1");
	g_socket_service_stop(d.service);
	g_socket_listener_close(G_SOCKET_LISTENER(d.service));
	g_unlink(d.socket_path);
	wait_saves(&d);
	save_registry(&d);
	g_main_loop_unref(d.loop);
	g_object_unref(d.service);
out:
	inspect_stop(&d);
	kv_balancer_free(d.bal);
	g_free(d.config_path);
	kv_registry_free(d.reg);
	g_free(d.spool_dir);
	g_free(d.registry_path);
	return rc;
}
