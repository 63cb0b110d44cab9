/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-inspect-queue.c: which running guest ksmvirtd inspects next (see
 * kv-inspect-queue.h).  No I/O here. */
#include "kv-inspect-queue.h"
#include "kv-ctx.h"
#include "kv-escape.h"

#include <string.h>
#include "kv-json.h"

struct KvInspectQueue {
	KvInspectCache *cache;
	GHashTable *os_map;
	GHashTable *guests; /* uuid -> KvInspectGuest */
	char *running;      /* uuid of the running guest, or NULL */
};

const char *
kv_inspect_state_to_string(KvInspectState s)
{
	switch (s) {
	case KV_INSPECT_PENDING:
		return "pending";
	case KV_INSPECT_RUNNING:
		return "running";
	case KV_INSPECT_DONE:
		return "done";
	case KV_INSPECT_UNKNOWN:
		return "unknown";
	}
	return "unknown";
}

void
kv_inspect_sense_free(KvInspectSense *s)
{
	if (!s)
		return;
	g_free(s->uuid);
	g_free(s->name);
	g_strfreev(s->disks);
	g_free(s->key);
	g_free(s->why);
	g_free(s);
}

static void
guest_free(KvInspectGuest *g)
{
	g_free(g->uuid);
	g_free(g->name);
	g_strfreev(g->disks);
	g_free(g->key);
	kv_os_info_free(g->os);
	g_free(g);
}

KvInspectQueue *
kv_inspect_queue_new(KvInspectCache *cache, GHashTable *os_map)
{
	KvInspectQueue *q = g_new0(KvInspectQueue, 1);

	q->cache = cache;
	q->os_map = os_map;
	q->guests = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)guest_free);
	return q;
}

void
kv_inspect_queue_free(KvInspectQueue *q)
{
	if (!q)
		return;
	g_hash_table_unref(q->guests);
	g_free(q->running);
	g_free(q);
}

/* Records OS for UUID in the OS map; TRUE when that changed it. */
static gboolean
map_set(KvInspectQueue *q, const char *uuid, const KvOsInfo *os)
{
	const KvOsInfo *old = g_hash_table_lookup(q->os_map, uuid);
	g_autofree char *a = old ? kv_os_info_to_json(old) : NULL;
	g_autofree char *b = kv_os_info_to_json(os);

	if (a && !strcmp(a, b))
		return FALSE;
	g_hash_table_replace(q->os_map, g_strdup(uuid), kv_os_info_copy(os));
	return TRUE;
}

static void
set_answer(KvInspectGuest *g, KvOsInfo *os, gboolean from_cache, gint64 now_us)
{
	kv_os_info_free(g->os);
	g->os = os;
	g->from_cache = from_cache;
	g->state = strcmp(os->type, "unknown") ? KV_INSPECT_DONE : KV_INSPECT_UNKNOWN;
	g->since_us = now_us;
}

/* Decides the state of G from its key: an answer from the cache, a
 * reason, or the queue.  Returns TRUE when the OS map changed. */
static gboolean
settle(KvInspectQueue *q, KvInspectGuest *g, const char *why, gint64 now_us)
{
	const KvOsInfo *hit;

	g->retry_us = 0;
	g->took_s = 0;
	if (!g->key) {
		set_answer(g, kv_os_info_new_unknown(why ? why : "no disk"), FALSE, now_us);
		return map_set(q, g->uuid, g->os);
	}
	hit = kv_inspect_cache_lookup(q->cache, g->key);
	if (hit) {
		set_answer(g, kv_os_info_copy(hit), TRUE, now_us);
		return map_set(q, g->uuid, g->os);
	}
	g_clear_pointer(&g->os, kv_os_info_free);
	g->from_cache = FALSE;
	g->state = KV_INSPECT_PENDING;
	g->since_us = now_us;
	return FALSE;
}

