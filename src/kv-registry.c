/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-registry: fold hook events into guests.  See kv-registry.h.
 */
#include "kv-registry.h"
#include "kv-file.h"
#include "kv-order.h"
#include "kv-paths.h"

#include <errno.h>
#include "kv-json.h"
#include <string.h>

#define KV_REGISTRY_SCHEMA "ksmvirt-registry/1"

struct _KvRegistry {
	GHashTable *by_key; /* key (lower-case UUID) -> KvRegistryGuest* */
	gchar *boot_id;     /* this boot, or NULL */
};

static const char *const state_names[] = {
	[KV_GUEST_STATE_UNKNOWN] = "unknown",
	[KV_GUEST_STATE_STARTING] = "starting",
	[KV_GUEST_STATE_RUNNING] = "running",
	[KV_GUEST_STATE_STOPPED] = "stopped",
};

const char *
kv_guest_state_to_string(KvGuestState state)
{
	if ((guint)state >= G_N_ELEMENTS(state_names))
		return state_names[KV_GUEST_STATE_UNKNOWN];
	return state_names[state];
}

KvGuestState
kv_guest_state_from_string(const char *name)
{
	for (guint i = 0; name != NULL && i < G_N_ELEMENTS(state_names); i++)
		if (strcmp(name, state_names[i]) == 0)
			return (KvGuestState)i;
	return KV_GUEST_STATE_UNKNOWN;
}

static void
guest_free(gpointer p)
{
	KvRegistryGuest *g = p;
	if (g == NULL)
		return;
	g_free(g->uuid);
	g_free(g->name);
	g_free(g->last_subop);
	g_free(g->last_boot_id);
	g_free(g->last_event_id);
	kv_event_free(g->facts);
	g_free(g);
}

KvRegistry *
kv_registry_new(void)
{
	KvRegistry *reg = g_new0(KvRegistry, 1);
	reg->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, guest_free);
	return reg;
}

void
kv_registry_free(KvRegistry *reg)
{
	if (reg == NULL)
		return;
	g_hash_table_unref(reg->by_key);
	g_free(reg->boot_id);
	g_free(reg);
}

void
kv_registry_set_boot_id(KvRegistry *reg, const char *boot_id)
{
	g_free(reg->boot_id);
	reg->boot_id = g_strdup(boot_id);
}

static KvOrderStamp
guest_stamp(const KvRegistryGuest *g)
{
	return (KvOrderStamp){ g->last_boot_id, g->last_seq, g->last_time_us };
}

/* Which of two guests was heard from last: kv_order_compare(). */
static int
compare_recency(const KvRegistry *reg, const KvRegistryGuest *a, const KvRegistryGuest *b)
{
	KvOrderStamp sa = guest_stamp(a), sb = guest_stamp(b);
	return kv_order_compare(&sa, &sb, reg->boot_id);
}

guint
kv_registry_size(const KvRegistry *reg)
{
	return g_hash_table_size(reg->by_key);
}

const KvRegistryGuest *
kv_registry_lookup_uuid(const KvRegistry *reg, const char *uuid)
{
	if (uuid == NULL)
		return NULL;
	g_autofree gchar *key = g_ascii_strdown(uuid, -1);
	return g_hash_table_lookup(reg->by_key, key);
}

const KvRegistryGuest *
kv_registry_lookup_name(const KvRegistry *reg, const char *name)
{
	GHashTableIter it;
	gpointer v;
	const KvRegistryGuest *best = NULL;
	if (name == NULL)
		return NULL;
	g_hash_table_iter_init(&it, reg->by_key);
	/* Names are unique among defined domains but a name may have been
	 * reused: prefer the guest heard from last. */
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const KvRegistryGuest *g = v;
		if (g_strcmp0(g->name, name) == 0 && (best == NULL || compare_recency(reg, g, best) > 0))
			best = g;
	}
	return best;
}

