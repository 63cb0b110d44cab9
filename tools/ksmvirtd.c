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
 * DISK...") watched from the main loop (ksmvirtd/inspect.c).
 *
 * The modules of the daemon are in ksmvirtd/: registry.c (hook events),
 * balance.c (the tick), inspect.c (the inspection runner), log.c (the
 * levelled log and sd_notify).
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
#include <string.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "kv-file.h"
#include "kv-ident.h"
#include "kv-paths.h"
#include "ksmvirtd/daemon.h"

#define DEFAULT_SOCKET KV_PATH_SOCKET
#define DEFAULT_STATE_DIR KV_PATH_STATE_DIR
#define SPOOL_POLL_INTERVAL_S 5
/* A status document is reused this long (a burst of requests builds one). */
#define STATUS_REUSE_US (250 * 1000)
/* The longest answer buffered for one client (a status document). */
#define MAX_ANSWER_BYTES (64u << 20)

/* The command line. */
typedef struct {
	gchar *socket_path, *state_dir, *config_path, *root, *uri, *qemu_user;
	gboolean oneshot, verbose, dry_run, no_libvirt, no_balance;
} Options;

static void
options_clear(Options *o)
{
	g_free(o->socket_path);
	g_free(o->state_dir);
	g_free(o->config_path);
	g_free(o->root);
	g_free(o->uri);
	g_free(o->qemu_user);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

/* The status document: the balancer's with the inspection state. */
static const char *
status_doc(Daemon *d)
{
	gint64 now = g_get_monotonic_time();
	if (d->status_doc == NULL || now - d->status_built_us >= STATUS_REUSE_US) {
		g_autofree gchar *bdoc = d->bal ? kv_balancer_status_json(d->bal) : NULL;
		g_free(d->status_doc);
		d->status_doc = bdoc == NULL ? g_strdup("error the balancer is off (--no-balance)\n")
				: d->insp    ? kvd_inspector_status_json(d->insp, bdoc)
					     : g_strdup(bdoc);
		d->status_built_us = now;
	}
	return d->status_doc;
}

static void
on_request(KvServerClient *client, const char *line, gsize len, gpointer data)
{
	Daemon *d = data;
	g_autoptr(GError) err = NULL;
	if (!strcmp(line, KV_STATUS_REQUEST)) {
		kv_server_client_answer(client, status_doc(d));
		return;
	}
	g_autoptr(KvEvent) ev = kv_event_from_json_line(line, len, &err);
	if (ev == NULL) {
		kvd_log(LOG_WARNING, "rejected an event: %s", err->message);
		g_autofree gchar *reply = g_strdup_printf("error %s\n", err->message);
		kv_server_client_answer(client, reply);
		return;
	}
	kvd_registry_event(d, client, ev);
}

static KvServerLimits
server_limits(const KvConfig *cfg)
{
	return (KvServerLimits){
		.max_clients = cfg->max_connections,
		.idle_timeout_ms = cfg->idle_timeout_s * 1000,
		.max_line_bytes = (gsize)cfg->max_line_kib * 1024,
		.max_answer_bytes = MAX_ANSWER_BYTES,
	};
}

/* At start a missing file means the defaults; on a reload it keeps the
 * running configuration, as a broken file does. */
static gboolean
load_config(Daemon *d, KvConfig *cfg, gboolean reload, GError **error)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	if (!(reload ? kv_config_reload : kv_config_load)(d->config_path, cfg, warnings, error))
		return FALSE;
	for (guint i = 0; i < warnings->len; i++)
		kvd_log(LOG_WARNING, "%s: %s", d->config_path, (char *)g_ptr_array_index(warnings, i));
	return TRUE;
}

