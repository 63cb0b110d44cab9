/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-numa.h: host NUMA nodes and their physical page-frame ranges.
 * Node ids are discovered from sysfs, never assumed contiguous. */
#pragma once

#include <glib.h>
#include "kv-ctx.h"

G_BEGIN_DECLS

typedef struct {
	guint64 start_pfn, end_pfn; /* [start, end) */
	int node;
} KvPfnRange;

typedef struct {
	int id;
	guint64 mem_total_kib, mem_free_kib;
	guint64 pages; /* PFNs in this node's ranges */
} KvNumaNode;

typedef struct {
	GArray *nodes;  /* KvNumaNode, ascending id */
	GArray *ranges; /* KvPfnRange, ascending start, disjoint */
	char *source;   /* "memory-blocks" or "zoneinfo" */
} KvNumaTopo;

/* kv_zoneinfo_parse: node PFN spans from /proc/zoneinfo (one range per
 * populated zone).  Appends to RANGES; returns the number added. */
guint kv_zoneinfo_parse(const char *buf, GArray *ranges);

/* kv_node_meminfo_parse: "Node N MemTotal: X kB" and "Node N MemFree:"
 * of /sys/devices/system/node/nodeN/meminfo.  Returns TRUE when both
 * parse. */
gboolean kv_node_meminfo_parse(const char *buf, guint64 *total_kib, guint64 *free_kib);

/* kv_node_meminfo_read: MemTotal and MemFree of host node ID (whatever
 * parses is stored).  Returns TRUE when both parse. */
gboolean kv_node_meminfo_read(const KvCtx *ctx, int id, guint64 *total_kib, guint64 *free_kib);

/* kv_numa_read: discovers nodes from /sys/devices/system/node and their
 * PFN ranges from memory blocks, else from /proc/zoneinfo.  A kernel
 * without NUMA gives one node 0.  Returns NULL with ERROR when nothing
 * describes physical memory. */
KvNumaTopo *kv_numa_read(const KvCtx *ctx, GError **error);
void kv_numa_topo_free(KvNumaTopo *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvNumaTopo, kv_numa_topo_free)

/* kv_numa_node_of_pfn: node id holding PFN, or -1. */
int kv_numa_node_of_pfn(const KvNumaTopo *t, guint64 pfn);
/* kv_numa_node_index: index of node ID in t->nodes, or -1. */
int kv_numa_node_index(const KvNumaTopo *t, int id);
/* kv_numa_max_pfn: one past the highest PFN of any range. */
guint64 kv_numa_max_pfn(const KvNumaTopo *t);

G_END_DECLS
