/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-advise.c: placement advice (pure): the placer and the advice
 * model built from a report. */
#include "kv-advise.h"

#include <string.h>

static guint64
shareable(const KvAdviseGuest *g)
{
	double f = g->share_fraction < 0 ? 0 : g->share_fraction > 1 ? 1 : g->share_fraction;

	return (guint64)((double)g->ram_bytes * f);
}

guint64
kv_advise_savings(const KvAdviseGuest *guests, guint n, const int *node_of)
{
	guint64 saved = 0;
	g_autofree gboolean *done = g_new0(gboolean, n + 1);

	for (guint i = 0; i < n; i++) {
		guint64 sum = 0, max = 0;

		if (done[i] || node_of[i] < 0 || !guests[i].family || !strcmp(guests[i].family, "unknown"))
			continue;
		/* Every member of i's family on i's node. */
		for (guint j = i; j < n; j++) {
			if (done[j] || node_of[j] != node_of[i] || g_strcmp0(guests[j].family, guests[i].family))
				continue;
			done[j] = TRUE;
			sum += shareable(&guests[j]);
			max = MAX(max, shareable(&guests[j]));
		}
		saved += sum - max;
	}
	return saved;
}

typedef struct {
	const char *family;
	guint64 shareable, ram;
	GArray *members; /* guint indexes */
} Family;

static gint
cmp_family(gconstpointer a, gconstpointer b)
{
	const Family *x = a, *y = b;

	if (x->shareable != y->shareable)
		return x->shareable < y->shareable ? 1 : -1;
	return g_strcmp0(x->family, y->family);
}

/* Index of the node with the most room left; PREFER wins a tie. */
static int
roomiest(const KvAdviseNode *nodes, guint n_nodes, const gint64 *room, int prefer_idx)
{
	int best = -1;

	for (guint k = 0; k < n_nodes; k++) {
		if (best < 0 || room[k] > room[best] || (room[k] == room[best] && (int)k == prefer_idx))
			best = (int)k;
	}
	return best;
}

static int
node_index(const KvAdviseNode *nodes, guint n_nodes, int id)
{
	for (guint k = 0; k < n_nodes; k++)
		if (nodes[k].id == id)
			return (int)k;
	return -1;
}

guint64
kv_advise_place(const KvAdviseGuest *guests, guint n, const KvAdviseNode *nodes, guint n_nodes, int *node_of)
{
	g_autoptr(GArray) fams = g_array_new(FALSE, TRUE, sizeof(Family));
	g_autofree gint64 *room = g_new0(gint64, MAX(n_nodes, 1));

	for (guint i = 0; i < n; i++)
		node_of[i] = -1;
	if (n_nodes == 0)
		return 0;
	for (guint k = 0; k < n_nodes; k++)
		room[k] = (gint64)MIN(nodes[k].capacity_bytes, (guint64)G_MAXINT64);
	for (guint i = 0; i < n; i++) {
		const char *f = guests[i].family ? guests[i].family : "unknown";
		Family *fam = NULL;

		for (guint k = 0; k < fams->len; k++)
			if (!strcmp(g_array_index(fams, Family, k).family, f))
				fam = &g_array_index(fams, Family, k);
		if (!fam) {
			Family nf = { .family = f, .members = g_array_new(FALSE, FALSE, sizeof(guint)) };

			g_array_append_val(fams, nf);
			fam = &g_array_index(fams, Family, fams->len - 1);
		}
		g_array_append_val(fam->members, i);
		fam->shareable += shareable(&guests[i]);
		fam->ram += guests[i].ram_bytes;
	}
	/* "unknown" shares nothing by assumption: place it last. */
	for (guint k = 0; k < fams->len; k++)
		if (!strcmp(g_array_index(fams, Family, k).family, "unknown"))
			g_array_index(fams, Family, k).shareable = 0;
	g_array_sort(fams, cmp_family);

	for (guint k = 0; k < fams->len; k++) {
		Family *fam = &g_array_index(fams, Family, k);
		gboolean unknown = !strcmp(fam->family, "unknown");
		g_autofree guint *votes = g_new0(guint, n_nodes);
		int prefer = -1;
		int target;

		for (guint m = 0; m < fam->members->len; m++) {
			int idx = node_index(nodes, n_nodes,
					     guests[g_array_index(fam->members, guint, m)].current_node);

			if (idx >= 0 && ++votes[idx] > (prefer >= 0 ? votes[prefer] : 0))
				prefer = idx;
		}
		target = roomiest(nodes, n_nodes, room, prefer);
		if (!unknown && room[target] >= (gint64)fam->ram) {
			for (guint m = 0; m < fam->members->len; m++)
				node_of[g_array_index(fam->members, guint, m)] = nodes[target].id;
			room[target] -= (gint64)fam->ram;
			continue;
		}
		/* Split (or an unknown guest): each member where it is if it fits,
		 * else on the roomiest node; alike members keep together as long
		 * as the current target has room. */
		for (guint m = 0; m < fam->members->len; m++) {
			guint gi = g_array_index(fam->members, guint, m);
			int here = node_index(nodes, n_nodes, guests[gi].current_node);
			int k2;

			if (unknown && here >= 0 && room[here] >= (gint64)guests[gi].ram_bytes)
				k2 = here;
			else if (!unknown && room[target] >= (gint64)guests[gi].ram_bytes)
				k2 = target;
			else
				k2 = target = roomiest(nodes, n_nodes, room, -1);
			node_of[gi] = nodes[k2].id;
			room[k2] -= (gint64)guests[gi].ram_bytes;
		}
	}
	for (guint k = 0; k < fams->len; k++)
		g_array_unref(g_array_index(fams, Family, k).members);
	return kv_advise_savings(guests, n, node_of);
}