static void
reload_config(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	g_auto(KvConfig) cfg = { 0 };
	if (!load_config(d, &cfg, TRUE, &err)) {
		kvd_log(LOG_WARNING, "reload: %s; keeping the previous configuration", err->message);
		return;
	}
	if (d->dry_run_forced)
		cfg.dry_run = TRUE;
	guint old_tick_ms = d->cfg.tick_ms;
	guint old_inspect_s = d->cfg.inspect_interval_s;
	kv_config_copy(&d->cfg, &cfg);
	g_clear_pointer(&d->status_doc, g_free);
	if (d->server) {
		KvServerLimits lim = server_limits(&cfg);
		kv_server_set_limits(d->server, &lim);
	}
	if (d->insp)
		kvd_inspector_reconfigure(d->insp, old_inspect_s);
	if (d->bal == NULL)
		return;
	kvd_balance_reconfigure(d, old_tick_ms);
	kvd_log(LOG_INFO, "configuration reloaded from %s (tick %.1f s%s)", d->config_path,
		cfg.tick_ms / 1000.0, cfg.dry_run ? ", dry run" : "");
}

static gboolean
on_quit(gpointer data)
{
	Daemon *d = data;
	kvd_log(LOG_INFO, "stopping");
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_hup(gpointer data)
{
	reload_config(data);
	kvd_registry_replay_spool(data);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_spool_tick(gpointer data)
{
	kvd_registry_replay_spool(data);
	kvd_registry_expire(data);
	return G_SOURCE_CONTINUE;
}

static void
on_server_log(const char *msg, gpointer data)
{
	kvd_log(LOG_WARNING, "control socket: %s", msg);
}

/* Listen on the socket (kv-server.h: mode 0600 from the start, directory
 * checked, a stale socket replaced but never a live daemon).  Returns
 * FALSE with error set on failure. */
static gboolean
listen_on(Daemon *d, GError **error)
{
	KvServerLimits lim = server_limits(&d->cfg);
	d->server = kv_server_new(d->socket_path, &lim, on_request, on_server_log, d, error);
	return d->server != NULL;
}

/* Parses the command line into O (defaults from the environment).
 * Returns FALSE, logged, on bad usage. */
static gboolean
parse_options(int *argc, char ***argv, Options *o)
{
	GOptionEntry entries[] = {
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &o->socket_path,
		  "listen on PATH [" DEFAULT_SOCKET "]", "PATH" },
		{ "state-dir", 'd', 0, G_OPTION_ARG_FILENAME, &o->state_dir,
		  "registry and spool under DIR [" DEFAULT_STATE_DIR "]", "DIR" },
		{ "oneshot", 0, 0, G_OPTION_ARG_NONE, &o->oneshot,
		  "replay the spool, save the registry and exit", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, "log every event", NULL },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &o->config_path,
		  "configuration [" KV_CONFIG_DEFAULT_PATH "]", "FILE" },
		{ "root", 'r', 0, G_OPTION_ARG_FILENAME, &o->root,
		  "read and write /proc and /sys below DIR (tests)", "DIR" },
		{ "connect", 0, 0, G_OPTION_ARG_STRING, &o->uri, "libvirt URI [qemu:///system]", "URI" },
		{ "no-libvirt", 0, 0, G_OPTION_ARG_NONE, &o->no_libvirt, "do not ask libvirt", NULL },
		{ "qemu-user", 0, 0, G_OPTION_ARG_STRING, &o->qemu_user,
		  "libvirt runs QEMU as USER [qemu.conf's user, else " KV_QEMU_USER_DEFAULT "]", "USER" },
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &o->dry_run, "decide but change nothing", NULL },
		{ "no-balance", 0, 0, G_OPTION_ARG_NONE, &o->no_balance, "keep the registry only", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- ksmvirt daemon");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) err = NULL;
	if (!g_option_context_parse(ctx, argc, argv, &err) || *argc != 1) {
		kvd_log(LOG_ERR, "%s", err ? err->message : "unexpected argument");
		return FALSE;
	}
	if (o->socket_path == NULL)
		o->socket_path =
			g_strdup(g_getenv("KSMVIRT_SOCKET") ? g_getenv("KSMVIRT_SOCKET") : DEFAULT_SOCKET);
	if (o->state_dir == NULL)
		o->state_dir = g_strdup(g_getenv("KSMVIRT_STATE_DIR") ? g_getenv("KSMVIRT_STATE_DIR")
								      : DEFAULT_STATE_DIR);
	if (o->config_path == NULL)
		o->config_path = g_strdup(KV_CONFIG_DEFAULT_PATH);
	return TRUE;
}

/* Creates and checks the state directory.  Returns FALSE, logged, when it
 * cannot be used. */
static gboolean
state_dir_ready(const char *state_dir)
{
	g_autoptr(GError) err = NULL;
	if (g_mkdir_with_parents(state_dir, 0755) < 0) {
		kvd_log(LOG_ERR, "cannot create %s: %s", state_dir, g_strerror(errno));
		return FALSE;
	}
	/* Files in it are replaced by rename: nobody else may change it. */
	if (!kv_file_check_dir(state_dir, &err)) {
		kvd_log(LOG_ERR, "unsafe state directory: %s", err->message);
		return FALSE;
	}
	return TRUE;
}

/* Listens, replays the spool and runs the loop until SIGTERM or SIGINT.
 * Returns the exit status. */
static int
serve(Daemon *d, const char *state_dir)
{
	g_autoptr(GError) err = NULL;
	/* Listen before replaying: hooks running meanwhile reach us, and
	 * folding is ordered by event time whichever path an event took. */
	if (!listen_on(d, &err)) {
		kvd_log(LOG_ERR, "%s", err->message);
		return 1;
	}
	d->loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_quit, d);
	g_unix_signal_add(SIGINT, on_quit, d);
	g_unix_signal_add(SIGHUP, on_hup, d);
	if (d->bal)
		kvd_balance_start(d);
	g_timeout_add_seconds(SPOOL_POLL_INTERVAL_S, on_spool_tick, d);
	kvd_inspector_start(d->insp);
	kvd_registry_replay_spool(d);
	kvd_registry_save(d);
	kvd_log(LOG_INFO, "listening on %s, state in %s (%u guests known)", d->socket_path, state_dir,
		kv_registry_size(d->reg));
	kvd_notify_systemd("READY=1\nSTATUS=balancing");
	g_main_loop_run(d->loop);
	kvd_notify_systemd("STOPPING=1");
	return 0;
}

