/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-qemu.c: QEMU command-line parsing. */
#include "kv-qemu.h"
#include "kv-parse.h"
#include "kv-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* A -object argument is at most MAX_ARG_STRLEN (128 KiB); libvirt's nest
 * two levels (an object holding a list of host nodes). */
#define KV_QEMU_JSON_MAX_BYTES (128u << 10)
#define KV_QEMU_JSON_MAX_DEPTH 8u

gboolean
kv_qemu_is_qemu(const char *comm, const char *const *argv)
{
	if (comm && (g_str_has_prefix(comm, "qemu-system") || strcmp(comm, "qemu-kvm") == 0))
		return TRUE;
	if (argv && argv[0]) {
		g_autofree char *base = g_path_get_basename(argv[0]);

		return g_str_has_prefix(base, "qemu-system-") || strcmp(base, "qemu-kvm") == 0;
	}
	return FALSE;
}

GHashTable *
kv_qemu_keyval_parse(const char *s, const char *implied_key)
{
	GHashTable *kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GString) cur = g_string_new(NULL);
	gboolean first = TRUE;

	for (const char *p = s;; p++) {
		if (*p == ',' && p[1] == ',') {
			g_string_append_c(cur, ',');
			p++;
			continue;
		}
		if (*p == ',' || *p == '\0') {
			char *eq = strchr(cur->str, '=');

			if (eq) {
				g_hash_table_replace(kv, g_strndup(cur->str, (gsize)(eq - cur->str)),
						     g_strdup(eq + 1));
			} else if (first && implied_key && cur->len) {
				g_hash_table_replace(kv, g_strdup(implied_key), g_strdup(cur->str));
			} else if (cur->len) {
				/* "key" alone means key=on in QEMU's syntax. */
				g_hash_table_replace(kv, g_strdup(cur->str), g_strdup("on"));
			}
			first = FALSE;
			g_string_truncate(cur, 0);
			if (*p == '\0')
				break;
			continue;
		}
		g_string_append_c(cur, *p);
	}
	return kv;
}

static KvTristate
parse_onoff(const char *v)
{
	if (!v)
		return KV_TRISTATE_UNSET;
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		return KV_TRISTATE_ON;
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		return KV_TRISTATE_OFF;
	return KV_TRISTATE_UNSET;
}

static void
backend_free(KvQemuBackend *b)
{
	if (!b)
		return;
	g_free(b->id);
	g_free(b->qom_type);
	g_free(b->mem_path);
	g_free(b);
}

void
kv_qemu_info_free(KvQemuInfo *qi)
{
	if (!qi)
		return;
	g_free(qi->name);
	g_free(qi->uuid);
	g_free(qi->machine_backend);
	g_ptr_array_unref(qi->backends);
	g_free(qi);
}

/* Turns a JSON -object into the same key -> string table the keyval
 * syntax gives, so one code path reads both. */
static GHashTable *
json_object_to_table(const char *s)
{
	g_autoptr(JsonNode) root = kv_json_parse(s, -1, KV_QEMU_JSON_MAX_BYTES, KV_QEMU_JSON_MAX_DEPTH, NULL);
	GHashTable *kv;
	JsonObject *obj;
	g_autoptr(GList) members = NULL;

	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	obj = json_node_get_object(root);
	kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	members = json_object_get_members(obj);
	for (GList *l = members; l; l = l->next) {
		JsonNode *n = json_object_get_member(obj, l->data);
		char *val = NULL;

		if (!JSON_NODE_HOLDS_VALUE(n))
			continue;
		switch (json_node_get_value_type(n) == G_TYPE_INT64     ? 0
			: json_node_get_value_type(n) == G_TYPE_BOOLEAN ? 1
			: json_node_get_value_type(n) == G_TYPE_STRING  ? 2
									: 3) {
		case 0:
			val = g_strdup_printf("%" G_GINT64_FORMAT "B", json_node_get_int(n));
			break;
		case 1:
			val = g_strdup(json_node_get_boolean(n) ? "on" : "off");
			break;
		case 2:
			val = g_strdup(json_node_get_string(n));
			break;
		default:
			continue;
		}
		g_hash_table_replace(kv, g_strdup(l->data), val);
	}
	return kv;
}

static KvQemuBackend *
find_backend(const KvQemuInfo *qi, const char *id)
{
	for (guint i = 0; id && i < qi->backends->len; i++) {
		KvQemuBackend *b = qi->backends->pdata[i];

		if (g_strcmp0(b->id, id) == 0)
			return b;
	}
	return NULL;
}

static void
parse_object(KvQemuInfo *qi, const char *arg)
{
	g_autoptr(GHashTable) kv = NULL;
	const char *type, *v;
	KvQemuBackend *b;
	guint64 size = 0;

	kv = arg[0] == '{' ? json_object_to_table(arg) : kv_qemu_keyval_parse(arg, "qom-type");
	if (!kv)
		return;
	type = g_hash_table_lookup(kv, "qom-type");
	if (!type || !g_str_has_prefix(type, "memory-backend-"))
		return;
	b = g_new0(KvQemuBackend, 1);
	b->qom_type = g_strdup(type);
	b->id = g_strdup(g_hash_table_lookup(kv, "id"));
	v = g_hash_table_lookup(kv, "size");
	/* Backend sizes default to bytes. */
	if (v && kv_parse_size(v, 'B', &size))
		b->size_bytes = size;
	b->merge = parse_onoff(g_hash_table_lookup(kv, "merge"));
	b->share = parse_onoff(g_hash_table_lookup(kv, "share"));
	b->hugetlb = parse_onoff(g_hash_table_lookup(kv, "hugetlb")) == KV_TRISTATE_ON;
	b->mem_path = g_strdup(g_hash_table_lookup(kv, "mem-path"));
	if (b->mem_path && strstr(b->mem_path, "hugepages"))
		b->hugetlb = TRUE;
	b->guest_node = -1;
	g_ptr_array_add(qi->backends, b);
}

