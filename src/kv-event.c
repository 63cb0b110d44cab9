/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-event: domain XML facts and the event line format.  See kv-event.h.
 */
#include "kv-event.h"
#include "kv-xml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KV_POLICY_NS KV_POLICY_NAMESPACE

G_DEFINE_QUARK(kv - event - error - quark, kv_event_error)

static const char *const op_names[] = {
	[KV_EVENT_OP_UNKNOWN] = "unknown",     [KV_EVENT_OP_PREPARE] = "prepare",
	[KV_EVENT_OP_START] = "start",         [KV_EVENT_OP_STARTED] = "started",
	[KV_EVENT_OP_STOPPED] = "stopped",     [KV_EVENT_OP_RELEASE] = "release",
	[KV_EVENT_OP_MIGRATE] = "migrate",     [KV_EVENT_OP_RESTORE] = "restore",
	[KV_EVENT_OP_RECONNECT] = "reconnect", [KV_EVENT_OP_ATTACH] = "attach",
};

KvEventOp
kv_event_op_from_string(const char *name)
{
	if (name == NULL)
		return KV_EVENT_OP_UNKNOWN;
	for (guint i = 1; i < G_N_ELEMENTS(op_names); i++)
		if (strcmp(name, op_names[i]) == 0)
			return (KvEventOp)i;
	return KV_EVENT_OP_UNKNOWN;
}

const char *
kv_event_op_to_string(KvEventOp op)
{
	if ((guint)op >= G_N_ELEMENTS(op_names))
		return op_names[KV_EVENT_OP_UNKNOWN];
	return op_names[op];
}

gboolean
kv_event_op_passes_xml(KvEventOp op)
{
	return op == KV_EVENT_OP_MIGRATE || op == KV_EVENT_OP_RESTORE;
}

static void
cell_free(gpointer p)
{
	KvEventCell *c = p;
	if (c == NULL)
		return;
	g_free(c->cpus);
	g_free(c);
}

KvEventCell *
kv_event_cell_new(guint id, guint64 memory_kib, const char *cpus)
{
	KvEventCell *c = g_new0(KvEventCell, 1);
	c->id = id;
	c->memory_kib = memory_kib;
	c->cpus = g_strdup(cpus);
	return c;
}

static gchar *
new_event_id(void)
{
	/* Time, pid and randomness: unique enough to tell replays apart. */
	return g_strdup_printf("%" G_GINT64_MODIFIER "x-%x-%08x", g_get_real_time(), (guint)getpid(),
			       g_random_int());
}

KvEvent *
kv_event_new(KvEventOp op, const char *subop, const char *extra)
{
	KvEvent *ev = g_new0(KvEvent, 1);
	ev->op = op;
	ev->subop = g_strdup(subop ? subop : "-");
	ev->extra = g_strdup(extra ? extra : "-");
	ev->time_us = g_get_real_time();
	ev->id = new_event_id();
	ev->cells = g_ptr_array_new_with_free_func(cell_free);
	ev->cell_merge = g_array_new(FALSE, FALSE, sizeof(KvCellMerge));
	return ev;
}

void
kv_event_free(KvEvent *ev)
{
	if (ev == NULL)
		return;
	g_free(ev->subop);
	g_free(ev->extra);
	g_free(ev->id);
	g_free(ev->boot_id);
	g_free(ev->name);
	g_free(ev->uuid);
	g_ptr_array_unref(ev->cells);
	g_free(ev->group);
	g_array_unref(ev->cell_merge);
	g_free(ev->policy_error);
	g_free(ev->owner);
	g_free(ev);
}