static gint
compare_guests(gconstpointer a, gconstpointer b)
{
	const KvRegistryGuest *ga = *(KvRegistryGuest *const *)a;
	const KvRegistryGuest *gb = *(KvRegistryGuest *const *)b;
	int c = g_strcmp0(ga->name, gb->name);
	return c != 0 ? c : g_strcmp0(ga->uuid, gb->uuid);
}

GPtrArray *
kv_registry_guests(const KvRegistry *reg)
{
	GPtrArray *r = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, reg->by_key);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(r, v);
	g_ptr_array_sort(r, compare_guests);
	return r;
}

static guint evict_over_cap(KvRegistry *reg);

static KvGuestState
next_state(KvGuestState cur, KvEventOp op)
{
	switch (op) {
	case KV_EVENT_OP_PREPARE:
	case KV_EVENT_OP_START:
		return KV_GUEST_STATE_STARTING;
	case KV_EVENT_OP_STARTED:
	case KV_EVENT_OP_RECONNECT:
	case KV_EVENT_OP_ATTACH:
		return KV_GUEST_STATE_RUNNING;
	case KV_EVENT_OP_STOPPED:
	case KV_EVENT_OP_RELEASE:
		return KV_GUEST_STATE_STOPPED;
	case KV_EVENT_OP_MIGRATE:
	case KV_EVENT_OP_RESTORE:
		/* An incoming guest is about to start here. */
		return cur == KV_GUEST_STATE_RUNNING ? cur : KV_GUEST_STATE_STARTING;
	case KV_EVENT_OP_UNKNOWN:
	default:
		return cur;
	}
}

gboolean
kv_registry_apply(KvRegistry *reg, const KvEvent *ev)
{
	if (ev->op == KV_EVENT_OP_UNKNOWN || ev->name == NULL)
		return FALSE;
	g_autofree gchar *key = NULL;
	if (ev->uuid != NULL) {
		key = g_ascii_strdown(ev->uuid, -1);
	} else {
		const KvRegistryGuest *known = kv_registry_lookup_name(reg, ev->name);
		key = known ? g_strdup(known->uuid) : g_strdup_printf("name:%s", ev->name);
	}
	KvRegistryGuest *g = g_hash_table_lookup(reg->by_key, key);
	gboolean added = FALSE;
	if (g != NULL) {
		KvOrderStamp now = { ev->boot_id, ev->seq, ev->time_us };
		KvOrderStamp last = guest_stamp(g);
		if (g_strcmp0(g->last_event_id, ev->id) == 0 || kv_order_compare(&now, &last, reg->boot_id) < 0)
			return FALSE;
	} else {
		/* A guest first heard of by name gets its UUID key now. */
		if (ev->uuid != NULL) {
			g_autofree gchar *name_key = g_strdup_printf("name:%s", ev->name);
			g_hash_table_remove(reg->by_key, name_key);
		}
		g = g_new0(KvRegistryGuest, 1);
		g->uuid = g_strdup(key);
		g_hash_table_insert(reg->by_key, g->uuid, g);
		added = TRUE;
	}
	g_free(g->name);
	g->name = g_strdup(ev->name);
	g->state = next_state(g->state, ev->op);
	g->last_op = ev->op;
	g_free(g->last_subop);
	g->last_subop = g_strdup(ev->subop);
	g->last_time_us = ev->time_us;
	g_free(g->last_boot_id);
	g->last_boot_id = g_strdup(ev->boot_id);
	g->last_seq = ev->seq;
	g_free(g->last_event_id);
	g->last_event_id = g_strdup(ev->id);
	if (ev->has_xml) {
		kv_event_free(g->facts);
		g->facts = kv_event_copy(ev);
	}
	if (added)
		evict_over_cap(reg);
	return TRUE;
}

static gboolean
is_gone(const KvRegistryGuest *g)
{
	return g->state == KV_GUEST_STATE_STOPPED;
}

/* Drop the least recent guests, stopped ones first, until at most
 * KV_REGISTRY_MAX_GUESTS are left.  Returns how many went. */
