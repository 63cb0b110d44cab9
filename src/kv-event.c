/*
 * kv-event: domain XML facts and the event line format.  See kv-event.h.
 */
#include "kv-event.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KV_POLICY_NS "http://ksmvirt.org/xmlns/policy/1.0"
#define KV_EVENT_SCHEMA "ksmvirt-event/1"

G_DEFINE_QUARK(kv-event-error-quark, kv_event_error)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)

static const char *const op_names[] = {
	[KV_EVENT_OP_UNKNOWN] = "unknown",
	[KV_EVENT_OP_PREPARE] = "prepare",
	[KV_EVENT_OP_START] = "start",
	[KV_EVENT_OP_STARTED] = "started",
	[KV_EVENT_OP_STOPPED] = "stopped",
	[KV_EVENT_OP_RELEASE] = "release",
	[KV_EVENT_OP_MIGRATE] = "migrate",
	[KV_EVENT_OP_RESTORE] = "restore",
	[KV_EVENT_OP_RECONNECT] = "reconnect",
	[KV_EVENT_OP_ATTACH] = "attach",
};

KvEventOp kv_event_op_from_string(const char *name)
{
	if (name == NULL)
		return KV_EVENT_OP_UNKNOWN;
	for (guint i = 1; i < G_N_ELEMENTS(op_names); i++)
		if (strcmp(name, op_names[i]) == 0)
			return (KvEventOp)i;
	return KV_EVENT_OP_UNKNOWN;
}

const char *kv_event_op_to_string(KvEventOp op)
{
	if ((guint)op >= G_N_ELEMENTS(op_names))
		return op_names[KV_EVENT_OP_UNKNOWN];
	return op_names[op];
}

gboolean kv_event_op_passes_xml(KvEventOp op)
{
	return op == KV_EVENT_OP_MIGRATE || op == KV_EVENT_OP_RESTORE;
}

static void cell_free(gpointer p)
{
	KvEventCell *c = p;
	if (c == NULL)
		return;
	g_free(c->cpus);
	g_free(c);
}

static KvEventCell *cell_new(guint id, guint64 memory_kib, const char *cpus)
{
	KvEventCell *c = g_new0(KvEventCell, 1);
	c->id = id;
	c->memory_kib = memory_kib;
	c->cpus = g_strdup(cpus);
	return c;
}

static gchar *new_event_id(void)
{
	/* Time, pid and randomness: unique enough to tell replays apart. */
	return g_strdup_printf("%" G_GINT64_MODIFIER "x-%x-%08x",
			       g_get_real_time(), (guint)getpid(),
			       g_random_int());
}

KvEvent *kv_event_new(KvEventOp op, const char *subop, const char *extra)
{
	KvEvent *ev = g_new0(KvEvent, 1);
	ev->op = op;
	ev->subop = g_strdup(subop ? subop : "-");
	ev->extra = g_strdup(extra ? extra : "-");
	ev->time_us = g_get_real_time();
	ev->id = new_event_id();
	ev->cells = g_ptr_array_new_with_free_func(cell_free);
	return ev;
}

void kv_event_free(KvEvent *ev)
{
	if (ev == NULL)
		return;
	g_free(ev->subop);
	g_free(ev->extra);
	g_free(ev->id);
	g_free(ev->name);
	g_free(ev->uuid);
	g_ptr_array_unref(ev->cells);
	g_free(ev->group);
	g_free(ev->policy_error);
	g_free(ev);
}

KvEvent *kv_event_copy(const KvEvent *ev)
{
	KvEvent *c = g_new0(KvEvent, 1);
	*c = *ev;
	c->subop = g_strdup(ev->subop);
	c->extra = g_strdup(ev->extra);
	c->id = g_strdup(ev->id);
	c->name = g_strdup(ev->name);
	c->uuid = g_strdup(ev->uuid);
	c->group = g_strdup(ev->group);
	c->policy_error = g_strdup(ev->policy_error);
	c->cells = g_ptr_array_new_with_free_func(cell_free);
	for (guint i = 0; i < ev->cells->len; i++) {
		const KvEventCell *cell = g_ptr_array_index(ev->cells, i);
		g_ptr_array_add(c->cells, cell_new(cell->id, cell->memory_kib, cell->cpus));
	}
	return c;
}