KvEvent *
kv_event_copy(const KvEvent *ev)
{
	KvEvent *c = g_new0(KvEvent, 1);
	*c = *ev;
	c->subop = g_strdup(ev->subop);
	c->extra = g_strdup(ev->extra);
	c->id = g_strdup(ev->id);
	c->boot_id = g_strdup(ev->boot_id);
	c->name = g_strdup(ev->name);
	c->uuid = g_strdup(ev->uuid);
	c->group = g_strdup(ev->group);
	c->cell_merge = g_array_copy(ev->cell_merge);
	c->policy_error = g_strdup(ev->policy_error);
	c->owner = g_strdup(ev->owner);
	c->cells = g_ptr_array_new_with_free_func(cell_free);
	for (guint i = 0; i < ev->cells->len; i++) {
		const KvEventCell *cell = g_ptr_array_index(ev->cells, i);
		g_ptr_array_add(c->cells, kv_event_cell_new(cell->id, cell->memory_kib, cell->cpus));
	}
	return c;
}

/* ---- numbers ------------------------------------------------------------ */

static gboolean
parse_u64(const char *s, guint64 *out, GError **error)
{
	g_autofree gchar *t = g_strstrip(g_strdup(s ? s : ""));
	guint64 v = 0;
	if (!g_ascii_string_to_unsigned(t, 10, 0, G_MAXUINT64, &v, NULL)) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_VALUE, "not a number: '%s'", s ? s : "");
		return FALSE;
	}
	*out = v;
	return TRUE;
}

/* libvirt's scaling rules: "b"/"bytes"; a power letter alone or followed
 * by "iB" is a power of 1024, followed by "B" a power of 1000; the letter
 * is case-insensitive.  Returns 0 for an unknown unit. */
static guint64
unit_bytes(const char *unit)
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

gboolean
kv_event_memory_to_kib(const char *value, const char *unit, guint64 *out_kib, GError **error)
{
	guint64 v;
	if (!parse_u64(value, &v, error))
		return FALSE;
	guint64 bytes_per_unit = unit_bytes(unit);
	if (bytes_per_unit == 0) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_VALUE, "unknown memory unit '%s'", unit);
		return FALSE;
	}
	if (v != 0 && bytes_per_unit > G_MAXUINT64 / v) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_VALUE, "memory value %s %s is too large",
			    value, unit ? unit : "KiB");
		return FALSE;
	}
	guint64 bytes = v * bytes_per_unit;
	*out_kib = bytes / 1024 + (bytes % 1024 != 0);
	return TRUE;
}

/* ---- domain XML ----------------------------------------------------------- */

static gboolean
is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *
child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent->children; n != NULL; n = n->next)
		if (is_elem(n, name))
			return n;
	return NULL;
}

static gchar *
text_of(const xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent(n);
	gchar *s = g_strstrip(g_strdup((const char *)c));
	xmlFree(c);
	return s;
}

/* Text without any stripping: domain names may begin or end with spaces. */
static gchar *
raw_text_of(const xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent(n);
	gchar *s = g_strdup((const char *)c);
	xmlFree(c);
	return s;
}

static gchar *
attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	if (v == NULL)
		return NULL;
	gchar *s = g_strdup((const char *)v);
	xmlFree(v);
	return s;
}

static gboolean
element_memory_kib(const xmlNode *n, const char *value_attr, guint64 *out_kib, GError **error)
{
	g_autofree gchar *unit = attr(n, "unit");
	g_autofree gchar *value = value_attr ? attr(n, value_attr) : text_of(n);
	return kv_event_memory_to_kib(value, unit, out_kib, error);
}

/* Canonical lower-case 8-4-4-4-12 form; libvirt also accepts the UUID
 * without dashes.  Returns NULL when s is no UUID. */
static gchar *
uuid_canonical(const char *s)
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
	return g_strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static void
parse_memory_backing(KvEvent *ev, const xmlNode *mb)
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

static void
parse_numa(KvEvent *ev, const xmlNode *numa, GPtrArray *cells)
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
		g_ptr_array_add(cells, kv_event_cell_new((guint)id, kib, cpus));
		next_id = (guint)id + 1;
	}
}

static void
set_policy_error(KvEvent *ev, const char *key, const char *value, const char *want)
{
	if (ev->policy_error == NULL)
		ev->policy_error = g_strdup_printf("policy %s='%s' is not %s: ignored", key, value, want);
}

