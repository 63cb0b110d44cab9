/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-history.c: reading ksmvirtd's history.jsonl. */
#include "kv-history.h"

#include "kv-json.h"
#include <string.h>

static guint64
get_u64(JsonObject *o, const char *name)
{
	gint64 v = kv_json_get_int(o, name, 0);

	return v < 0 ? 0 : (guint64)v;
}

guint
kv_history_parse(const char *buf, GArray *points)
{
	const char *line = buf;
	guint skipped = 0;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		gsize len = nl ? (gsize)(nl - line) : strlen(line);
		g_autoptr(JsonNode) root = NULL;
		JsonObject *o;
		KvHistoryPoint pt;

		if (len == 0) {
			line = nl ? nl + 1 : NULL;
			continue;
		}
		/* One tick is a flat object of a few hundred bytes. */
		if (!(root = kv_json_parse(line, (gssize)len, 64 * 1024, 4, NULL)) ||
		    !JSON_NODE_HOLDS_OBJECT(root) ||
		    g_strcmp0(kv_json_get_str(json_node_get_object(root), "schema", ""), "ksmvirt-history/1") !=
			    0) {
			skipped++;
			line = nl ? nl + 1 : NULL;
			continue;
		}
		o = json_node_get_object(root);
		pt.time_s = kv_json_get_double(o, "time", 0);
		pt.pages_sharing = get_u64(o, "pages_sharing");
		pt.ksm_zero_pages = get_u64(o, "ksm_zero_pages");
		pt.pages_to_scan = get_u64(o, "pages_to_scan");
		pt.mem_total_kib = get_u64(o, "mem_total_kib");
		pt.mem_available_kib = get_u64(o, "mem_available_kib");
		pt.psi_some_avg10 = kv_json_get_double(o, "psi_some_avg10", -1);
		pt.ksm_run = kv_json_get_int(o, "ksm_run", -1);
		g_array_append_val(points, pt);
		line = nl ? nl + 1 : NULL;
	}
	return skipped;
}

GArray *
kv_history_load(const char *path, GError **error)
{
	g_autoptr(GArray) points = g_array_new(FALSE, FALSE, sizeof(KvHistoryPoint));
	g_autofree char *older = g_strconcat(path, ".1", NULL);
	const char *parts[] = { older, path };

	for (guint i = 0; i < G_N_ELEMENTS(parts); i++) {
		g_autofree char *buf = NULL;
		g_autoptr(GError) local = NULL;

		if (!g_file_get_contents(parts[i], &buf, NULL, &local)) {
			if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
				continue;
			g_propagate_error(error, g_steal_pointer(&local));
			return NULL;
		}
		kv_history_parse(buf, points);
	}
	return g_steal_pointer(&points);
}