/* ---- numbers ------------------------------------------------------------ */

static gboolean parse_u64(const char *s, guint64 *out, GError **error)
{
	g_autofree gchar *t = g_strstrip(g_strdup(s ? s : ""));
	guint64 v = 0;
	if (!g_ascii_string_to_unsigned(t, 10, 0, G_MAXUINT64, &v, NULL)) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_VALUE,
			    "not a number: '%s'", s ? s : "");
		return FALSE;
	}
	*out = v;
	return TRUE;
}

/* libvirt's scaling rules: "b"/"bytes"; a power letter alone or followed
 * by "iB" is a power of 1024, followed by "B" a power of 1000; the letter
 * is case-insensitive.  Returns 0 for an unknown unit. */
static guint64 unit_bytes(const char *unit)
{
	static const char powers[] = "kmgtpe";
	if (unit == NULL || *unit == '\0')
		return 1024;
	if (g_ascii_strcasecmp(unit, "b") == 0 || g_ascii_strcasecmp(unit, "byte") == 0 ||
	    g_ascii_strcasecmp(unit, "bytes") == 0)
		return 1;
	const char *p = strchr(powers, g_ascii_tolower(unit[0]));
	if (p == NULL || unit[0] == '\0')
		return 0;
	guint exp = (guint)(p - powers) + 1;
	guint64 base;
	if (unit[1] == '\0' || g_ascii_strcasecmp(unit + 1, "iB") == 0)
		base = 1024;
	else if (g_ascii_strcasecmp(unit + 1, "B") == 0)
		base = 1000;
	else
		return 0;
	guint64 r = 1;
	for (guint i = 0; i < exp; i++)
		r *= base;
	return r;
}

gboolean kv_event_memory_to_kib(const char *value, const char *unit,
				guint64 *out_kib, GError **error)
{
	guint64 v;
	if (!parse_u64(value, &v, error))
		return FALSE;
	guint64 bytes_per_unit = unit_bytes(unit);
	if (bytes_per_unit == 0) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_VALUE,
			    "unknown memory unit '%s'", unit);
		return FALSE;
	}
	if (v != 0 && bytes_per_unit > G_MAXUINT64 / v) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_VALUE,
			    "memory value %s %s is too large", value, unit ? unit : "KiB");
		return FALSE;
	}
	guint64 bytes = v * bytes_per_unit;
	*out_kib = bytes / 1024 + (bytes % 1024 != 0);
	return TRUE;
}

/* ---- domain XML ----------------------------------------------------------- */

static gboolean is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent->children; n != NULL; n = n->next)
		if (is_elem(n, name))
			return n;
	return NULL;
}

static gchar *text_of(const xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent(n);
	gchar *s = g_strstrip(g_strdup((const char *)c));
	xmlFree(c);
	return s;
}

/* Text without any stripping: domain names may begin or end with spaces. */
static gchar *raw_text_of(const xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent(n);
	gchar *s = g_strdup((const char *)c);
	xmlFree(c);
	return s;
}

static gchar *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	if (v == NULL)
		return NULL;
	gchar *s = g_strdup((const char *)v);
	xmlFree(v);
	return s;
}

static gboolean element_memory_kib(const xmlNode *n, const char *value_attr,
				   guint64 *out_kib, GError **error)
{
	g_autofree gchar *unit = attr(n, "unit");
	g_autofree gchar *value = value_attr ? attr(n, value_attr) : text_of(n);
	return kv_event_memory_to_kib(value, unit, out_kib, error);
}

/* Canonical lower-case 8-4-4-4-12 form; libvirt also accepts the UUID
 * without dashes.  Returns NULL when s is no UUID. */