static gboolean
parse_merge(KvEvent *ev, const char *merge, KvPolicyMerge *out)
{
	if (strcmp(merge, "on") == 0)
		*out = KV_POLICY_MERGE_ON;
	else if (strcmp(merge, "off") == 0)
		*out = KV_POLICY_MERGE_OFF;
	else {
		set_policy_error(ev, "merge", merge, "on or off");
		return FALSE;
	}
	return TRUE;
}

/* <ksmvirt:node cell="N" merge="on|off"/> children of the policy. */
static void
parse_policy_cells(KvEvent *ev, const xmlNode *p)
{
	for (const xmlNode *n = p->children; n != NULL; n = n->next) {
		g_autofree gchar *cell = NULL, *merge = NULL;
		KvCellMerge cm = { 0 };
		guint64 v;

		if (!is_elem(n, "node"))
			continue;
		if (ev->cell_merge->len >= KV_POLICY_MAX_CELLS) {
			set_policy_error(ev, "node", "...", "one of at most 64 cells");
			return;
		}
		cell = attr(n, "cell");
		merge = attr(n, "merge");
		if (cell == NULL || !g_ascii_string_to_unsigned(cell, 10, 0, 4095, &v, NULL)) {
			set_policy_error(ev, "node cell", cell ? cell : "", "a cell number");
			continue;
		}
		cm.cell = (guint)v;
		if (merge != NULL && !parse_merge(ev, merge, &cm.merge))
			continue;
		g_array_append_val(ev->cell_merge, cm);
	}
}

static void
parse_policy(KvEvent *ev, const xmlNode *p)
{
	ev->has_policy = TRUE;
	g_autofree gchar *merge = attr(p, "merge");
	g_autofree gchar *prio = attr(p, "priority");
	g_autofree gchar *minb = attr(p, "min-balloon-mib");
	g_autofree gchar *group = attr(p, "group");

	if (merge != NULL)
		parse_merge(ev, merge, &ev->merge);
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
	if (group != NULL) {
		if (group[0] == '\0' || strlen(group) > KV_POLICY_MAX_NAME || !g_utf8_validate(group, -1, NULL))
			set_policy_error(ev, "group", "...", "a name of 1 to 256 characters");
		else
			ev->group = g_steal_pointer(&group);
	}
	parse_policy_cells(ev, p);
}

/* The owner of the domain by RULE (see KvOwnerRule), or NULL. */
static gchar *
find_owner(const xmlNode *metadata, const KvOwnerRule *rule)
{
	const char *at = strrchr(rule->path, '@');
	g_autofree gchar *elems = at ? g_strndup(rule->path, (gsize)(at - rule->path)) : g_strdup(rule->path);
	g_auto(GStrv) parts = g_strsplit(elems, "/", 16);
	const xmlNode *n = NULL;
	g_autofree gchar *v = NULL;

	if (parts[0] == NULL || parts[0][0] == '\0')
		return NULL;
	for (const xmlNode *c = metadata->children; c != NULL && n == NULL; c = c->next)
		if (is_elem(c, parts[0]) && c->ns != NULL && c->ns->href != NULL &&
		    g_str_has_prefix((const char *)c->ns->href, rule->ns_prefix))
			n = c;
	for (guint i = 1; n != NULL && parts[i] != NULL; i++)
		n = parts[i][0] ? child(n, parts[i]) : NULL;
	if (n == NULL)
		return NULL;
	v = at ? attr(n, at + 1) : text_of(n);
	if (v == NULL || v[0] == '\0' || strlen(v) > KV_POLICY_MAX_NAME || !g_utf8_validate(v, -1, NULL))
		return NULL;
	return g_steal_pointer(&v);
}

static const xmlNode *
find_policy(const xmlNode *metadata)
{
	for (const xmlNode *n = metadata->children; n != NULL; n = n->next)
		if (is_elem(n, "policy") && n->ns != NULL && n->ns->href != NULL &&
		    strcmp((const char *)n->ns->href, KV_POLICY_NS) == 0)
			return n;
	return NULL;
}

