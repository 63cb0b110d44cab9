/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: QEMU command-line parsing. */
#include "kv-qemu.h"

static void
test_is_qemu(void)
{
	const char *a1[] = { "/usr/bin/qemu-system-x86_64", NULL };
	const char *a2[] = { "/usr/libexec/qemu-kvm", NULL };
	const char *a3[] = { "/usr/bin/qemu-img", NULL };
	const char *a4[] = { NULL };

	g_assert_true(kv_qemu_is_qemu("qemu-system-x86", a4));
	g_assert_true(kv_qemu_is_qemu("CPU 0/TCG", a1));
	g_assert_true(kv_qemu_is_qemu("x", a2));
	g_assert_false(kv_qemu_is_qemu("qemu-img", a3));
	g_assert_false(kv_qemu_is_qemu("bash", a4));
	g_assert_false(kv_qemu_is_qemu(NULL, NULL));
}

static void
test_keyval(void)
{
	static const struct {
		const char *in, *implied, *key, *want;
	} cases[] = {
		{ "guest=web,debug-threads=on", "guest", "guest", "web" },
		{ "web", "guest", "guest", "web" },
		{ "a,,b,process=x", "guest", "guest", "a,b" },
		{ "a,,b,process=x", "guest", "process", "x" },
		{ "memory-backend-ram,id=m0,size=1G", "qom-type", "qom-type", "memory-backend-ram" },
		{ "memory-backend-ram,id=m0,size=1G", "qom-type", "size", "1G" },
		{ "x,prealloc", "qom-type", "prealloc", "on" },
		{ "", "guest", "guest", NULL },
		{ "k=v=w", NULL, "k", "v=w" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GHashTable) kv = kv_qemu_keyval_parse(cases[i].in, cases[i].implied);

		g_test_message("keyval case %u: '%s'", i, cases[i].in);
		g_assert_cmpstr(g_hash_table_lookup(kv, cases[i].key), ==, cases[i].want);
	}
}

static KvQemuInfo *
parse(const char *const *argv)
{
	return kv_qemu_parse_argv(argv);
}

static void
test_libvirt_json(void)
{
	const char *argv[] = { "qemu-system-x86_64",
			       "-name",
			       "guest=vm 1,debug-threads=on",
			       "-machine",
			       "pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram",
			       "-m",
			       "size=1048576k",
			       "-object",
			       "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":1073741824}",
			       "-uuid",
			       "0A1B2C3D-0000-4000-8000-000000000001",
			       NULL };
	g_autoptr(KvQemuInfo) qi = parse(argv);
	g_autoptr(GPtrArray) ram = NULL;
	KvQemuBackend *b;

	g_assert_cmpstr(qi->name, ==, "vm 1");
	g_assert_cmpstr(qi->uuid, ==, "0a1b2c3d-0000-4000-8000-000000000001");
	g_assert_cmpuint(qi->ram_bytes, ==, 1ull << 30);
	g_assert_cmpstr(qi->machine_backend, ==, "pc.ram");
	ram = kv_qemu_guest_ram(qi);
	g_assert_cmpuint(ram->len, ==, 1);
	b = ram->pdata[0];
	g_assert_cmpstr(b->id, ==, "pc.ram");
	g_assert_cmpuint(b->size_bytes, ==, 1ull << 30);
	g_assert_cmpint(b->merge, ==, KV_TRISTATE_UNSET);
	g_assert_null(kv_qemu_backend_unmergeable_reason(b));
}

static void
test_numa_nodes(void)
{
	const char *argv[] = { "qemu-system-x86_64",
			       "-numa",
			       "node,memdev=m1,nodeid=3",
			       "-numa",
			       "node,memdev=m0",
			       "-object",
			       "memory-backend-ram,id=m0,size=512M,merge=on",
			       "-object",
			       "memory-backend-memfd,id=m1,size=256M,merge=off",
			       "-object",
			       "{\"qom-type\":\"memory-backend-file\",\"id\":\"hp\",\"size\":2097152,"
			       "\"mem-path\":\"/dev/hugepages/x\",\"share\":true}",
			       "-m",
			       "768",
			       "-machine",
			       "pc,mem-merge=off",
			       NULL };
	g_autoptr(KvQemuInfo) qi = parse(argv);
	g_autoptr(GPtrArray) ram = kv_qemu_guest_ram(qi);
	KvQemuBackend *m0, *m1, *hp;

	g_assert_cmpint(qi->mem_merge, ==, KV_TRISTATE_OFF);
	g_assert_cmpuint(qi->ram_bytes, ==, 768ull << 20);
	g_assert_cmpuint(qi->backends->len, ==, 3);
	g_assert_cmpuint(ram->len, ==, 2);
	m0 = qi->backends->pdata[0];
	m1 = qi->backends->pdata[1];
	hp = qi->backends->pdata[2];
	g_assert_cmpint(m1->guest_node, ==, 3);
	g_assert_cmpint(m0->guest_node, ==, 4);
	g_assert_cmpint(m0->merge, ==, KV_TRISTATE_ON);
	g_assert_cmpint(m1->merge, ==, KV_TRISTATE_OFF);
	g_assert_nonnull(kv_qemu_backend_unmergeable_reason(m1));
	g_assert_true(hp->hugetlb);
	g_assert_cmpint(hp->share, ==, KV_TRISTATE_ON);
	g_assert_cmpstr(kv_qemu_backend_unmergeable_reason(hp), ==, "hugetlb memory");
	g_assert_cmpint(hp->guest_node, ==, -1);
}

static void
test_implicit_and_junk(void)
{
	const char *a1[] = { "qemu", "-m", "512", NULL };
	const char *a2[] = { "qemu",  "-m", "lots",  "-object", "{not json", "-numa", "node,memdev=none",
			     "-uuid", "zz", "-name", NULL };
	g_autoptr(KvQemuInfo) q1 = parse(a1);
	g_autoptr(KvQemuInfo) q2 = parse(a2);
	g_autoptr(GPtrArray) r1 = kv_qemu_guest_ram(q1);
	g_autoptr(GPtrArray) r2 = kv_qemu_guest_ram(q2);
	/* An exiting QEMU: its command line reads empty. */
	const char *a3[] = { NULL };
	g_autoptr(KvQemuInfo) q3 = parse(a3);

	g_assert_cmpuint(q1->ram_bytes, ==, 512ull << 20);
	g_assert_cmpuint(r1->len, ==, 1);
	g_assert_cmpstr(((KvQemuBackend *)r1->pdata[0])->id, ==, "pc.ram");
	g_assert_cmpuint(q2->ram_bytes, ==, 0);
	g_assert_cmpuint(q2->backends->len, ==, 0);
	g_assert_null(q2->name);
	g_assert_cmpuint(r2->len, ==, 1);
	g_assert_cmpuint(q3->backends->len, ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/qemu/is-qemu", test_is_qemu);
	g_test_add_func("/qemu/keyval", test_keyval);
	g_test_add_func("/qemu/libvirt-json", test_libvirt_json);
	g_test_add_func("/qemu/numa-nodes", test_numa_nodes);
	g_test_add_func("/qemu/implicit-and-junk", test_implicit_and_junk);
	return g_test_run();
}