static guint
evict_over_cap(KvRegistry *reg)
{
	guint dropped = 0;
	while (g_hash_table_size(reg->by_key) > KV_REGISTRY_MAX_GUESTS) {
		GHashTableIter it;
		gpointer v;
		KvRegistryGuest *victim = NULL;
		g_hash_table_iter_init(&it, reg->by_key);
		while (g_hash_table_iter_next(&it, NULL, &v)) {
			KvRegistryGuest *g = v;
			if (victim == NULL || is_gone(g) > is_gone(victim) ||
			    (is_gone(g) == is_gone(victim) && compare_recency(reg, g, victim) < 0))
				victim = g;
		}
		g_hash_table_remove(reg->by_key, victim->uuid);
		dropped++;
	}
	return dropped;
}

guint
kv_registry_expire(KvRegistry *reg, gint64 now_us)
{
	const gint64 max_age_us = (gint64)KV_REGISTRY_STOPPED_MAX_AGE_S * G_USEC_PER_SEC;
	guint dropped = 0;
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, reg->by_key);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const KvRegistryGuest *g = v;
		if (is_gone(g) && now_us - g->last_time_us > max_age_us) {
			g_hash_table_iter_remove(&it);
			dropped++;
		}
	}
	return dropped + evict_over_cap(reg);
}

/* ---- JSON ------------------------------------------------------------------- */

gchar *
kv_registry_to_json(const KvRegistry *reg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GPtrArray) guests = kv_registry_guests(reg);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "schema");
	json_builder_add_string_value(b, KV_REGISTRY_SCHEMA);
	json_builder_set_member_name(b, "guests");
	json_builder_begin_array(b);
	for (guint i = 0; i < guests->len; i++) {
		const KvRegistryGuest *g = g_ptr_array_index(guests, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "uuid");
		json_builder_add_string_value(b, g->uuid);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, g->name);
		json_builder_set_member_name(b, "state");
		json_builder_add_string_value(b, kv_guest_state_to_string(g->state));
		json_builder_set_member_name(b, "last_op");
		json_builder_add_string_value(b, kv_event_op_to_string(g->last_op));
		json_builder_set_member_name(b, "last_subop");
		json_builder_add_string_value(b, g->last_subop);
		json_builder_set_member_name(b, "last_time_us");
		json_builder_add_int_value(b, g->last_time_us);
		if (g->last_seq != 0) {
			json_builder_set_member_name(b, "last_boot_id");
			json_builder_add_string_value(b, g->last_boot_id);
			json_builder_set_member_name(b, "last_seq");
			json_builder_add_int_value(b, (gint64)g->last_seq);
		}
		json_builder_set_member_name(b, "last_event_id");
		json_builder_add_string_value(b, g->last_event_id);
		json_builder_set_member_name(b, "facts");
		if (g->facts != NULL) {
			g_autofree gchar *line = kv_event_to_json_line(g->facts);
			g_autoptr(JsonNode) n = kv_json_parse(line, -1, 0, 0, NULL);

			if (n)
				json_builder_add_value(b, g_steal_pointer(&n));
			else
				json_builder_add_null_value(b);
		} else {
			json_builder_add_null_value(b);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	gchar *text = json_generator_to_data(gen, NULL);
	gchar *with_nl = g_strconcat(text, "\n", NULL);
	g_free(text);
	return with_nl;
}

static gboolean
parse_error(GError **error, const char *what)
{
	g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "not a ksmvirt registry: %s", what);
	return FALSE;
}

