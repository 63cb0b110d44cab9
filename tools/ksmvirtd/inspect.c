/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inspect.c: ksmvirtd's inspection runner.
 *
 * Every interval-seconds ([inspect] in ksmvirtd.conf) the daemon asks
 * libvirt (read-only) for the running guests and the disk images in their
 * domain XML, keys each guest's disks by path, size and mtime, and lets
 * the queue (kv-inspect-queue.h) answer from the cache or queue the guest.
 * One inspection runs at a time, in a child process ("ksmvirtd
 * --inspect-child DISK...", its own process group) watched from the main
 * loop: its output through an fd source, its exit through a child watch,
 * its time limit through a timeout that kills the whole group.  Nothing
 * here blocks the loop for longer than one libvirt call.  Answers go to
 * the cache (inspect-cache.json) and the OS map (os.json) in the state
 * directory, which "ksmvirt report" and "ksmvirt advise" read. */
#include "inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "kv-hv.h"
#include "kv-inspect-queue.h"
#include "kv-json.h"
#include "log.h"

#define INSPECT_MAX_OUTPUT_BYTES (1u << 20)

/* The inspection running in a child, if any. */
typedef struct {
	GPid pid; /* 0: none */
	int fd;   /* its stdout, -1: none */
	guint fd_source, timeout_source;
	GString *out;
	gchar *uuid, *key;
	gboolean timed_out;
	gint64 started_us;
} InspectRun;

struct KvdInspector {
	const KvCtx *ctx;
	const char *uri;
	const KvConfig *cfg;
	KvHv *hv; /* read-only libvirt connection */
	KvInspectQueue *queue;
	KvInspectCache *cache;
	GHashTable *os_map; /* UUID -> KvOsInfo */
	gchar *cache_path, *os_map_path;
	gchar *note; /* why inspection cannot run now, or NULL */
	guint scan_source;
	InspectRun run;
};

int
kvd_inspect_child_main(int argc, char **argv)
{
	g_autoptr(KvOsInfo) os = kv_inspect_disks((const char *const *)argv);
	g_autofree gchar *json = kv_os_info_to_json(os);
	(void)argc;
	printf("%s\n", json);
	return 0;
}

gboolean
kvd_inspector_is_windows(const KvdInspector *in, const char *uuid)
{
	g_autofree gchar *u = uuid ? g_ascii_strdown(uuid, -1) : NULL;
	return in->os_map && u && kv_os_info_is_windows(g_hash_table_lookup(in->os_map, u));
}

static void
inspect_save(KvdInspector *in, gboolean cache_changed, gboolean map_changed)
{
	g_autoptr(GError) err = NULL;
	if (cache_changed && !kv_inspect_cache_save(in->cache, in->cache_path, &err)) {
		kvd_log(LOG_WARNING, "cannot save the inspection cache: %s", err->message);
		g_clear_error(&err);
	}
	if (map_changed && !kv_os_map_save(in->os_map, in->os_map_path, &err))
		kvd_log(LOG_WARNING, "cannot save the OS map: %s", err->message);
}

/* The answer OS for the running guest: into the queue, the cache and the
 * map; the run is over. */
static void
run_file(KvdInspector *in, const KvOsInfo *os)
{
	gboolean cache_changed, map_changed;
	kv_inspect_queue_finish(in->queue, in->run.uuid, in->run.key, os, g_get_monotonic_time(),
				&cache_changed, &map_changed);
	inspect_save(in, cache_changed, map_changed);
	g_clear_pointer(&in->run.uuid, g_free);
	g_clear_pointer(&in->run.key, g_free);
}

static void inspect_start_next(KvdInspector *in);

/* The child is gone (its answer written, crashed, or killed at the
 * timeout): collect what it wrote, file the answer, start the next. */
static void
on_inspect_exit(GPid pid, gint status, gpointer data)
{
	KvdInspector *in = data;
	InspectRun *run = &in->run;
	char buf[4096];
	ssize_t n;

	kill(-pid, SIGKILL); /* an appliance left behind in its group */
	while ((n = read(run->fd, buf, sizeof(buf))) > 0)
		if (run->out->len < INSPECT_MAX_OUTPUT_BYTES)
			g_string_append_len(run->out, buf, n);
	if (run->fd_source)
		g_source_remove(run->fd_source);
	if (run->timeout_source)
		g_source_remove(run->timeout_source);
	run->fd_source = run->timeout_source = 0;
	close(run->fd);
	run->fd = -1;
	g_spawn_close_pid(pid);
	run->pid = 0;

	g_autoptr(KvOsInfo) os =
		kv_inspect_child_result(run->out->str, status, run->timed_out, in->cfg->inspect_timeout_s);
	const KvInspectGuest *g = kv_inspect_queue_running(in->queue);
	g_autofree gchar *name = g_strdup(g ? g->name : run->uuid);
	gint64 took_us = g_get_monotonic_time() - run->started_us;
	run_file(in, os);
	g_autofree gchar *family = kv_os_info_family(os);
	kvd_log(LOG_INFO, "inspected %s in %.1f s: %s%s%s", name, took_us / 1e6,
		os->product_name ? os->product_name : family, os->reason ? ": " : "",
		os->reason ? os->reason : "");
	g_string_truncate(run->out, 0);
	inspect_start_next(in);
}

static gboolean
on_inspect_output(gint fd, GIOCondition cond, gpointer data)
{
	KvdInspector *in = data;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	(void)cond;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		in->run.fd_source = 0;
		return G_SOURCE_REMOVE;
	}
	if (in->run.out->len < INSPECT_MAX_OUTPUT_BYTES)
		g_string_append_len(in->run.out, buf, n);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_inspect_timeout(gpointer data)
{
	KvdInspector *in = data;
	in->run.timeout_source = 0;
	in->run.timed_out = TRUE;
	/* The child watch then files "timed out". */
	kill(-in->run.pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

static void
inspect_start_next(KvdInspector *in)
{
	InspectRun *run = &in->run;
	if (run->pid || !in->cfg->inspect_enabled)
		return;
	const KvInspectGuest *g = kv_inspect_queue_next(in->queue, g_get_monotonic_time());
	if (g == NULL)
		return;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (gpointer) "/proc/self/exe");
	g_ptr_array_add(argv, (gpointer)KVD_INSPECT_CHILD_ARG);
	for (guint i = 0; g->disks && g->disks[i]; i++)
		g_ptr_array_add(argv, g->disks[i]);
	g_ptr_array_add(argv, NULL);
	g_autoptr(GError) err = NULL;
	run->uuid = g_strdup(g->uuid);
	run->key = g_strdup(g->key);
	run->timed_out = FALSE;
	run->started_us = g_get_monotonic_time();
	if (!kv_inspect_child_spawn((const char *const *)argv->pdata, &run->pid, &run->fd, &err)) {
		g_autofree gchar *why = g_strdup_printf("inspection could not start: %s", err->message);
		g_autoptr(KvOsInfo) os = kv_os_info_new_unknown(why);
		kvd_log(LOG_WARNING, "%s", why);
		run->pid = 0;
		run_file(in, os);
		return;
	}
	kvd_log(LOG_DEBUG, "inspecting %s (pid %d, %s)", g->name, (int)run->pid, g->disks[0]);
	fcntl(run->fd, F_SETFL, fcntl(run->fd, F_GETFL) | O_NONBLOCK);
	fcntl(run->fd, F_SETFD, FD_CLOEXEC);
	run->fd_source = g_unix_fd_add(run->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_inspect_output, in);
	run->timeout_source = g_timeout_add_seconds(in->cfg->inspect_timeout_s, on_inspect_timeout, in);
	g_child_watch_add(run->pid, on_inspect_exit, in);
}

/* What inspection needs to know of one running domain. */
static KvInspectSense *
sense_domain(KvdInspector *in, const KvDomain *dom, GError **error)
{
	g_autoptr(GError) e = NULL;
	KvInspectSense *s = g_new0(KvInspectSense, 1);
	s->uuid = g_strdup(dom->uuid);
	s->name = g_strdup(dom->name);
	s->disks = kv_hv_domain_disks(in->hv, dom->uuid, &e);
	if (s->disks == NULL) {
		if (g_error_matches(e, KV_ERROR, KV_ERROR_NOT_FOUND)) {
			kv_inspect_sense_free(s);
			g_propagate_error(error, g_steal_pointer(&e));
			return NULL;
		}
		s->why = g_strdup_printf("disks: %s", e->message);
	} else if (s->disks[0] == NULL) {
		s->why = g_strdup("no disk image in its domain XML");
	} else {
		s->key = kv_inspect_cache_key((const char *const *)s->disks, &s->why);
	}
	return s;
}

/* Sense the running guests' disks, update the queue, start the next
 * inspection. */
static void
inspect_scan(KvdInspector *in)
{
	g_autoptr(GError) err = NULL;
	if (!in->cfg->inspect_enabled || !in->queue)
		return;
	if (in->hv == NULL) {
		in->hv = kv_hv_libvirt_open(in->ctx, in->uri, &err);
		if (in->hv == NULL) {
			g_free(in->note);
			in->note = g_strdup_printf("libvirt: %s", err->message);
			return;
		}
	}
	g_autoptr(GPtrArray) doms = kv_hv_list_domains(in->hv, &err);
	if (doms == NULL) {
		g_free(in->note);
		in->note = g_strdup_printf("libvirt: %s", err->message);
		g_clear_pointer(&in->hv, kv_hv_close); /* reconnect next time */
		return;
	}
	g_clear_pointer(&in->note, g_free);
	g_autoptr(GPtrArray) sensed = g_ptr_array_new_with_free_func((GDestroyNotify)kv_inspect_sense_free);
	for (guint i = 0; i < doms->len; i++) {
		const KvDomain *dom = g_ptr_array_index(doms, i);
		if (!dom->active || dom->uuid == NULL)
			continue;
		/* NULL: gone since the listing. */
		KvInspectSense *s = sense_domain(in, dom, NULL);
		if (s)
			g_ptr_array_add(sensed, s);
	}
	if (kv_inspect_queue_update(in->queue, sensed, g_get_monotonic_time()))
		inspect_save(in, FALSE, TRUE);
	inspect_start_next(in);
}

static gboolean
on_inspect_tick(gpointer data)
{
	inspect_scan(data);
	return G_SOURCE_CONTINUE;
}

static void
on_first_inspect(gpointer data)
{
	inspect_scan(data);
}

KvdInspector *
kvd_inspector_new(const KvCtx *ctx, const char *uri, const KvConfig *cfg, const char *state_dir,
		  gboolean use_libvirt)
{
	g_autoptr(GError) err = NULL;
	KvdInspector *in = g_new0(KvdInspector, 1);
	in->ctx = ctx;
	in->uri = uri;
	in->cfg = cfg;
	in->run.fd = -1;
	in->run.out = g_string_new(NULL);
	in->os_map_path = g_build_filename(state_dir, "os.json", NULL);
	in->cache_path = cfg->inspect_cache_file[0] ? g_strdup(cfg->inspect_cache_file)
						    : g_build_filename(state_dir, "inspect-cache.json", NULL);
	in->cache = kv_inspect_cache_load(in->cache_path, &err);
	if (in->cache == NULL) {
		kvd_log(LOG_WARNING, "%s: starting with an empty inspection cache", err->message);
		g_clear_error(&err);
		in->cache = kv_inspect_cache_new();
	}
	in->os_map = kv_os_map_load(in->os_map_path, &err);
	if (in->os_map == NULL) {
		kvd_log(LOG_WARNING, "%s: starting with an empty OS map", err->message);
		in->os_map = kv_os_map_new();
	}
	in->queue = kv_inspect_queue_new(in->cache, in->os_map);
	if (!use_libvirt)
		in->note = g_strdup("no libvirt (--no-libvirt)");
	return in;
}

void
kvd_inspector_start(KvdInspector *in)
{
	if (in->note != NULL) /* --no-libvirt */
		return;
	g_idle_add_once(on_first_inspect, in);
	in->scan_source = g_timeout_add_seconds(in->cfg->inspect_interval_s, on_inspect_tick, in);
}

void
kvd_inspector_reconfigure(KvdInspector *in, guint old_interval_s)
{
	if (in->scan_source && old_interval_s != in->cfg->inspect_interval_s) {
		g_source_remove(in->scan_source);
		in->scan_source = g_timeout_add_seconds(in->cfg->inspect_interval_s, on_inspect_tick, in);
	}
}

/* The child, if one runs, killed with its appliance and reaped. */
static void
run_stop(InspectRun *run)
{
	if (run->pid) {
		int st;
		kill(-run->pid, SIGKILL);
		while (waitpid(run->pid, &st, 0) < 0 && errno == EINTR)
			;
		g_spawn_close_pid(run->pid);
		run->pid = 0;
	}
	if (run->fd >= 0)
		close(run->fd);
	g_string_free(run->out, TRUE);
	g_free(run->uuid);
	g_free(run->key);
}

void
kvd_inspector_free(KvdInspector *in)
{
	if (in == NULL)
		return;
	run_stop(&in->run);
	g_clear_pointer(&in->queue, kv_inspect_queue_free);
	g_clear_pointer(&in->cache, kv_inspect_cache_free);
	g_clear_pointer(&in->os_map, g_hash_table_unref);
	g_clear_pointer(&in->hv, kv_hv_close);
	g_free(in->note);
	g_free(in->cache_path);
	g_free(in->os_map_path);
	g_free(in);
}

gchar *
kvd_inspector_status_json(const KvdInspector *in, const char *doc)
{
	g_autoptr(JsonNode) root = kv_json_parse(doc, -1, 0, 0, NULL);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return g_strdup(doc);
	g_autoptr(JsonBuilder) b = json_builder_new();
	const char *note = !in->cfg->inspect_enabled ? "[inspect] enabled = false" : in->note;
	kv_inspect_queue_build_json(in->queue, b, in->cfg->inspect_enabled && note == NULL, note,
				    in->cfg->inspect_timeout_s, g_get_monotonic_time());
	json_object_set_member(json_node_get_object(root), "inspection", json_builder_get_root(b));
	g_autoptr(JsonGenerator) gen = json_generator_new();
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	g_autofree gchar *text = json_generator_to_data(gen, NULL);
	return g_strconcat(text, "\n", NULL);
}