static const xmlNode *
find_domain(const xmlNode *root)
{
	if (is_elem(root, "domain"))
		return root;
	/* Status XML wraps the definition: <domstatus>...<domain>. */
	return child(root, "domain");
}

gboolean
kv_event_parse_domain_xml(KvEvent *ev, const char *buf, gsize len, GError **error)
{
	return kv_event_parse_domain_xml_owner(ev, buf, len, NULL, error);
}

gboolean
kv_event_parse_domain_xml_owner(KvEvent *ev, const char *buf, gsize len, const KvOwnerRule *rule, GError **error)
{
	static const KvOwnerRule nova = { "http://openstack.org/xmlns/libvirt/nova/",
					  "instance/owner/project@uuid" };
	g_autoptr(GError) local = NULL;
	g_autoptr(xmlDoc) doc = kv_xml_parse(buf, len, &local);
	if (doc == NULL) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_XML, "domain XML %s", local->message);
		return FALSE;
	}
	const xmlNode *root = xmlDocGetRootElement(doc);
	const xmlNode *dom = root ? find_domain(root) : NULL;
	const xmlNode *name_n = dom ? child(dom, "name") : NULL;
	g_autofree gchar *name = name_n ? raw_text_of(name_n) : NULL;
	if (dom == NULL) {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_DOMAIN, "XML root <%s> holds no <domain>",
			    root ? (const char *)root->name : "");
		return FALSE;
	}
	if (name == NULL || *name == '\0') {
		g_set_error(error, KV_EVENT_ERROR, KV_EVENT_ERROR_DOMAIN, "domain XML has no <name>");
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
	guint64 min_guarantee_kib = 0;
	if ((n = child(dom, "memtune")) != NULL && (n = child(n, "min_guarantee")) != NULL)
		element_memory_kib(n, NULL, &min_guarantee_kib, NULL);

	/* Facts are collected in a scratch event so ev stays untouched on error. */
	g_autoptr(KvEvent) f = kv_event_new(ev->op, NULL, NULL);
	if ((n = child(dom, "memoryBacking")) != NULL)
		parse_memory_backing(f, n);
	if ((n = child(dom, "cpu")) != NULL && (n = child(n, "numa")) != NULL)
		parse_numa(f, n, f->cells);
	if ((n = child(dom, "metadata")) != NULL) {
		const xmlNode *p = find_policy(n);

		if (p != NULL)
			parse_policy(f, p);
		f->owner = find_owner(n, rule ? rule : &nova);
	}

	ev->has_xml = TRUE;
	g_free(ev->name);
	ev->name = g_steal_pointer(&name);
	g_free(ev->uuid);
	ev->uuid = g_steal_pointer(&uuid);
	ev->memory_kib = memory_kib;
	ev->current_memory_kib = current_kib ? current_kib : memory_kib;
	ev->min_guarantee_kib = min_guarantee_kib;
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
	g_array_unref(ev->cell_merge);
	ev->cell_merge = g_array_ref(f->cell_merge);
	g_free(ev->policy_error);
	ev->policy_error = g_steal_pointer(&f->policy_error);
	g_free(ev->owner);
	ev->owner = g_steal_pointer(&f->owner);
	return TRUE;
}

gchar **
kv_event_ksm_impossible(const KvEvent *ev)
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

gboolean
kv_event_merging_disabled(const KvEvent *ev)
{
	return ev->nosharepages || ev->merge == KV_POLICY_MERGE_OFF;
}

/* ---- JSON line ----------------------------------------------------------------
 *
 * The encoder is written by hand, not with json-glib: it runs in the hook,
 * on libvirt's critical path, and loading json-glib's dependencies (GIO,
 * GObject, ...) costs the hook several milliseconds per start.  The
 * decoder (kv-event-decode.c) uses json-glib; unit tests round-trip the two.
 */

static const char *
merge_to_string(KvPolicyMerge m)
{
	switch (m) {
	case KV_POLICY_MERGE_ON:
		return "on";
	case KV_POLICY_MERGE_OFF:
		return "off";
	default:
		return "default";
	}
}