static gchar *uuid_canonical(const char *s)
{
	char hex[33];
	guint n = 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (!g_ascii_isxdigit(*p) || n == 32)
			return NULL;
		hex[n++] = g_ascii_tolower(*p);
	}
	if (n != 32)
		return NULL;
	hex[32] = '\0';
	return g_strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
			       hex + 12, hex + 16, hex + 20);
}

static void parse_memory_backing(KvEvent *ev, const xmlNode *mb)
{
	for (const xmlNode *n = mb->children; n != NULL; n = n->next) {
		if (is_elem(n, "nosharepages")) {
			ev->nosharepages = TRUE;
		} else if (is_elem(n, "hugepages")) {
			ev->hugepages = TRUE;
		} else if (is_elem(n, "source")) {
			g_autofree gchar *type = attr(n, "type");
			if (g_strcmp0(type, "memfd") == 0)
				ev->memfd = TRUE;
			else if (g_strcmp0(type, "file") == 0)
				ev->file_backed = TRUE;
		} else if (is_elem(n, "access")) {
			g_autofree gchar *mode = attr(n, "mode");
			if (g_strcmp0(mode, "shared") == 0)
				ev->shared_access = TRUE;
		}
	}
}

static void parse_numa(KvEvent *ev, const xmlNode *numa, GPtrArray *cells)
{
	guint next_id = 0;
	for (const xmlNode *n = numa->children; n != NULL; n = n->next) {
		if (!is_elem(n, "cell"))
			continue;
		g_autofree gchar *id_s = attr(n, "id");
		g_autofree gchar *cpus = attr(n, "cpus");
		g_autofree gchar *access = attr(n, "memAccess");
		guint64 id = next_id, kib = 0;
		if (id_s != NULL && !parse_u64(id_s, &id, NULL))
			id = next_id;
		if (!element_memory_kib(n, "memory", &kib, NULL))
			kib = 0;
		if (g_strcmp0(access, "shared") == 0)
			ev->shared_access = TRUE;
		g_ptr_array_add(cells, cell_new((guint)id, kib, cpus));
		next_id = (guint)id + 1;
	}
}

static void set_policy_error(KvEvent *ev, const char *key, const char *value,
			     const char *want)
{
	if (ev->policy_error == NULL)
		ev->policy_error = g_strdup_printf("policy %s='%s' is not %s: ignored",
						   key, value, want);
}

static void parse_policy(KvEvent *ev, const xmlNode *p)
{
	ev->has_policy = TRUE;
	g_autofree gchar *merge = attr(p, "merge");
	g_autofree gchar *prio = attr(p, "priority");
	g_autofree gchar *minb = attr(p, "min-balloon-mib");
	g_autofree gchar *group = attr(p, "group");

	if (merge != NULL) {
		if (strcmp(merge, "on") == 0)
			ev->merge = KV_POLICY_MERGE_ON;
		else if (strcmp(merge, "off") == 0)
			ev->merge = KV_POLICY_MERGE_OFF;
		else
			set_policy_error(ev, "merge", merge, "on or off");
	}
	if (prio != NULL) {
		gint64 v;
		if (g_ascii_string_to_signed(prio, 10, -1000000, 1000000, &v, NULL)) {
			ev->has_priority = TRUE;
			ev->priority = (gint)v;
		} else {
			set_policy_error(ev, "priority", prio, "an integer");
		}
	}
	if (minb != NULL) {
		guint64 v;
		if (g_ascii_string_to_unsigned(minb, 10, 0, G_MAXUINT32, &v, NULL)) {
			ev->has_min_balloon = TRUE;
			ev->min_balloon_mib = v;
		} else {
			set_policy_error(ev, "min-balloon-mib", minb, "a number of MiB");
		}
	}
	if (group != NULL)
		ev->group = g_steal_pointer(&group);
}

