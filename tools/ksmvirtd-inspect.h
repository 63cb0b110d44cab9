/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ksmvirtd-inspect.h: guest OS inspection inside ksmvirtd's main loop.
 * Included once, by ksmvirtd.c.
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
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "kv-hv.h"
#include "kv-inspect-queue.h"
#include "kv-json.h"

#define INSPECT_CHILD_ARG "--inspect-child"
#define INSPECT_MAX_OUTPUT_BYTES (1u << 20)

/* The child: inspect DISKS in this process and print the JSON answer. */
static int inspect_child_main(int argc, char **argv)
{
	g_autoptr(KvOsInfo) os = kv_inspect_disks((const char *const *)argv);
	g_autofree gchar *json = kv_os_info_to_json(os);
	(void)argc;
	printf("%s\n", json);
	return 0;
}

static gboolean inspect_is_windows(const char *uuid, const char *name, gpointer data)
{
	Daemon *d = data;
	g_autofree gchar *u = uuid ? g_ascii_strdown(uuid, -1) : NULL;
	(void)name;
	return d->os_map && u && kv_os_info_is_windows(g_hash_table_lookup(d->os_map, u));
}

static void inspect_save(Daemon *d, gboolean cache_changed, gboolean map_changed)
{
	g_autoptr(GError) err = NULL;
	if (cache_changed && !kv_inspect_cache_save(d->icache, d->icache_path, &err)) {
		kvd_log(LOG_WARNING, "cannot save the inspection cache: %s", err->message);
		g_clear_error(&err);
	}
	if (map_changed && !kv_os_map_save(d->os_map, d->os_map_path, &err))
		kvd_log(LOG_WARNING, "cannot save the OS map: %s", err->message);
}

static void inspect_start_next(Daemon *d);

/* The child is gone (its answer written, crashed, or killed at the
 * timeout): collect what it wrote, file the answer, start the next. */
static void on_inspect_exit(GPid pid, gint status, gpointer data)
{
	Daemon *d = data;
	char buf[4096];
	ssize_t n;

	kill(-pid, SIGKILL);   /* an appliance left behind in its group */
	while ((n = read(d->irun_fd, buf, sizeof(buf))) > 0)
		if (d->irun_out->len < INSPECT_MAX_OUTPUT_BYTES)
			g_string_append_len(d->irun_out, buf, n);
	if (d->irun_fd_source)
		g_source_remove(d->irun_fd_source);
	if (d->irun_timeout_source)
		g_source_remove(d->irun_timeout_source);
	d->irun_fd_source = d->irun_timeout_source = 0;
	close(d->irun_fd);
	d->irun_fd = -1;
	g_spawn_close_pid(pid);
	d->irun_pid = 0;

	g_autoptr(KvOsInfo) os = kv_inspect_child_result(d->irun_out->str, status, d->irun_timed_out,
							d->cfg.inspect_timeout_s);
	const KvInspectGuest *g = kv_inspect_queue_running(d->iq);
	g_autofree gchar *name = g_strdup(g ? g->name : d->irun_uuid);
	gint64 took_us = g_get_monotonic_time() - d->irun_started_us;
	gboolean cache_changed, map_changed;
	kv_inspect_queue_finish(d->iq, d->irun_uuid, d->irun_key, os, g_get_monotonic_time(),
				&cache_changed, &map_changed);
	inspect_save(d, cache_changed, map_changed);
	g_autofree gchar *family = kv_os_info_family(os);
	kvd_log(LOG_INFO, "inspected %s in %.1f s: %s%s%s", name, took_us / 1e6,
		os->product_name ? os->product_name : family, os->reason ? ": " : "",
		os->reason ? os->reason : "");
	g_clear_pointer(&d->irun_uuid, g_free);
	g_clear_pointer(&d->irun_key, g_free);
	g_string_truncate(d->irun_out, 0);
	inspect_start_next(d);
}

static gboolean on_inspect_output(gint fd, GIOCondition cond, gpointer data)
{
	Daemon *d = data;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	(void)cond;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		d->irun_fd_source = 0;
		return G_SOURCE_REMOVE;
	}
	if (d->irun_out->len < INSPECT_MAX_OUTPUT_BYTES)
		g_string_append_len(d->irun_out, buf, n);
	return G_SOURCE_CONTINUE;
}

