/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-event-decode: read event lines back (json-glib).  See kv-event.h.
 */
#include "kv-event.h"

#include "kv-json.h"
#include <string.h>

/* An event line carries the facts of one domain: a few KiB, three levels
 * (event, cells, cell); the bounds leave room and stop hostile lines. */
#define KV_EVENT_JSON_MAX_BYTES (1u << 20)
#define KV_EVENT_JSON_MAX_DEPTH 16u

static gboolean
get_int(JsonObject *o, const char *key, gint64 *out)
{
	JsonNode *n = json_object_get_member(o, key);
	if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
		return FALSE;
	*out = json_node_get_int(n);
	return TRUE;
}

KvEvent *
kv_event_from_json_line(const char *buf, gsize len, GError **error)
{
	if (len > G_MAXSSIZE) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON, "event line too long");
		return NULL;
	}
	g_autoptr(GError) local = NULL;
	g_autoptr(JsonNode) root =
		kv_json_parse(buf, (gssize)len, KV_EVENT_JSON_MAX_BYTES, KV_EVENT_JSON_MAX_DEPTH, &local);
	if (root == NULL) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON, "event is not JSON: %s", local->message);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON, "event is not a JSON object");
		return NULL;
	}
	JsonObject *o = json_node_get_object(root);
	if (g_strcmp0(kv_json_get_str(o, "schema", NULL), KV_EVENT_SCHEMA) != 0) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON, "event schema is not %s",
			    KV_EVENT_SCHEMA);
		return NULL;
	}
	KvEventOp op = kv_event_op_from_string(kv_json_get_str(o, "op", NULL));
	const char *name = kv_json_get_str(o, "name", NULL);
	if (op == KV_EVENT_OP_UNKNOWN || name == NULL) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON, "event lacks a known op or a name");
		return NULL;
	}
	g_autoptr(KvEvent)
		ev = kv_event_new(op, kv_json_get_str(o, "subop", NULL), kv_json_get_str(o, "extra", NULL));
	if (kv_json_get_str(o, "id", NULL)) {
		g_free(ev->id);
		ev->id = g_strdup(kv_json_get_str(o, "id", NULL));
	}
	gint64 v;
	if (get_int(o, "time_us", &v))
		ev->time_us = v;
	/* Events from before sequences have neither. */
	ev->boot_id = g_strdup(kv_json_get_str(o, "boot_id", NULL));
	if (get_int(o, "seq", &v) && v > 0)
		ev->seq = (guint64)v;
	ev->has_xml = kv_json_get_bool(o, "has_xml", FALSE);
	ev->name = g_strdup(name);
	ev->uuid = g_strdup(kv_json_get_str(o, "uuid", NULL));
	if (get_int(o, "memory_kib", &v) && v >= 0)
		ev->memory_kib = (guint64)v;
	if (get_int(o, "current_memory_kib", &v) && v >= 0)
		ev->current_memory_kib = (guint64)v;
	JsonNode *cn = json_object_get_member(o, "numa_cells");
	if (cn && JSON_NODE_HOLDS_ARRAY(cn)) {
		JsonArray *a = json_node_get_array(cn);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *e = json_array_get_element(a, i);
			if (!JSON_NODE_HOLDS_OBJECT(e))
				continue;
			JsonObject *co = json_node_get_object(e);
			gint64 id = i, kib = 0;
			get_int(co, "id", &id);
			get_int(co, "memory_kib", &kib);
			g_ptr_array_add(ev->cells, kv_event_cell_new((guint)id, (guint64)MAX(kib, 0),
								     kv_json_get_str(co, "cpus", NULL)));
		}
	}
	JsonNode *mbn = json_object_get_member(o, "memory_backing");
	if (mbn && JSON_NODE_HOLDS_OBJECT(mbn)) {
		JsonObject *mb = json_node_get_object(mbn);
		ev->nosharepages = kv_json_get_bool(mb, "nosharepages", FALSE);
		ev->hugepages = kv_json_get_bool(mb, "hugepages", FALSE);
		ev->memfd = kv_json_get_bool(mb, "memfd", FALSE);
		ev->file_backed = kv_json_get_bool(mb, "file", FALSE);
		ev->shared_access = kv_json_get_bool(mb, "shared_access", FALSE);
	}
	JsonNode *pn = json_object_get_member(o, "policy");
	if (pn && JSON_NODE_HOLDS_OBJECT(pn)) {
		JsonObject *po = json_node_get_object(pn);
		ev->has_policy = TRUE;
		const char *m = kv_json_get_str(po, "merge", NULL);
		ev->merge = g_strcmp0(m, "on") == 0    ? KV_POLICY_MERGE_ON
			    : g_strcmp0(m, "off") == 0 ? KV_POLICY_MERGE_OFF
						       : KV_POLICY_MERGE_DEFAULT;
		if (get_int(po, "priority", &v)) {
			ev->has_priority = TRUE;
			ev->priority = (gint)CLAMP(v, G_MININT, G_MAXINT);
		}
		if (get_int(po, "min_balloon_mib", &v) && v >= 0) {
			ev->has_min_balloon = TRUE;
			ev->min_balloon_mib = (guint64)v;
		}
		ev->group = g_strdup(kv_json_get_str(po, "group", NULL));
		ev->policy_error = g_strdup(kv_json_get_str(po, "error", NULL));
	}
	return g_steal_pointer(&ev);
}