static const xmlNode *find_policy(const xmlNode *metadata)
{
	for (const xmlNode *n = metadata->children; n != NULL; n = n->next)
		if (is_elem(n, "policy") && n->ns != NULL && n->ns->href != NULL &&
		    strcmp((const char *)n->ns->href, KV_POLICY_NS) == 0)
			return n;
	return NULL;
}

static const xmlNode *find_domain(const xmlNode *root)
{
	if (is_elem(root, "domain"))
		return root;
	/* Status XML wraps the definition: <domstatus>...<domain>. */
	return child(root, "domain");
}

gboolean kv_event_parse_domain_xml(KvEvent *ev, const char *buf, gsize len,
				   GError **error)
{
	if (len > G_MAXINT) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_XML,
			    "domain XML of %" G_GSIZE_FORMAT " bytes is too large", len);
		return FALSE;
	}
	g_autoptr(xmlDoc) doc = xmlReadMemory(buf, (int)len, "domain.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_HUGE |
				    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlGetLastError();
		g_autofree gchar *msg = g_strstrip(g_strdup(e && e->message ? e->message : "unknown error"));
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_XML,
			    "domain XML does not parse: line %d: %s",
			    e ? e->line : 0, msg);
		return FALSE;
	}
	const xmlNode *root = xmlDocGetRootElement(doc);
	const xmlNode *dom = root ? find_domain(root) : NULL;
	const xmlNode *name_n = dom ? child(dom, "name") : NULL;
	g_autofree gchar *name = name_n ? raw_text_of(name_n) : NULL;
	if (dom == NULL) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_DOMAIN,
			    "XML root <%s> holds no <domain>",
			    root ? (const char *)root->name : "");
		return FALSE;
	}
	if (name == NULL || *name == '\0') {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_DOMAIN,
			    "domain XML has no <name>");
		return FALSE;
	}

	g_autofree gchar *uuid = NULL;
	const xmlNode *n;
	if ((n = child(dom, "uuid")) != NULL) {
		g_autofree gchar *t = text_of(n);
		uuid = uuid_canonical(t);
	}
	guint64 memory_kib = 0, current_kib = 0;
	if ((n = child(dom, "memory")) != NULL)
		element_memory_kib(n, NULL, &memory_kib, NULL);
	if ((n = child(dom, "currentMemory")) != NULL)
		element_memory_kib(n, NULL, &current_kib, NULL);

	/* Facts are collected in a scratch event so ev stays untouched on error. */
	g_autoptr(KvEvent) f = kv_event_new(ev->op, NULL, NULL);
	if ((n = child(dom, "memoryBacking")) != NULL)
		parse_memory_backing(f, n);
	if ((n = child(dom, "cpu")) != NULL && (n = child(n, "numa")) != NULL)
		parse_numa(f, n, f->cells);
	if ((n = child(dom, "metadata")) != NULL && (n = find_policy(n)) != NULL)
		parse_policy(f, n);

	ev->has_xml = TRUE;
	g_free(ev->name);
	ev->name = g_steal_pointer(&name);
	g_free(ev->uuid);
	ev->uuid = g_steal_pointer(&uuid);
	ev->memory_kib = memory_kib;
	ev->current_memory_kib = current_kib ? current_kib : memory_kib;
	g_ptr_array_unref(ev->cells);
	ev->cells = g_ptr_array_ref(f->cells);
	ev->nosharepages = f->nosharepages;
	ev->hugepages = f->hugepages;
	ev->memfd = f->memfd;
	ev->file_backed = f->file_backed;
	ev->shared_access = f->shared_access;
	ev->has_policy = f->has_policy;
	ev->merge = f->merge;
	ev->has_priority = f->has_priority;
	ev->priority = f->priority;
	ev->has_min_balloon = f->has_min_balloon;
	ev->min_balloon_mib = f->min_balloon_mib;
	g_free(ev->group);
	ev->group = g_steal_pointer(&f->group);
	g_free(ev->policy_error);
	ev->policy_error = g_steal_pointer(&f->policy_error);
	return TRUE;
}

