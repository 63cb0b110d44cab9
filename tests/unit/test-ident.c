/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: who is a guest (kv-ident.h). */
#include "kv-ident.h"
#include "kv-hv.h"

static void
test_qemu_conf(void)
{
	g_autofree char *a = kv_qemu_conf_user_parse("# user = \"root\"\n#user = \"x\"\n");
	g_autofree char *b = kv_qemu_conf_user_parse("group = \"kvm\"\n  user = \"qemu\"\nuser=\"+107\"\n");
	g_autofree char *c = kv_qemu_conf_user_parse("username = \"no\"\nuser = \"\"\nuser = unquoted\n");

	g_assert_null(a);
	g_assert_cmpstr(b, ==, "+107");
	g_assert_null(c);
}

static void
test_passwd(void)
{
	const char *pw =
		"root:x:0:0:root:/root:/bin/bash\nlibvirt-qemu:x:64055:107::/:/bin/false\nbad:x:zz:1::/:/\n";
	guint uid = 1;

	g_assert_true(kv_passwd_lookup(pw, "root", &uid));
	g_assert_cmpuint(uid, ==, 0);
	g_assert_true(kv_passwd_lookup(pw, "libvirt-qemu", &uid));
	g_assert_cmpuint(uid, ==, 64055);
	g_assert_false(kv_passwd_lookup(pw, "libvirt", &uid));
	g_assert_false(kv_passwd_lookup(pw, "bad", &uid));
	g_assert_false(kv_passwd_lookup(pw, "", &uid));
	g_assert_true(kv_passwd_lookup(NULL, "+107", &uid));
	g_assert_cmpuint(uid, ==, 107);
	g_assert_false(kv_passwd_lookup(NULL, "+1x", &uid));
}

static void
test_cgroup(void)
{
	g_assert_true(kv_cgroup_is_libvirt_machine("/machine/qemu-1-web.libvirt-qemu"));
	g_assert_true(kv_cgroup_is_libvirt_machine("/machine/qemu-12-db.libvirt-qemu/emulator"));
	g_assert_true(kv_cgroup_is_libvirt_machine(
		"/machine.slice/machine-qemu\\x2d1\\x2dweb.scope/libvirt/emulator"));
	g_assert_false(kv_cgroup_is_libvirt_machine("/"));
	g_assert_false(kv_cgroup_is_libvirt_machine("/machine"));
	g_assert_false(kv_cgroup_is_libvirt_machine("/machine/qemu-.libvirt-qemu"));
	g_assert_false(kv_cgroup_is_libvirt_machine("/user.slice/machine/qemu-1-x.libvirt-qemu"));
	g_assert_false(kv_cgroup_is_libvirt_machine("/user.slice/user-1000.slice/machine-qemu-x.scope"));
	g_assert_false(kv_cgroup_is_libvirt_machine("/machine.slice/systemd-nspawn@x.service"));
	g_assert_false(kv_cgroup_is_libvirt_machine("/machinex/qemu-1-web.libvirt-qemu"));
	g_assert_false(kv_cgroup_is_libvirt_machine("machine/qemu-1-web.libvirt-qemu"));
	g_assert_false(kv_cgroup_is_libvirt_machine(NULL));
}

static void
test_status_uid(void)
{
	KvProcStatus st;

	kv_proc_status_parse("Name:\tqemu\nUmask:\t0022\nUid:\t64055\t64055\t64055\t64055\nVmRSS:\t 10 kB\n",
			     &st);
	g_assert_true(st.have & KV_PROC_STATUS_HAVE_UID);
	g_assert_cmpuint(st.uid_real, ==, 64055);
	g_assert_cmpuint(st.uid_effective, ==, 64055);
	g_assert_cmpuint(st.vm_rss_kib, ==, 10);
	kv_proc_status_parse("Name:\tx\nUid:\t1000\t0\t0\t0\n", &st);
	g_assert_cmpuint(st.uid_real, ==, 1000);
	g_assert_cmpuint(st.uid_effective, ==, 0);
	kv_proc_status_parse("Name:\tx\nUid:\tzz\n", &st);
	g_assert_false(st.have & KV_PROC_STATUS_HAVE_UID);
	kv_proc_status_parse("Name:\tx\nUid:\t5\n", &st);
	g_assert_false(st.have & KV_PROC_STATUS_HAVE_UID);
}

