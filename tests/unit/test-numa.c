/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: host NUMA topology and the census. */
#include "kv-numa.h"
#include "kv-census.h"
#include "kv-hv.h"

static KvCtx *
root_ctx(const char *name)
{
	g_autofree char *root = g_build_filename(TEST_DATA_DIR, "roots", name, NULL);

	return kv_ctx_new(root);
}

static void
test_memory_blocks(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-full");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvNumaTopo) t = kv_numa_read(ctx, &err);

	g_assert_no_error(err);
	g_assert_cmpstr(t->source, ==, "memory-blocks");
	/* Node ids 0 and 2: discovered, not assumed contiguous. */
	g_assert_cmpuint(t->nodes->len, ==, 2);
	g_assert_cmpint(g_array_index(t->nodes, KvNumaNode, 0).id, ==, 0);
	g_assert_cmpint(g_array_index(t->nodes, KvNumaNode, 1).id, ==, 2);
	g_assert_cmpuint(g_array_index(t->nodes, KvNumaNode, 1).mem_total_kib, ==, 262144);
	/* Adjacent blocks merge: one range per node. */
	g_assert_cmpuint(t->ranges->len, ==, 2);
	g_assert_cmpint(kv_numa_node_of_pfn(t, 0), ==, 0);
	g_assert_cmpint(kv_numa_node_of_pfn(t, 65535), ==, 0);
	g_assert_cmpint(kv_numa_node_of_pfn(t, 65536), ==, 2);
	g_assert_cmpint(kv_numa_node_of_pfn(t, 131071), ==, 2);
	g_assert_cmpint(kv_numa_node_of_pfn(t, 131072), ==, -1);
	g_assert_cmpuint(kv_numa_max_pfn(t), ==, 131072);
	g_assert_cmpint(kv_numa_node_index(t, 2), ==, 1);
	g_assert_cmpint(kv_numa_node_index(t, 1), ==, -1);
}

static void
test_zoneinfo(void)
{
	g_autoptr(GArray) r = g_array_new(FALSE, FALSE, sizeof(KvPfnRange));
	g_autoptr(KvCtx) ctx = root_ctx("host-old");
	g_autoptr(KvNumaTopo) t = kv_numa_read(ctx, NULL);
	const char *zi = "Node 0, zone   Normal\n  pages free 1\n        spanned  100\n  start_pfn:  1000\n"
			 "Node 3, zone   Normal\n        spanned  0\n  start_pfn:  5000\n"
			 "Node 5, zone   Normal\n        spanned  50\n  start_pfn:  9000\n";

	g_assert_cmpuint(kv_zoneinfo_parse(zi, r), ==, 2);
	g_assert_cmpint(g_array_index(r, KvPfnRange, 1).node, ==, 5);
	g_assert_cmpuint(g_array_index(r, KvPfnRange, 1).end_pfn, ==, 9050);
	g_assert_nonnull(t);
	g_assert_cmpstr(t->source, ==, "zoneinfo");
	g_assert_cmpuint(t->nodes->len, ==, 1);
	/* DMA [1, 4096) and DMA32 [4096, ...) merge. */
	g_assert_cmpuint(t->ranges->len, ==, 1);
	g_assert_cmpint(kv_numa_node_of_pfn(t, 5000), ==, 0);
	g_assert_cmpint(kv_numa_node_of_pfn(t, 0), ==, -1);
}

static void
test_census_fixture(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-full");
	g_autoptr(KvNumaTopo) t = kv_numa_read(ctx, NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(KvCensusScanner) s = kv_census_scanner_new(ctx, t, &err);
	g_autoptr(KvCensus) c = kv_census_new(t);
	KvCensusCount *n0;

	g_assert_no_error(err);
	/* web-1's RAM: 60 KSM, 2 zero, 1 private, 1 swapped. */
	g_assert_true(kv_census_scan(s, 1201, 0x1000000, 0x1040000, c, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(c->pages, ==, 64);
	g_assert_cmpuint(c->present, ==, 63);
	g_assert_cmpuint(c->swapped, ==, 1);
	g_assert_cmpuint(c->total.merged, ==, 60);
	g_assert_cmpuint(c->total.zero, ==, 2);
	g_assert_cmpuint(c->total.private_, ==, 1);
	n0 = &g_array_index(c->per_node, KvCensusCount, 0);
	g_assert_cmpuint(n0->merged, ==, 60);
	/* A process that is gone. */
	g_assert_false(kv_census_scan(s, 4242, 0, 4096, c, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_NOT_FOUND);
}

static void
test_uuid(void)
{
	g_autofree char *a = kv_uuid_normalize("0A1B2C3D000040008000000000000099");
	g_autofree char *b = kv_uuid_normalize("0a1b2c3d-0000-4000-8000-000000000099");
	g_autofree char *c = kv_uuid_normalize("zz");
	g_autofree char *d = kv_uuid_normalize("0a1b2c3d-0000-4000-8000-0000000000991");

	g_assert_cmpstr(a, ==, "0a1b2c3d-0000-4000-8000-000000000099");
	g_assert_cmpstr(a, ==, b);
	g_assert_null(c);
	g_assert_null(d);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/numa/memory-blocks", test_memory_blocks);
	g_test_add_func("/numa/zoneinfo", test_zoneinfo);
	g_test_add_func("/numa/census-fixture", test_census_fixture);
	g_test_add_func("/numa/uuid", test_uuid);
	return g_test_run();
}
