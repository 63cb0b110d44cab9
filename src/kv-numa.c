/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-numa.c: host NUMA topology from sysfs. */
#include "kv-numa.h"
#include "kv-parse.h"

#include <string.h>

static gint
cmp_range(gconstpointer a, gconstpointer b)
{
	const KvPfnRange *x = a, *y = b;

	return (x->start_pfn > y->start_pfn) - (x->start_pfn < y->start_pfn);
}

static gint
cmp_node(gconstpointer a, gconstpointer b)
{
	const KvNumaNode *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

void
kv_numa_topo_free(KvNumaTopo *t)
{
	if (!t)
		return;
	g_array_unref(t->nodes);
	g_array_unref(t->ranges);
	g_free(t->source);
	g_free(t);
}

guint
kv_zoneinfo_parse(const char *buf, GArray *ranges)
{
	const char *line = buf;
	int node = -1;
	guint64 spanned = 0;
	gboolean have_spanned = FALSE;
	guint added = 0;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		g_autofree char *one = g_strndup(line, nl ? (gsize)(nl - line) : strlen(line));
		const char *p = one;
		guint64 v;

		if (g_str_has_prefix(p, "Node ")) {
			/* "Node 0, zone   Normal" */
			g_autofree char *id = g_strndup(p + 5, strcspn(p + 5, ","));

			node = kv_parse_u64(id, &v, NULL) && v <= G_MAXINT ? (int)v : -1;
			have_spanned = FALSE;
		} else {
			while (*p == ' ')
				p++;
			if (g_str_has_prefix(p, "spanned ") && kv_parse_u64(p + 8, &v, NULL)) {
				spanned = v;
				have_spanned = TRUE;
			} else if (g_str_has_prefix(p, "start_pfn:") && node >= 0 && have_spanned &&
				   kv_parse_u64(p + 10, &v, NULL) && spanned > 0) {
				KvPfnRange r = { v, v + spanned, node };

				g_array_append_val(ranges, r);
				added++;
				have_spanned = FALSE;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return added;
}

static void
add_node(KvNumaTopo *t, int id)
{
	KvNumaNode n = { .id = id };

	g_array_append_val(t->nodes, n);
}

gboolean
kv_node_meminfo_parse(const char *buf, guint64 *total_kib, guint64 *free_kib)
{
	g_auto(GStrv) lines = g_strsplit(buf ? buf : "", "\n", -1);
	guint found = 0;

	for (guint i = 0; lines[i]; i++) {
		const char *p = strstr(lines[i], "MemTotal:");
		guint64 *out = total_kib;

		if (!p) {
			p = strstr(lines[i], "MemFree:");
			out = free_kib;
		}
		if (!p || !g_str_has_prefix(lines[i], "Node "))
			continue;
		p = strchr(p, ':') + 1;
		if (kv_parse_u64(p, out, NULL))
			found++;
	}
	return found == 2;
}

gboolean
kv_node_meminfo_read(const KvCtx *ctx, int id, guint64 *total_kib, guint64 *free_kib)
{
	g_autofree char *path = g_strdup_printf("/sys/devices/system/node/node%d/meminfo", id);
	g_autofree char *buf = NULL;

	return kv_ctx_read(ctx, path, 64 * 1024, &buf, NULL, NULL) &&
	       kv_node_meminfo_parse(buf, total_kib, free_kib);
}

static void
read_node_meminfo(const KvCtx *ctx, KvNumaNode *n)
{
	kv_node_meminfo_read(ctx, n->id, &n->mem_total_kib, &n->mem_free_kib);
}

KvNumaTopo *
kv_numa_read(const KvCtx *ctx, GError **error)
{
	g_autoptr(KvNumaTopo) t = g_new0(KvNumaTopo, 1);
	g_autoptr(GPtrArray) names = NULL;
	g_autofree char *bs_buf = NULL;
	guint64 block_bytes = 0;

	t->nodes = g_array_new(FALSE, TRUE, sizeof(KvNumaNode));
	t->ranges = g_array_new(FALSE, FALSE, sizeof(KvPfnRange));
	if (kv_ctx_read(ctx, "/sys/devices/system/memory/block_size_bytes", 0, &bs_buf, NULL, NULL))
		kv_parse_hex_u64(g_strstrip(bs_buf), &block_bytes);

	names = kv_ctx_list_dir(ctx, "/sys/devices/system/node", NULL);
	for (guint i = 0; names && i < names->len; i++) {
		const char *nm = names->pdata[i];
		guint64 id;
		g_autofree char *dir = NULL;
		g_autoptr(GPtrArray) blocks = NULL;

		if (!g_str_has_prefix(nm, "node") || !kv_parse_u64(nm + 4, &id, NULL) || id > G_MAXINT)
			continue;
		add_node(t, (int)id);
		dir = g_strdup_printf("/sys/devices/system/node/%s", nm);
		blocks = kv_ctx_list_dir(ctx, dir, NULL);
		for (guint j = 0; block_bytes && blocks && j < blocks->len; j++) {
			const char *bn = blocks->pdata[j];
			guint64 blk;
			KvPfnRange r;

			if (!g_str_has_prefix(bn, "memory") || !kv_parse_u64(bn + 6, &blk, NULL))
				continue;
			r.start_pfn = blk * block_bytes / ctx->page_size;
			r.end_pfn = r.start_pfn + block_bytes / ctx->page_size;
			r.node = (int)id;
			g_array_append_val(t->ranges, r);
		}
	}
	if (t->ranges->len) {
		t->source = g_strdup("memory-blocks");
	} else {
		g_autofree char *zi = NULL;

		if (kv_ctx_read(ctx, "/proc/zoneinfo", 0, &zi, NULL, NULL))
			kv_zoneinfo_parse(zi, t->ranges);
		t->source = g_strdup("zoneinfo");
		for (guint i = 0; i < t->ranges->len; i++) {
			int nid = g_array_index(t->ranges, KvPfnRange, i).node;

			if (kv_numa_node_index(t, nid) < 0)
				add_node(t, nid);
		}
	}
	if (t->nodes->len == 0) {
		g_set_error(error, KV_ERROR, KV_ERROR_FAILED,
			    "no NUMA nodes or memory zones found under %s/sys/devices/system/node or %s/proc/zoneinfo",
			    ctx->root, ctx->root);
		return NULL;
	}
	g_array_sort(t->nodes, cmp_node);
	g_array_sort(t->ranges, cmp_range);
	/* Merge adjacent blocks of one node. */
	for (guint i = 1; i < t->ranges->len;) {
		KvPfnRange *a = &g_array_index(t->ranges, KvPfnRange, i - 1);
		KvPfnRange *b = &g_array_index(t->ranges, KvPfnRange, i);

		if (a->node == b->node && b->start_pfn <= a->end_pfn) {
			a->end_pfn = MAX(a->end_pfn, b->end_pfn);
			g_array_remove_index(t->ranges, i);
		} else {
			i++;
		}
	}
	for (guint i = 0; i < t->ranges->len; i++) {
		KvPfnRange *r = &g_array_index(t->ranges, KvPfnRange, i);
		int idx = kv_numa_node_index(t, r->node);

		if (idx >= 0)
			g_array_index(t->nodes, KvNumaNode, idx).pages += r->end_pfn - r->start_pfn;
	}
	for (guint i = 0; i < t->nodes->len; i++)
		read_node_meminfo(ctx, &g_array_index(t->nodes, KvNumaNode, i));
	return g_steal_pointer(&t);
}

int
kv_numa_node_of_pfn(const KvNumaTopo *t, guint64 pfn)
{
	guint lo = 0, hi = t->ranges->len;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		const KvPfnRange *r = &g_array_index(t->ranges, KvPfnRange, mid);

		if (pfn < r->start_pfn)
			hi = mid;
		else if (pfn >= r->end_pfn)
			lo = mid + 1;
		else
			return r->node;
	}
	return -1;
}

int
kv_numa_node_index(const KvNumaTopo *t, int id)
{
	for (guint i = 0; i < t->nodes->len; i++)
		if (g_array_index(t->nodes, KvNumaNode, i).id == id)
			return (int)i;
	return -1;
}

guint64
kv_numa_max_pfn(const KvNumaTopo *t)
{
	guint64 max = 0;

	for (guint i = 0; i < t->ranges->len; i++)
		max = MAX(max, g_array_index(t->ranges, KvPfnRange, i).end_pfn);
	return max;
}
