/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: NUMA placement advice as pure functions, with tables. */
#include "kv-advise.h"

#define GiB (G_GUINT64_CONSTANT(1) << 30)

static void
test_savings(void)
{
	const KvAdviseGuest g[] = {
		{ "a", "linux/debian/12", 2 * GiB, 0.5, 0 },
		{ "b", "linux/debian/12", 2 * GiB, 0.5, 0 },
		{ "c", "linux/debian/12", 2 * GiB, 0.25, 1 },
		{ "w", "windows/windows/10", 4 * GiB, 0.5, 1 },
		{ "u", "unknown", 4 * GiB, 0.9, 1 },
	};
	static const struct {
		int node_of[5];
		guint64 want;
	} cases[] = {
		/* a+b share 1 GiB on node 0; c alone on 1; w alone; u never. */
		{ { 0, 0, 1, 1, 1 }, 1 * GiB },
		/* all Debian on node 0: 1 + 1 + 0.5 - 1 = 1.5 GiB. */
		{ { 0, 0, 0, 1, 1 }, GiB + GiB / 2 },
		/* each alone. */
		{ { 0, 1, 2, 3, 3 }, 0 },
		/* unknown placement (-1) counts for nothing. */
		{ { -1, -1, 0, 0, 0 }, 0 },
		/* same family, different nodes: nothing merges across nodes. */
		{ { 0, 2, 4, 4, 4 }, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("savings case %u", i);
		g_assert_cmpuint(kv_advise_savings(g, 5, cases[i].node_of), ==, cases[i].want);
	}
}

typedef struct {
	const char *what;
	KvAdviseGuest guests[8];
	guint n;
	KvAdviseNode nodes[4];
	guint n_nodes;
	int want[8];
	guint64 want_saved;
} PlaceCase;

static const PlaceCase place_cases[] = {
	{ "alike guests spread over two nodes come together",
	  { { "d1", "linux/debian/12", GiB, 0.5, 0 }, { "d2", "linux/debian/12", GiB, 0.5, 2 },
	    { "d3", "linux/debian/12", GiB, 0.5, 0 }, { "w1", "windows/windows/10", 2 * GiB, 0.5, 2 },
	    { "w2", "windows/windows/10", 2 * GiB, 0.5, 0 } }, 5,
	  { { 0, 4 * GiB }, { 2, 4 * GiB } }, 2,
	  { 0, 0, 0, 2, 2 }, GiB + GiB },
	{ "a family too big for one node is split, fullest use first",
	  { { "a", "linux/ubuntu/22", 2 * GiB, 0.5, -1 }, { "b", "linux/ubuntu/22", 2 * GiB, 0.5, -1 },
	    { "c", "linux/ubuntu/22", 2 * GiB, 0.5, -1 } }, 3,
	  { { 0, 4 * GiB }, { 1, 4 * GiB } }, 2,
	  { 0, 0, 1 }, GiB },
	{ "unknown guests stay where they are",
	  { { "x", "unknown", GiB, 0.9, 1 }, { "y", "unknown", GiB, 0.9, 0 } }, 2,
	  { { 0, 8 * GiB }, { 1, 8 * GiB } }, 2,
	  { 1, 0 }, 0 },
	{ "a tie keeps the family on the node most members use",
	  { { "a", "linux/debian/12", GiB, 0.5, 1 }, { "b", "linux/debian/12", GiB, 0.5, 1 } }, 2,
	  { { 0, 8 * GiB }, { 1, 8 * GiB } }, 2,
	  { 1, 1 }, GiB / 2 },
	{ "the bigger family gets the room",
	  { { "s1", "linux/suse/15", GiB, 0.1, 0 }, { "s2", "linux/suse/15", GiB, 0.1, 0 },
	    { "d1", "linux/debian/12", 3 * GiB, 0.5, 1 }, { "d2", "linux/debian/12", 3 * GiB, 0.5, 0 } }, 4,
	  { { 0, 6 * GiB }, { 1, 3 * GiB } }, 2,
	  { 1, 1, 0, 0 }, GiB + GiB / 2 + GiB / 10 },
	{ "no nodes: nothing proposed", { { "a", "linux/debian/12", GiB, 0.5, 0 } }, 1, { { 0, 0 } }, 0,
	  { -1 }, 0 },
};

static void
test_place(void)
{
	for (guint c = 0; c < G_N_ELEMENTS(place_cases); c++) {
		const PlaceCase *pc = &place_cases[c];
		int got[8];
		guint64 saved;

		g_test_message("place: %s", pc->what);
		saved = kv_advise_place(pc->guests, pc->n, pc->nodes, pc->n_nodes, got);
		for (guint i = 0; i < pc->n; i++)
			g_assert_cmpint(got[i], ==, pc->want[i]);
		/* Within a byte: shares are computed in double. */
		g_assert_cmpuint(saved + 2 >= pc->want_saved && saved <= pc->want_saved + 2, ==, TRUE);
		/* Never over capacity when the total fits. */
		for (guint k = 0; k < pc->n_nodes; k++) {
			guint64 used = 0;

			for (guint i = 0; i < pc->n; i++)
				if (got[i] == pc->nodes[k].id)
					used += pc->guests[i].ram_bytes;
			g_assert_cmpuint(used, <=, pc->nodes[k].capacity_bytes);
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/advise/savings", test_savings);
	g_test_add_func("/advise/place", test_place);
	return g_test_run();
}