gboolean
kv_inspect_queue_update(KvInspectQueue *q, GPtrArray *sensed, gint64 now_us)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter it;
	gpointer k, v;
	gboolean changed = FALSE;

	for (guint i = 0; sensed && i < sensed->len; i++) {
		const KvInspectSense *s = g_ptr_array_index(sensed, i);
		KvInspectGuest *g;
		gboolean same;

		if (!s->uuid)
			continue;
		g_hash_table_add(seen, s->uuid);
		g = g_hash_table_lookup(q->guests, s->uuid);
		/* The same disks (or the same reason for having no key). */
		same = g && g_strcmp0(g->key, s->key) == 0 &&
		       (s->key || g_strcmp0(g->os ? g->os->reason : NULL, s->why ? s->why : "no disk") == 0);
		if (!g) {
			g = g_new0(KvInspectGuest, 1);
			g->uuid = g_strdup(s->uuid);
			g_hash_table_insert(q->guests, g->uuid, g);
		} else if (same) {
			/* Same disks: keep the state, retry a failed run when due. */
			g_free(g->name);
			g->name = g_strdup(s->name);
			if (g->state == KV_INSPECT_UNKNOWN && g->retry_us && now_us >= g->retry_us)
				changed |= settle(q, g, s->why, now_us);
			continue;
		}
		g_free(g->name);
		g->name = g_strdup(s->name);
		g_strfreev(g->disks);
		g->disks = g_strdupv(s->disks ? s->disks : (char *[]){ NULL });
		g_free(g->key);
		g->key = g_strdup(s->key);
		if (g->state == KV_INSPECT_RUNNING)
			continue; /* kv_inspect_queue_finish() sees the new key */
		changed |= settle(q, g, s->why, now_us);
	}
	g_hash_table_iter_init(&it, q->guests);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const KvInspectGuest *g = v;

		if (!g_hash_table_contains(seen, k) && g->state != KV_INSPECT_RUNNING)
			g_hash_table_iter_remove(&it);
	}
	return changed;
}

const KvInspectGuest *
kv_inspect_queue_running(KvInspectQueue *q)
{
	return q->running ? g_hash_table_lookup(q->guests, q->running) : NULL;
}

const KvInspectGuest *
kv_inspect_queue_next(KvInspectQueue *q, gint64 now_us)
{
	GHashTableIter it;
	gpointer v;
	KvInspectGuest *best = NULL;

	if (q->running)
		return NULL;
	g_hash_table_iter_init(&it, q->guests);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		KvInspectGuest *g = v;

		if (g->state != KV_INSPECT_PENDING)
			continue;
		if (!best || g->since_us < best->since_us ||
		    (g->since_us == best->since_us && g_strcmp0(g->name, best->name) < 0))
			best = g;
	}
	if (!best)
		return NULL;
	best->state = KV_INSPECT_RUNNING;
	best->since_us = now_us;
	q->running = g_strdup(best->uuid);
	return best;
}

void
kv_inspect_queue_finish(KvInspectQueue *q, const char *uuid, const char *key, const KvOsInfo *os,
			gint64 now_us, gboolean *cache_changed, gboolean *map_changed)
{
	KvInspectGuest *g = g_hash_table_lookup(q->guests, uuid);
	gboolean transient = kv_os_info_is_transient(os);

	*cache_changed = *map_changed = FALSE;
	if (g_strcmp0(q->running, uuid) == 0)
		g_clear_pointer(&q->running, g_free);
	if (!transient && key) {
		GHashTableIter it;
		gpointer v;

		kv_inspect_cache_store(q->cache, key, os);
		*cache_changed = TRUE;
		/* Guests waiting with the same disks (one image shared
		 * read-only) have their answer now. */
		g_hash_table_iter_init(&it, q->guests);
		while (g_hash_table_iter_next(&it, NULL, &v)) {
			KvInspectGuest *o = v;

			if (o != g && o->state == KV_INSPECT_PENDING && !g_strcmp0(o->key, key))
				*map_changed |= settle(q, o, NULL, now_us);
		}
	}
	if (!g)
		return;
	if (g_strcmp0(g->key, key) != 0) {
		/* The disks changed while it ran: look again. */
		*map_changed |= settle(q, g, NULL, now_us);
		return;
	}
	g->took_s = (now_us - g->since_us) / 1e6;
	set_answer(g, kv_os_info_copy(os), FALSE, now_us);
	g->retry_us = transient ? now_us + (gint64)KV_INSPECT_RETRY_S * G_USEC_PER_SEC : 0;
	/* A failed run does not overwrite what an earlier run found. */
	if (!transient || !g_hash_table_contains(q->os_map, uuid))
		*map_changed |= map_set(q, uuid, g->os);
}

static gint
by_name(gconstpointer a, gconstpointer b)
{
	const KvInspectGuest *x = *(KvInspectGuest *const *)a, *y = *(KvInspectGuest *const *)b;
	int c = g_strcmp0(x->name, y->name);

	return c ? c : g_strcmp0(x->uuid, y->uuid);
}

GPtrArray *
kv_inspect_queue_guests(KvInspectQueue *q)
{
	GPtrArray *out = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, q->guests);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(out, v);
	g_ptr_array_sort(out, by_name);
	return out;
}

