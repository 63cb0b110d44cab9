/* SPDX-License-Identifier: GPL-2.0-or-later */
/* registry.c: the libvirt hook's events in ksmvirtd: folded into the
 * registry, which a worker thread saves, each event acknowledged only
 * once the registry holding it is on disk; the spool of events the hook
 * could not deliver replayed. */
#include "daemon.h"

#include <gio/gio.h>

#include "kv-file.h"
#include "kv-order.h"
#include "kv-spool.h"

/* An acknowledgement owed to a hook once its event is saved. */
typedef struct {
	KvServerClient *client;
	gchar *reply;
} Ack;

static void
ack_free(gpointer p)
{
	Ack *a = p;
	g_free(a->reply);
	g_free(a);
}

/* Answers every Ack in acks: "ok ID" when the registry holding them was
 * saved, else an error (the hook then spools the event). */
static void
answer_acks(GPtrArray *acks, const GError *save_error)
{
	for (guint i = 0; i < acks->len; i++) {
		Ack *a = g_ptr_array_index(acks, i);
		g_autofree gchar *err = save_error ? g_strdup_printf("error cannot save the registry: %s\n",
								     save_error->message)
						   : NULL;
		kv_server_client_answer(a->client, err ? err : a->reply);
	}
	g_ptr_array_set_size(acks, 0);
}

void
kvd_registry_save(Daemon *d)
{
	g_autoptr(GError) err = NULL;
	if (!kv_registry_save(d->reg, d->registry_path, &err))
		kvd_log(LOG_ERR, "cannot save the registry: %s", err->message);
}

/* Registry writes fsync: on a busy disk that takes long enough to make
 * hooks wait for their acknowledgement, and an event is acknowledged only
 * once it is on disk.  So the file is written by a worker thread, one
 * write at a time, coalescing the changes that arrive meanwhile (and their
 * acknowledgements) into the next write; the main loop goes on serving. */
static void
save_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	const char *path = g_object_get_data(G_OBJECT(task), "path");
	GError *err = NULL;
	if (kv_registry_save_json(data, path, &err))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, err);
}

static void start_save(Daemon *d);

static void
on_saved(GObject *source, GAsyncResult *res, gpointer data)
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

static void
start_save(Daemon *d)
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

static void
save_registry_soon(Daemon *d)
{
	if (d->saving)
		d->dirty = TRUE;
	else
		start_save(d);
}

/* Let a write in flight finish (at exit, before a synchronous save). */
static void
wait_saves(Daemon *d)
{
	while (d->saving)
		g_main_context_iteration(NULL, TRUE);
}

static void
log_event(const KvEvent *ev, const char *how)
{
	kvd_log(LOG_DEBUG, "%s: %s %s %s (uuid %s)", how, ev->name, kv_event_op_to_string(ev->op), ev->subop,
		ev->uuid ? ev->uuid : "unknown");
}

/* Folds the spooled event in PATH into the registry; one that does not
 * decode is renamed to NAME.bad-TIMESTAMP so it is not retried.  Returns
 * TRUE when it was applied. */
static gboolean
replay_one(Daemon *d, const char *path)
{
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
		return FALSE;
	}
	kv_registry_apply(d->reg, ev);
	log_event(ev, "replayed");
	return TRUE;
}

/* Entries are removed only after the registry holding them is saved. */
guint
kvd_registry_replay_spool(Daemon *d)
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
	for (guint i = 0; i < paths->len; i++)
		applied += replay_one(d, g_ptr_array_index(paths, i));
	if (!kv_registry_save(d->reg, d->registry_path, &err)) {
		kvd_log(LOG_ERR, "cannot save the registry, spool kept: %s", err->message);
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

void
kvd_registry_event(Daemon *d, KvServerClient *client, const KvEvent *ev)
{
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

/* Forget guests gone long ago (kv_registry_expire()). */
void
kvd_registry_expire(Daemon *d)
{
	guint n = kv_registry_expire(d->reg, g_get_real_time());
	if (n > 0) {
		kvd_log(LOG_INFO, "forgot %u guest(s) gone from the registry", n);
		save_registry_soon(d);
	}
}

void
kvd_registry_open(Daemon *d, const KvCtx *ctx)
{
	g_autoptr(GError) err = NULL;
	d->acks_waiting = g_ptr_array_new_with_free_func(ack_free);
	d->acks_in_flight = g_ptr_array_new_with_free_func(ack_free);
	d->reg = kv_registry_load(d->registry_path, &err);
	if (d->reg == NULL) {
		g_autoptr(GError) re = NULL;
		g_autofree gchar *bad = g_error_matches(err, KV_ERROR, KV_ERROR_PARSE)
						? kv_file_set_aside(d->registry_path, &re)
						: NULL;
		if (bad)
			kvd_log(LOG_WARNING, "%s: set aside as %s, starting with an empty registry",
				err->message, bad);
		else
			kvd_log(LOG_WARNING, "%s: starting with an empty registry%s%s", err->message,
				re ? "; cannot set it aside: " : "", re ? re->message : "");
		g_clear_error(&err);
		d->reg = kv_registry_new();
	}
	/* Events of this boot come after those of any earlier one. */
	g_autofree gchar *boot_id = kv_order_boot_id(ctx, &err);
	if (boot_id == NULL)
		kvd_log(LOG_WARNING, "%s: events of different boots are ordered by the wall clock", err->message);
	kv_registry_set_boot_id(d->reg, boot_id);
	kv_registry_expire(d->reg, g_get_real_time());
}

void
kvd_registry_close(Daemon *d)
{
	wait_saves(d);
	if (d->loop) {
		/* Events folded in but not in a write yet: save, then answer. */
		g_autoptr(GError) serr = NULL;
		if (!kv_registry_save(d->reg, d->registry_path, &serr))
			kvd_log(LOG_ERR, "cannot save the registry: %s", serr->message);
		answer_acks(d->acks_waiting, serr);
	}
	g_clear_pointer(&d->reg, kv_registry_free);
	g_clear_pointer(&d->acks_waiting, g_ptr_array_unref);
	g_clear_pointer(&d->acks_in_flight, g_ptr_array_unref);
}