/* The host node holding most of a guest's pages (census), or -1. */
static int
majority_node(const KvReport *r, const KvGuest *g)
{
	guint64 best = 0;
	int node = -1;

	for (guint i = 0; g->census && i < r->topo->nodes->len; i++) {
		const KvCensusCount *c = &g_array_index(g->census->per_node, KvCensusCount, i);
		guint64 pages = c->merged + c->private_ + c->zero;

		if (pages > best) {
			best = pages;
			node = g_array_index(r->topo->nodes, KvNumaNode, i).id;
		}
	}
	return node;
}

static void
placement_clear(gpointer p)
{
	KvAdvicePlacement *a = p;

	g_free(a->name);
	g_free(a->family);
}

void
kv_advice_free(KvAdvice *a)
{
	if (a)
		g_array_unref(a->guests);
	g_free(a);
}

gboolean
kv_advice_moves(const KvAdvicePlacement *p)
{
	return p->node_proposed != p->node_now;
}

/* The placer's view of R's guests (and their current nodes in NOW). */
static KvAdviseGuest *
advise_guests(const KvReport *r, const KvAdvice *a, double share, int *now)
{
	KvAdviseGuest *guests = g_new0(KvAdviseGuest, r->guests->len + 1);

	for (guint i = 0; i < r->guests->len; i++) {
		const KvGuest *g = r->guests->pdata[i];
		const KvAdvicePlacement *p = &g_array_index(a->guests, KvAdvicePlacement, i);

		guests[i].name = p->name;
		guests[i].family = p->family;
		guests[i].ram_bytes = g->ram_bytes;
		/* What a guest already merges is the best estimate of what it shares. */
		guests[i].share_fraction =
			g->ram_bytes && g->ksm.merging_pages
				? MIN(1.0, (double)(g->ksm.merging_pages * r->page_size) / (double)g->ram_bytes)
				: share;
		guests[i].current_node = now[i] = p->node_now;
	}
	return guests;
}

/* The placer's view of R's host nodes. */
static KvAdviseNode *
advise_nodes(const KvReport *r, double capacity_ratio)
{
	KvAdviseNode *nodes = g_new0(KvAdviseNode, r->topo->nodes->len + 1);

	for (guint k = 0; k < r->topo->nodes->len; k++) {
		const KvNumaNode *n = &g_array_index(r->topo->nodes, KvNumaNode, k);
		guint64 mem = n->mem_total_kib ? n->mem_total_kib * 1024 : n->pages * r->page_size;

		nodes[k].id = n->id;
		nodes[k].capacity_bytes = (guint64)((double)mem * capacity_ratio);
	}
	return nodes;
}

KvAdvice *
kv_advice_from_report(const KvReport *r, double share, double capacity_ratio)
{
	KvAdvice *a = g_new0(KvAdvice, 1);
	guint n = r->guests->len;
	g_autofree int *now = g_new0(int, n + 1), *plan = g_new0(int, n + 1);
	g_autofree KvAdviseGuest *guests = NULL;
	g_autofree KvAdviseNode *nodes = NULL;

	a->guests = g_array_sized_new(FALSE, TRUE, sizeof(KvAdvicePlacement), n);
	g_array_set_clear_func(a->guests, placement_clear);
	for (guint i = 0; i < n; i++) {
		const KvGuest *g = r->guests->pdata[i];
		KvAdvicePlacement p = {
			.name = g_strdup(g->name),
			.family = kv_os_info_family(g->os),
			.ram_bytes = g->ram_bytes,
			.node_now = majority_node(r, g),
			.libvirt = g_strcmp0(g->source, "libvirt") == 0,
		};

		g_array_append_val(a->guests, p);
	}
	guests = advise_guests(r, a, share, now);
	nodes = advise_nodes(r, capacity_ratio);
	a->saved_now_bytes = kv_advise_savings(guests, n, now);
	a->saved_proposed_bytes = kv_advise_place(guests, n, nodes, r->topo->nodes->len, plan);
	for (guint i = 0; i < n; i++)
		g_array_index(a->guests, KvAdvicePlacement, i).node_proposed = plan[i];
	a->merge_across_nodes = kv_ksm_has(r->ksm, KV_KSM_MERGE_ACROSS_NODES)
					? (gint64)r->ksm->value[KV_KSM_MERGE_ACROSS_NODES]
					: -1;
	return a;
}