void
kv_inspect_queue_build_json(KvInspectQueue *q, JsonBuilder *b, gboolean enabled, const char *note,
			    guint timeout_s, gint64 now_us)
{
	g_autoptr(GPtrArray) guests = q ? kv_inspect_queue_guests(q) : g_ptr_array_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "enabled");
	json_builder_add_boolean_value(b, enabled);
	kv_json_str(b, "note", note);
	kv_json_u64(b, "timeout_s", timeout_s);
	json_builder_set_member_name(b, "guests");
	json_builder_begin_array(b);
	for (guint i = 0; i < guests->len; i++) {
		const KvInspectGuest *g = g_ptr_array_index(guests, i);

		json_builder_begin_object(b);
		kv_json_str(b, "name", g->name);
		kv_json_str(b, "uuid", g->uuid);
		kv_json_str(b, "state", kv_inspect_state_to_string(g->state));
		json_builder_set_member_name(b, "disks");
		json_builder_begin_array(b);
		for (guint j = 0; g->disks && g->disks[j]; j++)
			json_builder_add_string_value(b, g->disks[j]);
		json_builder_end_array(b);
		kv_json_u64(b, "for_s", (guint64)MAX(0, (now_us - g->since_us) / G_USEC_PER_SEC));
		if (g->state == KV_INSPECT_DONE || g->state == KV_INSPECT_UNKNOWN) {
			json_builder_set_member_name(b, "cached");
			json_builder_add_boolean_value(b, g->from_cache);
			if (!g->from_cache && g->took_s > 0) {
				json_builder_set_member_name(b, "took_s");
				json_builder_add_double_value(b, g->took_s);
			}
			json_builder_set_member_name(b, "os");
			kv_os_info_build_json(b, g->os, TRUE);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
}

char *
kv_inspect_status_render_text(const char *status_json)
{
	g_autoptr(JsonNode) root = kv_json_parse(status_json, -1, 0, 0, NULL);
	JsonNode *in;
	JsonObject *o;
	JsonArray *guests;
	GString *t;

	if (!root || !JSON_NODE_HOLDS_OBJECT(root) ||
	    !(in = json_object_get_member(json_node_get_object(root), "inspection")) ||
	    !JSON_NODE_HOLDS_OBJECT(in))
		return g_strdup("");
	o = json_node_get_object(in);
	t = g_string_new("\nGuest OS inspection");
	if (!kv_json_get_bool(o, "enabled", FALSE)) {
		g_autofree char *note = kv_escape_term(kv_json_get_str(o, "note", "disabled"));

		g_string_append_printf(t, ": off (%s)\n", note);
		return g_string_free(t, FALSE);
	}
	g_string_append_printf(t, " (one appliance at a time, timeout %" G_GINT64_FORMAT " s):\n",
			       kv_json_get_int(o, "timeout_s", 0));
	guests = kv_json_get_array(o, "guests");
	if (!guests || json_array_get_length(guests) == 0) {
		g_string_append(t, "  (no running guest)\n");
		return g_string_free(t, FALSE);
	}
	g_string_append_printf(t, "  %-24s %-8s %s\n", "GUEST", "STATE", "OS OR REASON");
	for (guint i = 0; i < json_array_get_length(guests); i++) {
		JsonObject *g = kv_json_array_object(guests, i);
		const char *state = kv_json_get_str(g, "state", "?");
		JsonObject *os = kv_json_get_object(g, "os");
		g_autofree char *what = NULL, *what_e = NULL, *name = NULL, *state_e = NULL;
		gint64 for_s = kv_json_get_int(g, "for_s", 0);

		if (!strcmp(state, "pending") || !strcmp(state, "running")) {
			what = g_strdup_printf("for %" G_GINT64_FORMAT " s", for_s);
		} else if (os && !strcmp(state, "done")) {
			const char *pn = kv_json_get_str(os, "product_name", NULL);
			double took = kv_json_get_double(g, "took_s", 0);
			g_autofree char *how = kv_json_get_bool(g, "cached", FALSE)
						       ? g_strdup("from the cache")
						       : g_strdup_printf("inspected in %.0f s", took);

			what = g_strdup_printf("%s (%s), %s", pn ? pn : "?",
					       kv_json_get_str(os, "family", "?"), how);
		} else {
			what = g_strdup(os ? kv_json_get_str(os, "reason", "no reason given")
					   : "no reason given");
		}
		/* WHAT holds OS names and reasons: escaped as a whole. */
		name = kv_escape_term(kv_json_get_str(g, "name", "?"));
		state_e = kv_escape_term(state);
		what_e = kv_escape_term(what);
		g_string_append_printf(t, "  %-24s %-8s %s\n", name, state_e, what_e);
	}
	return g_string_free(t, FALSE);
}
