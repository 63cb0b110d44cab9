/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: NUMA placement advice as pure functions, with tables; the
 * advice model over a fixture root, its renderers, and --apply's pinning
 * through the hypervisor interface (libvirt's test:///default). */
#include "kv-advise.h"
#include "kv-json.h"

#include <string.h>

#define GiB (G_GUINT64_CONSTANT(1) << 30)

static void
test_savings(void)
{
	const KvAdviseGuest g[] = {
		{ "a", "linux/debian/12", 2 * GiB, 0.5, 0 },  { "b", "linux/debian/12", 2 * GiB, 0.5, 0 },
		{ "c", "linux/debian/12", 2 * GiB, 0.25, 1 }, { "w", "windows/windows/10", 4 * GiB, 0.5, 1 },
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
	  { { "d1", "linux/debian/12", GiB, 0.5, 0 },
	    { "d2", "linux/debian/12", GiB, 0.5, 2 },
	    { "d3", "linux/debian/12", GiB, 0.5, 0 },
	    { "w1", "windows/windows/10", 2 * GiB, 0.5, 2 },
	    { "w2", "windows/windows/10", 2 * GiB, 0.5, 0 } },
	  5,
	  { { 0, 4 * GiB }, { 2, 4 * GiB } },
	  2,
	  { 0, 0, 0, 2, 2 },
	  GiB + GiB },
	{ "a family too big for one node is split, fullest use first",
	  { { "a", "linux/ubuntu/22", 2 * GiB, 0.5, -1 },
	    { "b", "linux/ubuntu/22", 2 * GiB, 0.5, -1 },
	    { "c", "linux/ubuntu/22", 2 * GiB, 0.5, -1 } },
	  3,
	  { { 0, 4 * GiB }, { 1, 4 * GiB } },
	  2,
	  { 0, 0, 1 },
	  GiB },
	{ "unknown guests stay where they are",
	  { { "x", "unknown", GiB, 0.9, 1 }, { "y", "unknown", GiB, 0.9, 0 } },
	  2,
	  { { 0, 8 * GiB }, { 1, 8 * GiB } },
	  2,
	  { 1, 0 },
	  0 },
	{ "a tie keeps the family on the node most members use",
	  { { "a", "linux/debian/12", GiB, 0.5, 1 }, { "b", "linux/debian/12", GiB, 0.5, 1 } },
	  2,
	  { { 0, 8 * GiB }, { 1, 8 * GiB } },
	  2,
	  { 1, 1 },
	  GiB / 2 },
	{ "the bigger family gets the room",
	  { { "s1", "linux/suse/15", GiB, 0.1, 0 },
	    { "s2", "linux/suse/15", GiB, 0.1, 0 },
	    { "d1", "linux/debian/12", 3 * GiB, 0.5, 1 },
	    { "d2", "linux/debian/12", 3 * GiB, 0.5, 0 } },
	  4,
	  { { 0, 6 * GiB }, { 1, 3 * GiB } },
	  2,
	  { 1, 1, 0, 0 },
	  GiB + GiB / 2 + GiB / 10 },
	{ "no nodes: nothing proposed", { { "a", "linux/debian/12", GiB, 0.5, 0 } }, 1, { { 0, 0 } }, 0, { -1 }, 0 },
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

/* The advice over the numa-spread fixture: two Debian and two Windows
 * guests, one of each on host nodes 0 and 3. */
static void
test_advice_from_report(void)
{
	g_autofree char *root = g_build_filename(TEST_DATA_DIR, "roots", "numa-spread", NULL);
	g_autoptr(KvCtx) ctx = kv_ctx_new(root);
	g_autofree char *os_map_path = kv_ctx_path(ctx, "/var/lib/ksmvirt/os.json");
	g_autoptr(GError) err = NULL;
	g_autoptr(GHashTable) os_map = kv_os_map_load(os_map_path, &err);
	KvReportOptions opts = { .census = TRUE, .os_map = os_map };
	g_autoptr(KvReport) r = NULL;
	g_autoptr(KvAdvice) a = NULL;
	static const struct {
		const char *name, *family;
		int now, proposed;
	} want[] = {
		{ "deb-a", "linux/debian/12", 0, 0 },
		{ "deb-b", "linux/debian/12", 3, 0 },
		{ "win-a", "windows/windows/10", 0, 3 },
		{ "win-b", "windows/windows/10", 3, 3 },
	};

	g_assert_no_error(err);
	r = kv_report_collect(ctx, &opts, &err);
	g_assert_no_error(err);
	g_assert_nonnull(r->topo);
	a = kv_advice_from_report(r, 0.25, 1.0);
	g_assert_cmpuint(a->guests->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
		const KvAdvicePlacement *p = &g_array_index(a->guests, KvAdvicePlacement, i);

		g_assert_cmpstr(p->name, ==, want[i].name);
		g_assert_cmpstr(p->family, ==, want[i].family);
		g_assert_cmpint(p->node_now, ==, want[i].now);
		g_assert_cmpint(p->node_proposed, ==, want[i].proposed);
		g_assert_cmpint(kv_advice_moves(p), ==, want[i].now != want[i].proposed);
		g_assert_false(p->libvirt);
	}
	g_assert_cmpint(a->merge_across_nodes, ==, 0);
	g_assert_cmpuint(a->saved_now_bytes, ==, 0);
	g_assert_cmpuint(a->saved_proposed_bytes, ==, 128 * 1024);
}

/* A hand-made advice: a hostile name, an unknown node, the knob at 1. */
static KvAdvice *
advice_sample(void)
{
	KvAdvice *a = g_new0(KvAdvice, 1);
	KvAdvicePlacement p = {
		.name = "evil\033[2J",
		.family = "linux/debian/12",
		.ram_bytes = 1024 * 1024,
		.node_now = -1,
		.node_proposed = 2,
	};

	a->guests = g_array_new(FALSE, TRUE, sizeof(KvAdvicePlacement));
	g_array_append_val(a->guests, p);
	a->merge_across_nodes = 1;
	a->saved_now_bytes = 4096;
	a->saved_proposed_bytes = 3 * 4096;
	return a;
}

static void
test_render_text(void)
{
	KvAdvice *a = advice_sample();
	g_autofree char *text = kv_render_advise_text(a, FALSE);
	g_autofree char *applying = kv_render_advise_text(a, TRUE);

	/* The name escaped, the unknown node, the move, the savings, the note. */
	static const char *const want[] = {
		"evil\\x1b[2J",
		"  ?       2 *\n",
		"now 4 KiB, proposed 12 KiB, gain 8 KiB",
		"note: merge_across_nodes is 1",
		"Nothing changed",
	};

	g_assert_true(g_str_has_prefix(text, "NUMA placement advice"));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		g_assert_nonnull(strstr(text, want[i]));
	g_assert_null(strchr(text, '\033'));
	g_assert_null(strstr(applying, "Nothing changed"));
	kv_advice_free(a);
}

static void
test_render_json(void)
{
	KvAdvice *a = advice_sample();
	g_autofree char *text = kv_render_advise_json(a);
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonNode) root = kv_json_parse(text, -1, 0, 0, &err);
	JsonObject *o, *g;
	JsonArray *guests;

	g_assert_no_error(err);
	g_assert_true(g_str_has_suffix(text, "}\n"));
	o = json_node_get_object(root);
	g_assert_cmpstr(json_object_get_string_member(o, "schema"), ==, "ksmvirt-advise/1");
	g_assert_cmpint(json_object_get_int_member(o, "merge_across_nodes"), ==, 1);
	g_assert_cmpint(json_object_get_int_member(o, "expected_saved_bytes_now"), ==, 4096);
	g_assert_cmpint(json_object_get_int_member(o, "expected_saved_bytes_proposed"), ==, 3 * 4096);
	guests = kv_json_get_array(o, "guests");
	g_assert_cmpuint(json_array_get_length(guests), ==, 1);
	g = kv_json_array_object(guests, 0);
	g_assert_cmpstr(json_object_get_string_member(g, "name"), ==, "evil\033[2J");
	g_assert_true(json_object_get_null_member(g, "node_now"));
	g_assert_cmpint(json_object_get_int_member(g, "node_proposed"), ==, 2);
	kv_advice_free(a);
}

/* A hypervisor that cannot pin memory. */
static GPtrArray *
no_domains(KvHv *hv, GError **error)
{
	return g_ptr_array_new();
}

static void
no_close(KvHv *hv)
{
}

static const KvHvOps pinless_ops = { .name = "pinless", .list_domains = no_domains, .close = no_close };

/* --apply pins through KvHv: the libvirt backend (test:///default) moves
 * a domain and reports the nodeset back; a domain that does not exist and
 * a backend without the operation are errors. */
static void
test_apply_through_hv(void)
{
	g_autoptr(KvCtx) ctx = kv_ctx_new(NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(KvHv) hv = kv_hv_libvirt_open_rw(ctx, "test:///default", &err);
	g_autoptr(KvHv) pinless = g_new0(KvHv, 1);
	g_autofree char *got = NULL, *none = NULL, *unsupported = NULL;

	g_assert_no_error(err);
	got = kv_hv_set_nodeset(hv, "test", "0", &err);
	g_assert_no_error(err);
	g_assert_cmpstr(got, ==, "0");
	none = kv_hv_set_nodeset(hv, "no-such-domain", "0", &err);
	g_assert_null(none);
	g_assert_nonnull(err);
	g_clear_error(&err);
	pinless->ops = &pinless_ops;
	pinless->ctx = ctx;
	unsupported = kv_hv_set_nodeset(pinless, "test", "0", &err);
	g_assert_null(unsupported);
	g_assert_error(err, KV_ERROR, KV_ERROR_UNSUPPORTED);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/advise/savings", test_savings);
	g_test_add_func("/advise/place", test_place);
	g_test_add_func("/advise/advice-from-report", test_advice_from_report);
	g_test_add_func("/advise/render-text", test_render_text);
	g_test_add_func("/advise/render-json", test_render_json);
	g_test_add_func("/advise/apply-through-hv", test_apply_through_hv);
	return g_test_run();
}