int
main(int argc, char **argv)
{
	g_auto(Options) o = { 0 };
	/* An inspection child: "ksmvirtd --inspect-child DISK..." */
	if (argc >= 3 && !strcmp(argv[1], KVD_INSPECT_CHILD_ARG))
		return kvd_inspect_child_main(argc - 2, argv + 2);
	if (!parse_options(&argc, &argv, &o))
		return 2;
	kvd_log_set_max_level(o.verbose ? LOG_DEBUG : LOG_INFO);
	if (!state_dir_ready(o.state_dir))
		return 1;

	g_autoptr(KvCtx) kctx = kv_ctx_new(o.root ? o.root : g_getenv("KSMVIRT_ROOT"));
	g_autoptr(GError) err = NULL;
	Daemon d = {
		.config_path = o.config_path,
		.socket_path = o.socket_path,
		.spool_dir = g_build_filename(o.state_dir, "spool", NULL),
		.registry_path = g_build_filename(o.state_dir, "registry.json", NULL),
		.qemu_user = o.qemu_user,
		.dry_run_forced = o.dry_run,
	};
	kvd_registry_open(&d, kctx);
	int rc = 0;
	if (!load_config(&d, &d.cfg, FALSE, &err)) {
		kvd_log(LOG_ERR, "%s", err->message);
		rc = 1;
		goto out;
	}
	if (o.dry_run)
		d.cfg.dry_run = TRUE;
	if (!o.no_balance)
		kvd_balance_open(&d, kctx, !o.no_libvirt, o.uri, o.state_dir);
	if (o.oneshot) {
		kvd_registry_replay_spool(&d);
		kvd_registry_save(&d);
	} else {
		d.insp = kvd_inspector_new(kctx, o.uri, &d.cfg, o.state_dir, !o.no_libvirt);
		rc = serve(&d, o.state_dir);
	}
out:
	kvd_registry_close(&d);
	kv_server_free(d.server);
	if (d.loop)
		g_main_loop_unref(d.loop);
	kvd_inspector_free(d.insp);
	kv_balancer_free(d.bal);
	kv_config_clear(&d.cfg);
	g_free(d.spool_dir);
	g_free(d.registry_path);
	g_free(d.status_doc);
	return rc;
}