static void
json_string(GString *out, const char *s)
{
	if (s == NULL) {
		g_string_append(out, "null");
		return;
	}
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(out, "\\u%04x", *p);
			else
				g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
}

/* Strings must be valid UTF-8 in JSON: invalid bytes become U+FFFD. */
static void
json_member_str(GString *out, const char *key, const char *v)
{
	g_string_append_printf(out, ",\"%s\":", key);
	if (v != NULL && !g_utf8_validate(v, -1, NULL)) {
		g_autofree gchar *valid = g_utf8_make_valid(v, -1);
		json_string(out, valid);
	} else {
		json_string(out, v);
	}
}

static void
json_member_int(GString *out, const char *key, gint64 v)
{
	g_string_append_printf(out, ",\"%s\":%" G_GINT64_FORMAT, key, v);
}

static void
json_member_bool(GString *out, const char *key, gboolean v)
{
	g_string_append_printf(out, ",\"%s\":%s", key, v ? "true" : "false");
}

gchar *
kv_event_to_json_line(const KvEvent *ev)
{
	GString *o = g_string_new("{\"schema\":\"" KV_EVENT_SCHEMA "\"");
	json_member_str(o, "id", ev->id);
	json_member_str(o, "op", kv_event_op_to_string(ev->op));
	json_member_str(o, "subop", ev->subop);
	json_member_str(o, "extra", ev->extra);
	json_member_int(o, "time_us", ev->time_us);
	json_member_str(o, "boot_id", ev->boot_id);
	if (ev->seq != 0)
		g_string_append_printf(o, ",\"seq\":%" G_GUINT64_FORMAT, ev->seq);
	json_member_bool(o, "has_xml", ev->has_xml);
	json_member_str(o, "name", ev->name);
	json_member_str(o, "uuid", ev->uuid);
	json_member_int(o, "memory_kib", (gint64)ev->memory_kib);
	json_member_int(o, "current_memory_kib", (gint64)ev->current_memory_kib);
	g_string_append(o, ",\"numa_cells\":[");
	for (guint i = 0; i < ev->cells->len; i++) {
		const KvEventCell *c = g_ptr_array_index(ev->cells, i);
		g_string_append_printf(o, "%s{\"id\":%u", i ? "," : "", c->id);
		json_member_int(o, "memory_kib", (gint64)c->memory_kib);
		json_member_str(o, "cpus", c->cpus);
		g_string_append_c(o, '}');
	}
	g_string_append(o, "],\"memory_backing\":{");
	g_string_append_printf(o, "\"nosharepages\":%s", ev->nosharepages ? "true" : "false");
	json_member_bool(o, "hugepages", ev->hugepages);
	json_member_bool(o, "memfd", ev->memfd);
	json_member_bool(o, "file", ev->file_backed);
	json_member_bool(o, "shared_access", ev->shared_access);
	g_string_append_c(o, '}');
	json_member_bool(o, "merging_disabled", kv_event_merging_disabled(ev));
	g_string_append(o, ",\"ksm_impossible\":[");
	g_auto(GStrv) why = kv_event_ksm_impossible(ev);
	for (guint i = 0; why[i] != NULL; i++) {
		if (i)
			g_string_append_c(o, ',');
		json_string(o, why[i]);
	}
	g_string_append(o, "],\"policy\":");
	if (ev->has_policy) {
		g_string_append(o, "{\"merge\":");
		json_string(o, merge_to_string(ev->merge));
		if (ev->has_priority)
			json_member_int(o, "priority", ev->priority);
		if (ev->has_min_balloon)
			json_member_int(o, "min_balloon_mib", (gint64)ev->min_balloon_mib);
		if (ev->group)
			json_member_str(o, "group", ev->group);
		if (ev->policy_error)
			json_member_str(o, "error", ev->policy_error);
		g_string_append_c(o, '}');
	} else {
		g_string_append(o, "null");
	}
	g_string_append_c(o, '}');
	return g_string_free(o, FALSE);
}