static void
parse_numa(KvQemuInfo *qi, const char *arg)
{
	g_autoptr(GHashTable) kv = NULL;
	const char *memdev, *nodeid;
	KvQemuBackend *b;
	guint64 id;

	kv = arg[0] == '{' ? json_object_to_table(arg) : kv_qemu_keyval_parse(arg, "type");
	if (!kv || g_strcmp0(g_hash_table_lookup(kv, "type"), "node") != 0)
		return;
	memdev = g_hash_table_lookup(kv, "memdev");
	nodeid = g_hash_table_lookup(kv, "nodeid");
	b = find_backend(qi, memdev);
	if (!b)
		return;
	if (nodeid && kv_parse_u64(nodeid, &id, NULL) && id < 4096) {
		b->guest_node = (int)id;
	} else {
		/* Without nodeid, nodes are numbered in command-line order. */
		int next = 0;

		for (guint i = 0; i < qi->backends->len; i++) {
			KvQemuBackend *o = qi->backends->pdata[i];

			if (o->guest_node >= next)
				next = o->guest_node + 1;
		}
		b->guest_node = next;
	}
}

KvQemuInfo *
kv_qemu_parse_argv(const char *const *argv)
{
	KvQemuInfo *qi = g_new0(KvQemuInfo, 1);
	g_autoptr(GPtrArray) numa_args = g_ptr_array_new();

	qi->mem_merge = KV_TRISTATE_UNSET;
	qi->backends = g_ptr_array_new_with_free_func((GDestroyNotify)backend_free);
	/* An exiting process has an empty command line: argv[0] is NULL. */
	for (guint i = 1; argv && argv[0] && argv[i]; i++) {
		const char *opt = argv[i];
		const char *arg = argv[i + 1];

		if (opt[0] != '-' || !arg)
			continue;
		if (opt[1] == '-')
			opt++;
		if (!strcmp(opt, "-name")) {
			g_autoptr(GHashTable) kv = kv_qemu_keyval_parse(arg, "guest");

			g_free(qi->name);
			qi->name = g_strdup(g_hash_table_lookup(kv, "guest"));
		} else if (!strcmp(opt, "-uuid")) {
			g_free(qi->uuid);
			qi->uuid = g_ascii_strdown(arg, -1);
		} else if (!strcmp(opt, "-m")) {
			g_autoptr(GHashTable) kv = kv_qemu_keyval_parse(arg, "size");
			const char *size = g_hash_table_lookup(kv, "size");
			guint64 bytes;

			/* -m takes MiB without a suffix. */
			if (size && kv_parse_size(size, 'M', &bytes))
				qi->ram_bytes = bytes;
		} else if (!strcmp(opt, "-machine") || !strcmp(opt, "-M")) {
			g_autoptr(GHashTable) kv = kv_qemu_keyval_parse(arg, "type");
			const char *v = g_hash_table_lookup(kv, "mem-merge");

			if (v)
				qi->mem_merge = parse_onoff(v);
			v = g_hash_table_lookup(kv, "memory-backend");
			if (v) {
				g_free(qi->machine_backend);
				qi->machine_backend = g_strdup(v);
			}
		} else if (!strcmp(opt, "-object")) {
			parse_object(qi, arg);
		} else if (!strcmp(opt, "-numa")) {
			g_ptr_array_add(numa_args, (gpointer)arg);
		} else {
			continue;
		}
		i++;
	}
	/* -numa may come before the -object it names. */
	for (guint i = 0; i < numa_args->len; i++)
		parse_numa(qi, numa_args->pdata[i]);
	return qi;
}

GPtrArray *
kv_qemu_guest_ram(const KvQemuInfo *qi)
{
	GPtrArray *out = g_ptr_array_new();
	KvQemuBackend *mb;

	for (guint i = 0; i < qi->backends->len; i++) {
		KvQemuBackend *b = qi->backends->pdata[i];

		if (b->guest_node >= 0)
			g_ptr_array_add(out, b);
	}
	if (out->len)
		return out;
	mb = find_backend(qi, qi->machine_backend);
	if (mb) {
		g_ptr_array_add(out, mb);
		return out;
	}
	/* Implicit RAM: owned by the array. */
	g_ptr_array_set_free_func(out, (GDestroyNotify)backend_free);
	mb = g_new0(KvQemuBackend, 1);
	mb->id = g_strdup("pc.ram");
	mb->qom_type = g_strdup("memory-backend-ram");
	mb->size_bytes = qi->ram_bytes;
	mb->merge = qi->mem_merge;
	mb->share = KV_TRISTATE_UNSET;
	mb->guest_node = -1;
	g_ptr_array_add(out, mb);
	return out;
}

const char *
kv_qemu_backend_unmergeable_reason(const KvQemuBackend *b)
{
	if (b->hugetlb)
		return "hugetlb memory";
	if (b->share == KV_TRISTATE_ON)
		return "shared memory (share=on)";
	if (g_strcmp0(b->qom_type, "memory-backend-memfd") == 0 && b->share != KV_TRISTATE_OFF)
		return "memfd backend (shared by default)";
	if (g_strcmp0(b->qom_type, "memory-backend-file") == 0 && b->share == KV_TRISTATE_ON)
		return "shared file mapping";
	return NULL;
}