KvRegistry *
kv_registry_from_json(const char *buf, gsize len, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(JsonNode) root = len > G_MAXSSIZE ? NULL : kv_json_parse(buf, (gssize)len, 0, 0, &local);
	if (root == NULL) {
		parse_error(error, local ? local->message : "too large");
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		parse_error(error, "no JSON object");
		return NULL;
	}
	JsonObject *o = json_node_get_object(root);
	if (g_strcmp0(kv_json_get_str(o, "schema", NULL), KV_REGISTRY_SCHEMA) != 0) {
		parse_error(error, "schema is not " KV_REGISTRY_SCHEMA);
		return NULL;
	}
	JsonNode *gn = json_object_get_member(o, "guests");
	if (gn == NULL || !JSON_NODE_HOLDS_ARRAY(gn)) {
		parse_error(error, "no guests array");
		return NULL;
	}
	g_autoptr(KvRegistry) reg = kv_registry_new();
	JsonArray *a = json_node_get_array(gn);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);
		if (!JSON_NODE_HOLDS_OBJECT(e)) {
			parse_error(error, "a guest is not an object");
			return NULL;
		}
		JsonObject *go = json_node_get_object(e);
		const char *uuid = kv_json_get_str(go, "uuid", NULL);
		const char *name = kv_json_get_str(go, "name", NULL);
		if (uuid == NULL || name == NULL) {
			parse_error(error, "a guest lacks uuid or name");
			return NULL;
		}
		KvRegistryGuest *g = g_new0(KvRegistryGuest, 1);
		g->uuid = g_ascii_strdown(uuid, -1);
		g->name = g_strdup(name);
		g->state = kv_guest_state_from_string(kv_json_get_str(go, "state", NULL));
		g->last_op = kv_event_op_from_string(kv_json_get_str(go, "last_op", NULL));
		g->last_subop = g_strdup(kv_json_get_str(go, "last_subop", NULL));
		g->last_event_id = g_strdup(kv_json_get_str(go, "last_event_id", NULL));
		JsonNode *tn = json_object_get_member(go, "last_time_us");
		if (tn && JSON_NODE_HOLDS_VALUE(tn) && json_node_get_value_type(tn) == G_TYPE_INT64)
			g->last_time_us = json_node_get_int(tn);
		/* Absent in registries written before sequences. */
		JsonNode *sn = json_object_get_member(go, "last_seq");
		if (sn && JSON_NODE_HOLDS_VALUE(sn) && json_node_get_value_type(sn) == G_TYPE_INT64 &&
		    json_node_get_int(sn) > 0) {
			g->last_seq = (guint64)json_node_get_int(sn);
			g->last_boot_id = g_strdup(kv_json_get_str(go, "last_boot_id", NULL));
		}
		JsonNode *fn = json_object_get_member(go, "facts");
		if (fn && JSON_NODE_HOLDS_OBJECT(fn)) {
			g_autofree gchar *line = json_to_string(fn, FALSE);
			g->facts = kv_event_from_json_line(line, strlen(line), NULL);
		}
		g_hash_table_replace(reg->by_key, g->uuid, g);
	}
	evict_over_cap(reg);
	return g_steal_pointer(&reg);
}

const char *
kv_registry_default_path(void)
{
	return KV_PATH_REGISTRY;
}

KvRegistry *
kv_registry_load(const char *path, GError **error)
{
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	if (!(buf = kv_file_read_capped(path, KV_REGISTRY_MAX_BYTES, 0, &len, &local))) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return kv_registry_new();
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "%s", local->message);
		return NULL;
	}
	g_autoptr(GError) perr = NULL;
	KvRegistry *reg = kv_registry_from_json(buf, len, &perr);
	if (reg == NULL)
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "%s: %s", path, perr->message);
	return reg;
}

gboolean
kv_registry_save(const KvRegistry *reg, const char *path, GError **error)
{
	g_autofree gchar *text = kv_registry_to_json(reg);
	return kv_registry_save_json(text, path, error);
}

gboolean
kv_registry_save_json(const char *json, const char *path, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	if (g_mkdir_with_parents(dir, 0755) < 0) {
		int err = errno;
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "cannot create %s: %s", dir, g_strerror(err));
		return FALSE;
	}
	g_autoptr(GError) local = NULL;
	if (!kv_file_write_atomic(path, json, strlen(json), 0644, KV_FILE_WRITE_CHECK_DIR, &local)) {
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "%s", local->message);
		return FALSE;
	}
	return TRUE;
}
