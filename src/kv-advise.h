/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-advise.h: NUMA placement advice for KSM with merge_across_nodes=0.
 *
 * With merge_across_nodes=0 KSM merges pages only within a host NUMA node,
 * so alike guests (same OS family and version) save the most when they
 * share a node: per node and family, one copy of what they have in common
 * stays and every other guest's copy is saved.  Pure functions only:
 * tested with tables, no I/O.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	const char *name;
	const char *family;      /* kv_os_info_family(): "linux/debian/12", "unknown" */
	guint64 ram_bytes;
	double share_fraction;   /* of its RAM it can share with alike guests */
	int current_node;        /* host node id it runs on, -1 unknown */
} KvAdviseGuest;

typedef struct {
	int id;
	guint64 capacity_bytes;  /* guest RAM the node may hold */
} KvAdviseNode;

/* kv_advise_savings: bytes KSM is expected to save when guest i runs on
 * host node NODE_OF[i] (-1: unknown, counted on a node of its own).
 * For each node and family other than "unknown": the sum of the members'
 * shareable bytes minus the largest one (the copy that stays). */
guint64 kv_advise_savings(const KvAdviseGuest *guests, guint n, const int *node_of);

/* kv_advise_place: proposes a node for every guest (written to NODE_OF):
 * families by shareable bytes, largest first, each on the node with the
 * most room left (keeping the node most of its members already use on a
 * tie); a family that fits nowhere is split over the roomiest nodes.
 * Guests of family "unknown" go where they are, or to the roomiest node.
 * Never puts more guest RAM on a node than its capacity when any
 * placement avoids it.  Returns the expected savings of the proposal. */
guint64 kv_advise_place(const KvAdviseGuest *guests, guint n, const KvAdviseNode *nodes, guint n_nodes,
			int *node_of);

G_END_DECLS
