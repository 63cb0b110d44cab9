/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-advise.h: NUMA placement advice for KSM with merge_across_nodes=0.
 *
 * With merge_across_nodes=0 KSM merges pages only within a host NUMA node,
 * so alike guests (same OS family and version) save the most when they
 * share a node: per node and family, one copy of what they have in common
 * stays and every other guest's copy is saved.  Pure functions only:
 * tested with tables, no I/O.  The advice (KvAdvice) is the model its
 * renderers show (kv-render-advise.c).
 */
#pragma once

#include <glib.h>

#include "kv-report.h"

G_BEGIN_DECLS

typedef struct {
	const char *name;
	const char *family; /* kv_os_info_family(): "linux/debian/12", "unknown" */
	guint64 ram_bytes;
	double share_fraction; /* of its RAM it can share with alike guests */
	int current_node;      /* host node id it runs on, -1 unknown */
} KvAdviseGuest;

typedef struct {
	int id;
	guint64 capacity_bytes; /* guest RAM the node may hold */
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

/* One guest in the advice. */
typedef struct {
	char *name;
	char *family; /* kv_os_info_family() */
	guint64 ram_bytes;
	int node_now; /* host node holding most of its pages, -1 unknown */
	int node_proposed;
	gboolean libvirt; /* a libvirt domain: it can be pinned */
} KvAdvicePlacement;

/* The advice: where each guest runs and should run, and what KSM is
 * expected to save either way. */
typedef struct {
	GArray *guests;            /* KvAdvicePlacement, in the report's order */
	gint64 merge_across_nodes; /* the knob's value, -1 unknown */
	guint64 saved_now_bytes, saved_proposed_bytes;
} KvAdvice;

/* kv_advice_from_report: the advice for the guests of R, which has a NUMA
 * topology (and a census for the current nodes, else they are unknown).
 * A guest without merged pages yet is assumed to share SHARE of its RAM
 * with alike guests; a node may hold CAPACITY_RATIO times its memory of
 * guest RAM.  Pure. */
KvAdvice *kv_advice_from_report(const KvReport *r, double share, double capacity_ratio);
void kv_advice_free(KvAdvice *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvAdvice, kv_advice_free)

/* kv_advice_moves: TRUE when guest P should change node. */
gboolean kv_advice_moves(const KvAdvicePlacement *p);

/* Renderers (kv-render-advise.c); each returns a newly allocated string.
 * The text is a table and the expected savings, then a note when
 * merge_across_nodes is 1 and, unless APPLYING, how to apply it.  The
 * JSON is schema "ksmvirt-advise/1". */
char *kv_render_advise_text(const KvAdvice *a, gboolean applying);
char *kv_render_advise_json(const KvAdvice *a);

G_END_DECLS