static gboolean
is_guest(const KvGuestIdent *id, int pid, guint uid, const char **why)
{
	KvProcStatus st = { .have = KV_PROC_STATUS_HAVE_UID, .uid_real = uid, .uid_effective = uid };

	return kv_guest_ident_check(id, pid, &st, why);
}

/* The impostor fixture: 4100 is libvirt's, 5001-5004 lack a mark each. */
static void
test_check(void)
{
	g_autoptr(KvCtx) ctx = kv_ctx_new(TEST_DATA_DIR "/roots/impostor");
	g_autoptr(KvGuestIdent) id = kv_guest_ident_new(ctx, NULL, NULL);
	g_autoptr(KvGuestIdent) as_root = kv_guest_ident_new(ctx, NULL, "root");
	g_autoptr(KvGuestIdent) nosuch = kv_guest_ident_new(ctx, NULL, "nosuch");
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func((GDestroyNotify)kv_domain_free);
	g_autoptr(KvGuestIdent) connected = NULL;
	KvDomain *d = g_new0(KvDomain, 1);
	KvProcStatus no_uid = { 0 };
	const char *why = NULL;

	g_assert_cmpuint(kv_guest_ident_notes(id)->len, ==, 0);
	g_assert_true(is_guest(id, 4100, 64055, &why));
	g_assert_false(is_guest(id, 4100, 1000, &why));
	g_assert_cmpstr(why, ==, "not owned by the user libvirt runs QEMU as");
	/* The real uid alone is not enough. */
	{
		KvProcStatus st = { .have = KV_PROC_STATUS_HAVE_UID, .uid_real = 64055, .uid_effective = 0 };

		g_assert_false(kv_guest_ident_check(id, 4100, &st, NULL));
	}
	g_assert_false(kv_guest_ident_check(id, 4100, &no_uid, NULL));
	g_assert_false(is_guest(id, 5001, 1000, &why));
	g_assert_cmpstr(why, ==, "no libvirt pid file names it");
	g_assert_false(is_guest(id, 5002, 64055, &why));
	g_assert_cmpstr(why, ==, "no libvirt pid file names it");
	g_assert_false(is_guest(id, 5003, 1000, &why));
	g_assert_cmpstr(why, ==, "not owned by the user libvirt runs QEMU as");
	g_assert_false(is_guest(id, 5004, 64055, &why));
	g_assert_cmpstr(why, ==, "not in a libvirt machine cgroup");
	/* qemu.conf user = "root": root-owned QEMUs are guests, others not. */
	g_assert_true(is_guest(as_root, 4100, 0, NULL));
	g_assert_false(is_guest(as_root, 4100, 64055, NULL));
	/* An unknown QEMU user: only what libvirt names, and a note. */
	g_assert_cmpuint(kv_guest_ident_notes(nosuch)->len, ==, 1);
	g_assert_false(is_guest(nosuch, 4100, 64055, NULL));
	/* libvirt, connected, names a pid: that is a guest. */
	d->name = g_strdup("vm-2");
	d->pid = 5001;
	d->active = TRUE;
	g_ptr_array_add(domains, d);
	connected = kv_guest_ident_new(ctx, domains, "nosuch");
	g_assert_true(is_guest(connected, 5001, 1000, NULL));
	g_assert_false(is_guest(connected, 5002, 64055, NULL));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ident/qemu-conf", test_qemu_conf);
	g_test_add_func("/ident/passwd", test_passwd);
	g_test_add_func("/ident/cgroup", test_cgroup);
	g_test_add_func("/ident/status-uid", test_status_uid);
	g_test_add_func("/ident/check", test_check);
	return g_test_run();
}