static gboolean on_inspect_timeout(gpointer data)
{
	Daemon *d = data;
	d->irun_timeout_source = 0;
	d->irun_timed_out = TRUE;
	/* The child watch then files "timed out". */
	kill(-d->irun_pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

static void inspect_start_next(Daemon *d)
{
	if (d->irun_pid || !d->cfg.inspect_enabled)
		return;
	const KvInspectGuest *g = kv_inspect_queue_next(d->iq, g_get_monotonic_time());
	if (g == NULL)
		return;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (gpointer)"/proc/self/exe");
	g_ptr_array_add(argv, (gpointer)INSPECT_CHILD_ARG);
	for (guint i = 0; g->disks && g->disks[i]; i++)
		g_ptr_array_add(argv, g->disks[i]);
	g_ptr_array_add(argv, NULL);
	g_autoptr(GError) err = NULL;
	d->irun_uuid = g_strdup(g->uuid);
	d->irun_key = g_strdup(g->key);
	d->irun_timed_out = FALSE;
	d->irun_started_us = g_get_monotonic_time();
	if (!kv_inspect_child_spawn((const char *const *)argv->pdata, &d->irun_pid, &d->irun_fd, &err)) {
		g_autofree gchar *why = g_strdup_printf("inspection could not start: %s", err->message);
		g_autoptr(KvOsInfo) os = kv_os_info_new_unknown(why);
		gboolean cc, mc;
		kvd_log(LOG_WARNING, "%s", why);
		d->irun_pid = 0;
		kv_inspect_queue_finish(d->iq, d->irun_uuid, d->irun_key, os, g_get_monotonic_time(), &cc, &mc);
		inspect_save(d, cc, mc);
		g_clear_pointer(&d->irun_uuid, g_free);
		g_clear_pointer(&d->irun_key, g_free);
		return;
	}
	kvd_log(LOG_DEBUG, "inspecting %s (pid %d, %s)", g->name, (int)d->irun_pid, g->disks[0]);
	fcntl(d->irun_fd, F_SETFL, fcntl(d->irun_fd, F_GETFL) | O_NONBLOCK);
	fcntl(d->irun_fd, F_SETFD, FD_CLOEXEC);
	d->irun_fd_source = g_unix_fd_add(d->irun_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_inspect_output, d);
	d->irun_timeout_source = g_timeout_add_seconds(d->cfg.inspect_timeout_s, on_inspect_timeout, d);
	g_child_watch_add(d->irun_pid, on_inspect_exit, d);
}

/* Sense the running guests' disks, update the queue, start the next
 * inspection. */
static void inspect_scan(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	if (!d->cfg.inspect_enabled || !d->iq)
		return;
	if (d->ihv == NULL) {
		d->ihv = kv_hv_libvirt_open(d->ctx, d->uri, &err);
		if (d->ihv == NULL) {
			g_free(d->inote);
			d->inote = g_strdup_printf("libvirt: %s", err->message);
			return;
		}
	}
	g_autoptr(GPtrArray) doms = kv_hv_list_domains(d->ihv, &err);
	if (doms == NULL) {
		g_free(d->inote);
		d->inote = g_strdup_printf("libvirt: %s", err->message);
		g_clear_pointer(&d->ihv, kv_hv_close);   /* reconnect next time */
		return;
	}
	g_clear_pointer(&d->inote, g_free);
	g_autoptr(GPtrArray) sensed = g_ptr_array_new_with_free_func((GDestroyNotify)kv_inspect_sense_free);
	for (guint i = 0; i < doms->len; i++) {
		const KvDomain *dom = g_ptr_array_index(doms, i);
		g_autoptr(GError) e = NULL;
		if (!dom->active || dom->uuid == NULL)
			continue;
		KvInspectSense *s = g_new0(KvInspectSense, 1);
		s->uuid = g_strdup(dom->uuid);
		s->name = g_strdup(dom->name);
		s->disks = kv_hv_domain_disks(d->ihv, dom->uuid, &e);
		if (s->disks == NULL) {
			if (g_error_matches(e, KV_ERROR, KV_ERROR_NOT_FOUND)) {
				kv_inspect_sense_free(s);   /* gone since the listing */
				continue;
			}
			s->why = g_strdup_printf("disks: %s", e->message);
		} else if (s->disks[0] == NULL) {
			s->why = g_strdup("no disk image in its domain XML");
		} else {
			s->key = kv_inspect_cache_key((const char *const *)s->disks, &s->why);
		}
		g_ptr_array_add(sensed, s);
	}
	if (kv_inspect_queue_update(d->iq, sensed, g_get_monotonic_time()))
		inspect_save(d, FALSE, TRUE);
	inspect_start_next(d);
}

static gboolean on_inspect_tick(gpointer data)
{
	inspect_scan(data);
	return G_SOURCE_CONTINUE;
}

static gboolean on_first_inspect(gpointer data)
{
	inspect_scan(data);
	return G_SOURCE_REMOVE;
}

static void inspect_setup(Daemon *d, const char *state_dir, gboolean use_libvirt)
{
	g_autoptr(GError) err = NULL;
	d->irun_fd = -1;
	d->irun_out = g_string_new(NULL);
	d->os_map_path = g_build_filename(state_dir, "os.json", NULL);
	d->icache_path = d->cfg.inspect_cache_file[0] ? g_strdup(d->cfg.inspect_cache_file)
						      : g_build_filename(state_dir, "inspect-cache.json", NULL);
	d->icache = kv_inspect_cache_load(d->icache_path, &err);
	if (d->icache == NULL) {
		kvd_log(LOG_WARNING, "%s: starting with an empty inspection cache", err->message);
		g_clear_error(&err);
		d->icache = kv_inspect_cache_new();
	}
	d->os_map = kv_os_map_load(d->os_map_path, &err);
	if (d->os_map == NULL) {
		kvd_log(LOG_WARNING, "%s: starting with an empty OS map", err->message);
		d->os_map = kv_os_map_new();
	}
	d->iq = kv_inspect_queue_new(d->icache, d->os_map);
	if (!use_libvirt)
		d->inote = g_strdup("no libvirt (--no-libvirt)");
}

static void inspect_start(Daemon *d)
{
	if (d->inote != NULL)   /* --no-libvirt */
		return;
	g_idle_add(on_first_inspect, d);
	d->inspect_source = g_timeout_add_seconds(d->cfg.inspect_interval_s, on_inspect_tick, d);
}

static void inspect_reconfigure(Daemon *d, guint old_interval_s)
{
	if (d->inspect_source && old_interval_s != d->cfg.inspect_interval_s) {
		g_source_remove(d->inspect_source);
		d->inspect_source = g_timeout_add_seconds(d->cfg.inspect_interval_s, on_inspect_tick, d);
	}
}

/* At exit: no appliance outlives the daemon. */
static void inspect_stop(Daemon *d)
{
	if (d->irun_pid) {
		int st;
		kill(-d->irun_pid, SIGKILL);
		while (waitpid(d->irun_pid, &st, 0) < 0 && errno == EINTR)
			;
		g_spawn_close_pid(d->irun_pid);
		d->irun_pid = 0;
	}
	if (d->irun_fd >= 0)
		close(d->irun_fd);
	g_clear_pointer(&d->iq, kv_inspect_queue_free);
	g_clear_pointer(&d->icache, kv_inspect_cache_free);
	g_clear_pointer(&d->os_map, g_hash_table_unref);
	g_clear_pointer(&d->ihv, kv_hv_close);
	if (d->irun_out)
		g_string_free(d->irun_out, TRUE);
	g_free(d->irun_uuid);
	g_free(d->irun_key);
	g_free(d->inote);
	g_free(d->icache_path);
	g_free(d->os_map_path);
}

/* The status document with the inspection state added. */
static gchar *inspect_status_json(Daemon *d, const char *doc)
{
	g_autoptr(JsonNode) root = kv_json_parse(doc, -1, 0, 0, NULL);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return g_strdup(doc);
	g_autoptr(JsonBuilder) b = json_builder_new();
	const char *note = !d->cfg.inspect_enabled ? "[inspect] enabled = false" : d->inote;
	kv_inspect_queue_build_json(d->iq, b, d->cfg.inspect_enabled && note == NULL, note,
				    d->cfg.inspect_timeout_s, g_get_monotonic_time());
	json_object_set_member(json_node_get_object(root), "inspection", json_builder_get_root(b));
	g_autoptr(JsonGenerator) gen = json_generator_new();
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	g_autofree gchar *text = json_generator_to_data(gen, NULL);
	return g_strconcat(text, "\n", NULL);
}