gchar **kv_event_ksm_impossible(const KvEvent *ev)
{
	g_autoptr(GPtrArray) r = g_ptr_array_new();
	if (ev->hugepages)
		g_ptr_array_add(r, g_strdup("hugepages: KSM does not merge huge pages"));
	if (ev->memfd)
		g_ptr_array_add(r, g_strdup("memfd backing: KSM merges only anonymous private memory"));
	if (ev->file_backed)
		g_ptr_array_add(r, g_strdup("file backing: KSM merges only anonymous private memory"));
	if (ev->shared_access)
		g_ptr_array_add(r, g_strdup("shared memory access: KSM does not merge shared mappings"));
	g_ptr_array_add(r, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&r), FALSE);
}

gboolean kv_event_merging_disabled(const KvEvent *ev)
{
	return ev->nosharepages || ev->merge == KV_POLICY_MERGE_OFF;
}

/* ---- JSON line -------------------------------------------------------------- */

static const char *merge_to_string(KvPolicyMerge m)
{
	switch (m) {
	case KV_POLICY_MERGE_ON: return "on";
	case KV_POLICY_MERGE_OFF: return "off";
	default: return "default";
	}
}

static void add_str(JsonBuilder *b, const char *key, const char *v)
{
	json_builder_set_member_name(b, key);
	if (v)
		json_builder_add_string_value(b, v);
	else
		json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *key, gint64 v)
{
	json_builder_set_member_name(b, key);
	json_builder_add_int_value(b, v);
}

static void add_bool(JsonBuilder *b, const char *key, gboolean v)
{
	json_builder_set_member_name(b, key);
	json_builder_add_boolean_value(b, v);
}

gchar *kv_event_to_json_line(const KvEvent *ev)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	add_str(b, "schema", KV_EVENT_SCHEMA);
	add_str(b, "id", ev->id);
	add_str(b, "op", kv_event_op_to_string(ev->op));
	add_str(b, "subop", ev->subop);
	add_str(b, "extra", ev->extra);
	add_int(b, "time_us", ev->time_us);
	add_bool(b, "has_xml", ev->has_xml);
	add_str(b, "name", ev->name);
	add_str(b, "uuid", ev->uuid);
	add_int(b, "memory_kib", (gint64)ev->memory_kib);
	add_int(b, "current_memory_kib", (gint64)ev->current_memory_kib);
	json_builder_set_member_name(b, "numa_cells");
	json_builder_begin_array(b);
	for (guint i = 0; i < ev->cells->len; i++) {
		const KvEventCell *c = g_ptr_array_index(ev->cells, i);
		json_builder_begin_object(b);
		add_int(b, "id", c->id);
		add_int(b, "memory_kib", (gint64)c->memory_kib);
		add_str(b, "cpus", c->cpus);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "memory_backing");
	json_builder_begin_object(b);
	add_bool(b, "nosharepages", ev->nosharepages);
	add_bool(b, "hugepages", ev->hugepages);
	add_bool(b, "memfd", ev->memfd);
	add_bool(b, "file", ev->file_backed);
	add_bool(b, "shared_access", ev->shared_access);
	json_builder_end_object(b);
	add_bool(b, "merging_disabled", kv_event_merging_disabled(ev));
	json_builder_set_member_name(b, "ksm_impossible");
	json_builder_begin_array(b);
	g_auto(GStrv) why = kv_event_ksm_impossible(ev);
	for (guint i = 0; why[i] != NULL; i++)
		json_builder_add_string_value(b, why[i]);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "policy");
	if (ev->has_policy) {
		json_builder_begin_object(b);
		add_str(b, "merge", merge_to_string(ev->merge));
		if (ev->has_priority)
			add_int(b, "priority", ev->priority);
		if (ev->has_min_balloon)
			add_int(b, "min_balloon_mib", (gint64)ev->min_balloon_mib);
		if (ev->group)
			add_str(b, "group", ev->group);
		if (ev->policy_error)
			add_str(b, "error", ev->policy_error);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_end_object(b);

	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, FALSE);
	return json_generator_to_data(gen, NULL);
}

static const char *get_str(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);
	if (n == NULL || JSON_NODE_HOLDS_NULL(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

static gboolean get_int(JsonObject *o, const char *key, gint64 *out)
{
	JsonNode *n = json_object_get_member(o, key);
	if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
		return FALSE;
	*out = json_node_get_int(n);
	return TRUE;
}

static gboolean get_bool(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);
	if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return FALSE;
	return json_node_get_boolean(n);
}

KvEvent *kv_event_from_json_line(const char *buf, gsize len, GError **error)
{
	if (len > G_MAXSSIZE) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON, "event line too long");
		return NULL;
	}
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) local = NULL;
	if (!json_parser_load_from_data(p, buf, (gssize)len, &local)) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON,
			    "event is not JSON: %s", local->message);
		return NULL;
	}
	JsonNode *root = json_parser_get_root(p);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON,
			    "event is not a JSON object");
		return NULL;
	}
	JsonObject *o = json_node_get_object(root);
	if (g_strcmp0(get_str(o, "schema"), KV_EVENT_SCHEMA) != 0) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON,
			    "event schema is not %s", KV_EVENT_SCHEMA);
		return NULL;
	}
	KvEventOp op = kv_event_op_from_string(get_str(o, "op"));
	const char *name = get_str(o, "name");
	if (op == KV_EVENT_OP_UNKNOWN || name == NULL) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON,
			    "event lacks a known op or a name");
		return NULL;
	}
	g_autoptr(KvEvent) ev = kv_event_new(op, get_str(o, "subop"), get_str(o, "extra"));
	if (get_str(o, "id")) {
		g_free(ev->id);
		ev->id = g_strdup(get_str(o, "id"));
	}
	gint64 v;
	if (get_int(o, "time_us", &v))
		ev->time_us = v;
	ev->has_xml = get_bool(o, "has_xml");
	ev->name = g_strdup(name);
	ev->uuid = g_strdup(get_str(o, "uuid"));
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
			g_ptr_array_add(ev->cells, cell_new((guint)id, (guint64)MAX(kib, 0),
							    get_str(co, "cpus")));
		}
	}
	JsonNode *mbn = json_object_get_member(o, "memory_backing");
	if (mbn && JSON_NODE_HOLDS_OBJECT(mbn)) {
		JsonObject *mb = json_node_get_object(mbn);
		ev->nosharepages = get_bool(mb, "nosharepages");
		ev->hugepages = get_bool(mb, "hugepages");
		ev->memfd = get_bool(mb, "memfd");
		ev->file_backed = get_bool(mb, "file");
		ev->shared_access = get_bool(mb, "shared_access");
	}
	JsonNode *pn = json_object_get_member(o, "policy");
	if (pn && JSON_NODE_HOLDS_OBJECT(pn)) {
		JsonObject *po = json_node_get_object(pn);
		ev->has_policy = TRUE;
		const char *m = get_str(po, "merge");
		ev->merge = g_strcmp0(m, "on") == 0 ? KV_POLICY_MERGE_ON :
			    g_strcmp0(m, "off") == 0 ? KV_POLICY_MERGE_OFF :
			    KV_POLICY_MERGE_DEFAULT;
		if (get_int(po, "priority", &v)) {
			ev->has_priority = TRUE;
			ev->priority = (gint)CLAMP(v, G_MININT, G_MAXINT);
		}
		if (get_int(po, "min_balloon_mib", &v) && v >= 0) {
			ev->has_min_balloon = TRUE;
			ev->min_balloon_mib = (guint64)v;
		}
		ev->group = g_strdup(get_str(po, "group"));
		ev->policy_error = g_strdup(get_str(po, "error"));
	}
	return g_steal_pointer(&ev);
}
