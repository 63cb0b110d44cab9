/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: sensing parsers, configuration, actuators, and a balancer
 * tick over a fixture root with libvirt's test:///default driver. */
#include "kv-act.h"
#include "kv-balancer.h"
#include "kv-balancer-state.h"
#include "kv-config.h"
#include "kv-sense.h"

#include <errno.h>
#include <sys/stat.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

static void
test_psi(void)
{
	static const struct {
		const char *buf;
		gboolean ok;
		double some, full;
	} cases[] = {
		{ "some avg10=1.50 avg60=0.00 avg300=0.00 total=5\nfull avg10=0.25 avg60=0 avg300=0 total=1\n",
		  TRUE, 1.5, 0.25 },
		{ "some avg10=97.00 avg60=1 avg300=1 total=1\n", TRUE, 97, 0 },
		{ "full avg10=3.00 avg60=0 avg300=0 total=1\n", FALSE, 0, 3 },
		{ "", FALSE, 0, 0 },
		{ "some avg10=x\n", FALSE, 0, 0 },
		{ "some avg10=-1\n", FALSE, 0, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		double some, full;

		g_assert_cmpint(kv_psi_parse(cases[i].buf, &some, &full), ==, cases[i].ok);
		if (cases[i].ok) {
			g_assert_cmpfloat_with_epsilon(some, cases[i].some, 1e-9);
			g_assert_cmpfloat_with_epsilon(full, cases[i].full, 1e-9);
		}
	}
}

static void
test_cgroup_parse(void)
{
	static const struct {
		const char *buf;
		const char *want;
		KvCgroupVersion ver;
	} cases[] = {
		{ "12:cpu,cpuacct:/x\n4:memory:/machine/qemu-1-a.libvirt-qemu\n0::/y\n",
		  "/machine/qemu-1-a.libvirt-qemu", KV_CGROUP_V1 },
		{ "0::/machine.slice/machine-qemu.scope/libvirt/emulator\n",
		  "/machine.slice/machine-qemu.scope/libvirt/emulator", KV_CGROUP_V2 },
		{ "4:memory,hugetlb:/a\n", "/a", KV_CGROUP_V1 },
		{ "junk\n", NULL, KV_CGROUP_NONE },
		{ "", NULL, KV_CGROUP_NONE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		KvCgroupVersion v = 99;
		g_autofree char *p = kv_cgroup_parse(cases[i].buf, &v);

		g_assert_cmpstr(p, ==, cases[i].want);
		g_assert_cmpint(v, ==, cases[i].ver);
	}
	g_assert_cmpuint(kv_cgroup_limit_parse("max\n"), ==, KV_UNLIMITED);
	g_assert_cmpuint(kv_cgroup_limit_parse("9223372036854771712\n"), ==, KV_UNLIMITED);
	g_assert_cmpuint(kv_cgroup_limit_parse("1073741824\n"), ==, 1073741824);
	g_assert_cmpuint(kv_cgroup_limit_parse("x"), ==, G_MAXUINT64 - 1);
}

static void
test_node_meminfo(void)
{
	static const struct {
		const char *buf;
		gboolean ok;
		guint64 total, free;
	} cases[] = {
		{ "Node 2 MemTotal:       262144 kB\nNode 2 MemFree:        131072 kB\nNode 2 MemUsed: 1 kB\n",
		  TRUE, 262144, 131072 },
		{ "Node 0 MemFree: 5 kB\n", FALSE, 0, 0 },
		{ "MemTotal: 5 kB\nMemFree: 1 kB\n", FALSE, 0, 0 },
		{ "", FALSE, 0, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint64 t = 0, f = 0;

		g_assert_cmpint(kv_node_meminfo_parse(cases[i].buf, &t, &f), ==, cases[i].ok);
		if (cases[i].ok) {
			g_assert_cmpuint(t, ==, cases[i].total);
			g_assert_cmpuint(f, ==, cases[i].free);
		}
	}
}

static void
test_numa_maps(void)
{
	static const struct {
		const char *buf;
		guint lines;
		guint n;
		KvGuestNodeKib want[3];
	} cases[] = {
		{ "7f0000000000 default anon=64 dirty=64 N0=40 N3=24 kernelpagesize_kB=4\n"
		  "7f1000000000 bind:0 anon=2 dirty=2 N0=2 kernelpagesize_kB=2048\n"
		  "7f2000000000 default file=/usr/lib/x.so mapped=3 N3=3\n",
		  3,
		  2,
		  { { 0, 40 * 4 + 2 * 2048 }, { 3, 24 * 4 + 3 * 4 } } },
		{ "7f0000000000 default\n55aa prefer:1 N1=x N2=5 Nfoo=3 N=4\n", 1, 1, { { 2, 20 } } },
		{ "", 0, 0, { { 0, 0 } } },
		{ "7f0000000000 default N5=1", 1, 1, { { 5, 4 } } },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(KvGuestNodeKib));

		g_assert_cmpuint(kv_numa_maps_parse(cases[i].buf, out), ==, cases[i].lines);
		g_assert_cmpuint(out->len, ==, cases[i].n);
		for (guint j = 0; j < cases[i].n; j++) {
			g_assert_cmpint(g_array_index(out, KvGuestNodeKib, j).node, ==, cases[i].want[j].node);
			g_assert_cmpuint(g_array_index(out, KvGuestNodeKib, j).kib, ==, cases[i].want[j].kib);
		}
	}
}

static void
test_config(void)
{
	static const struct {
		const char *text;
		gboolean ok;
		guint warnings;
	} cases[] = {
		{ "", TRUE, 0 },
		{ "[daemon]\ntick-seconds = 2\n[ksm]\nadvisor = auto\npages-to-scan-max = 9000\n", TRUE, 0 },
		{ "[numa]\nmerge-across-nodes = 0\n[swap]\nmanage = false\n", TRUE, 0 },
		{ "[ksm]\nlock-file =\n", TRUE, 0 },
		{ "[ksm]\nbogus = 1\n[other]\nx = 1\n", TRUE, 2 },
		{ "[ksm]\nadvisor = sometimes\n", FALSE, 0 },
		{ "[daemon]\ntick-seconds = 0\n", FALSE, 0 },
		{ "[ksm]\npages-to-scan-min = 5000\npages-to-scan-max = 100\n", FALSE, 0 },
		{ "[ksm]\nmem-available-low-percent = 1.5\n", FALSE, 0 },
		{ "[ksm]\nlock-file = relative\n", FALSE, 0 },
		{ "not a key file", FALSE, 0 },
		/* Non-finite and overflowing numbers (NaN compares false with
		 * every bound, so a range check alone lets it through). */
		{ "[ksm]\novercommit-ratio = nan\n", FALSE, 0 },
		{ "[ksm]\npsi-some-on-percent = -nan\n", FALSE, 0 },
		{ "[daemon]\ntick-seconds = nan\n", FALSE, 0 },
		{ "[daemon]\ntick-seconds = NAN(123)\n", FALSE, 0 },
		{ "[ksm]\nmin-gain-pages-per-cpu-second = inf\n", FALSE, 0 },
		{ "[ksm]\nmin-gain-pages-per-cpu-second = -Infinity\n", FALSE, 0 },
		{ "[ksm]\nmin-gain-pages-per-cpu-second = 1e400\n", FALSE, 0 },
		{ "[ksm]\npages-to-scan-max = 1e400\n", FALSE, 0 },
		{ "[ksm]\novercommit-ratio = 1e-400\n", FALSE, 0 },
		{ "[daemon]\nhistory-max-kib = nan\n", FALSE, 0 },
		{ "[ksm]\novercommit-ratio = 1.5\n", TRUE, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GError) err = NULL;
		g_auto(KvConfig) cfg = { 0 };

		g_test_message("config case %u", i);
		g_assert_cmpint(kv_config_parse(cases[i].text, strlen(cases[i].text), &cfg, w, &err), ==,
				cases[i].ok);
		g_assert_cmpuint(w->len, ==, cases[i].warnings);
		if (!cases[i].ok)
			g_assert_nonnull(err);
	}
	{
		const char *t =
			"[daemon]\ntick-seconds = 2\n[ksm]\nadvisor = auto\n[numa]\nmerge-across-nodes = 0\n";
		g_autofree char *again = NULL, *twice = NULL;
		g_auto(KvConfig) a = { 0 };
		g_auto(KvConfig) b = { 0 };

		g_assert_true(kv_config_parse(t, strlen(t), &a, NULL, NULL));
		g_assert_cmpuint(a.tick_ms, ==, 2000);
		g_assert_cmpint(a.advisor, ==, KV_ADVISOR_AUTO);
		g_assert_cmpint(a.merge_across_nodes, ==, 0);
		/* The effective configuration reads back to the same values. */
		again = kv_config_to_string(&a);
		g_assert_true(kv_config_parse(again, strlen(again), &b, NULL, NULL));
		twice = kv_config_to_string(&b);
		g_assert_cmpstr(again, ==, twice);
		g_assert_cmpuint(b.tick_ms, ==, 2000);
	}
}

static char *temp_root(void);

/* The file: size-capped, a FIFO never blocks, a missing file is the
 * defaults at start and an error on reload. */
static void
test_config_load(void)
{
	g_autofree char *dir = temp_root();
	g_autofree char *big = g_build_filename(dir, "big.conf", NULL);
	g_autofree char *fifo = g_build_filename(dir, "fifo.conf", NULL);
	g_autofree char *missing = g_build_filename(dir, "missing.conf", NULL);
	g_autofree char *ok = g_build_filename(dir, "ok.conf", NULL);
	g_autoptr(GString) text = g_string_new("[daemon]\ndry-run = true\n");
	g_autoptr(GError) err = NULL;
	g_auto(KvConfig) cfg = { 0 };

	while (text->len <= KV_CONFIG_MAX_BYTES)
		g_string_append(text, "# padding padding padding padding padding padding\n");
	g_assert_true(g_file_set_contents(big, text->str, (gssize)text->len, NULL));
	g_assert_false(kv_config_load(big, &cfg, NULL, &err));
	g_assert_nonnull(strstr(err->message, "larger than"));
	g_clear_error(&err);
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	kv_config_clear(&cfg);
	g_assert_false(kv_config_load(fifo, &cfg, NULL, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
	g_clear_error(&err);
	kv_config_clear(&cfg);
	g_assert_true(kv_config_load(missing, &cfg, NULL, &err));
	g_assert_false(cfg.dry_run);
	kv_config_clear(&cfg);
	g_assert_false(kv_config_reload(missing, &cfg, NULL, &err));
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	g_clear_error(&err);
	g_assert_true(g_file_set_contents(ok, "[daemon]\ndry-run = true\n", -1, NULL));
	kv_config_clear(&cfg);
	g_assert_true(kv_config_reload(ok, &cfg, NULL, &err));
	g_assert_true(cfg.dry_run);
	kv_config_clear(&cfg);
	g_assert_true(kv_config_load("/dev/null", &cfg, NULL, &err));
	g_unlink(big);
	g_unlink(fifo);
	g_unlink(ok);
	g_rmdir(dir);
}

static char *
temp_root(void)
{
	g_autoptr(GError) err = NULL;
	char *dir = g_dir_make_tmp("ksmvirt-act-XXXXXX", &err);

	g_assert_no_error(err);
	return dir;
}

static void
put(const char *root, const char *rel, const char *text)
{
	g_autofree char *p = g_build_filename(root, rel, NULL);
	g_autofree char *d = g_path_get_dirname(p);

	g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
	g_assert_true(g_file_set_contents(p, text, -1, NULL));
}

static char *
get(const char *root, const char *rel)
{
	g_autofree char *p = g_build_filename(root, rel, NULL);
	char *t = NULL;

	if (!g_file_get_contents(p, &t, NULL, NULL))
		return NULL;
	return t;
}

static void
rm_rf(const char *dir)
{
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);

	g_assert_cmpint(system(cmd), ==, 0);
}

static void
test_act_files(void)
{
	g_autofree char *root = temp_root();
	g_autoptr(KvCtx) ctx = kv_ctx_new(root);
	g_autoptr(KvPlan) p = kv_plan_new();
	KvAction *a;

	put(root, "sys/kernel/mm/ksm/run", "0\n");
	put(root, "sys/kernel/mm/ksm/advisor_mode", "[none] scan-time\n");
	put(root, "sys/fs/cgroup/memory/g/memory.limit_in_bytes", "9223372036854771712\n");
	put(root, "sys/fs/cgroup/unified/g/memory.high", "max\n");

	a = g_new0(KvAction, 1);
	a->kind = KV_ACTION_KSM_KNOB;
	a->policy = g_strdup("ksm");
	a->knob = KV_KSM_RUN;
	a->value = 1;
	a->reason = g_strdup("t");
	g_ptr_array_add(p->actions, a);
	a = g_new0(KvAction, 1);
	a->kind = KV_ACTION_KSM_KNOB;
	a->policy = g_strdup("ksm");
	a->knob = KV_KSM_ADVISOR_MODE;
	a->value_str = g_strdup("scan-time");
	a->reason = g_strdup("t");
	g_ptr_array_add(p->actions, a);
	a = g_new0(KvAction, 1);
	a->kind = KV_ACTION_CGROUP_LIMIT;
	a->policy = g_strdup("swap");
	a->guest = g_strdup("g");
	a->cg_version = KV_CGROUP_V1;
	a->value = 1u << 30;
	a->reason = g_strdup("t");
	a->cg_file = g_strdup("/sys/fs/cgroup/memory/g/memory.limit_in_bytes");
	g_ptr_array_add(p->actions, a);
	a = g_new0(KvAction, 1);
	a->kind = KV_ACTION_CGROUP_LIMIT;
	a->policy = g_strdup("swap");
	a->guest = g_strdup("g");
	a->cg_version = KV_CGROUP_V2;
	a->value = KV_UNLIMITED;
	a->reason = g_strdup("t");
	a->cg_file = g_strdup("/sys/fs/cgroup/unified/g/memory.high");
	g_ptr_array_add(p->actions, a);
	/* A guest destroyed between sense and act: its cgroup is gone. */
	a = g_new0(KvAction, 1);
	a->kind = KV_ACTION_CGROUP_LIMIT;
	a->policy = g_strdup("swap");
	a->guest = g_strdup("gone");
	a->cg_version = KV_CGROUP_V1;
	a->value = 1u << 30;
	a->reason = g_strdup("t");
	a->cg_file = g_strdup("/sys/fs/cgroup/memory/gone/memory.limit_in_bytes");
	g_ptr_array_add(p->actions, a);
	/* A balloon without a hypervisor. */
	a = g_new0(KvAction, 1);
	a->kind = KV_ACTION_BALLOON;
	a->policy = g_strdup("balloon");
	a->guest = g_strdup("g");
	a->value = 1024;
	a->reason = g_strdup("t");
	g_ptr_array_add(p->actions, a);

	/* Dry run: nothing changes. */
	g_assert_cmpuint(kv_act(ctx, NULL, p, TRUE), ==, 0);
	{
		g_autofree char *run = get(root, "sys/kernel/mm/ksm/run");

		g_assert_cmpstr(run, ==, "0\n");
	}
	for (guint i = 0; i < p->actions->len; i++)
		((KvAction *)g_ptr_array_index(p->actions, i))->result = KV_RESULT_PENDING;
	g_assert_cmpuint(kv_act(ctx, NULL, p, FALSE), ==, 2);
	{
		g_autofree char *run = get(root, "sys/kernel/mm/ksm/run");
		g_autofree char *adv = get(root, "sys/kernel/mm/ksm/advisor_mode");
		g_autofree char *v1 = get(root, "sys/fs/cgroup/memory/g/memory.limit_in_bytes");
		g_autofree char *v2 = get(root, "sys/fs/cgroup/unified/g/memory.high");

		g_assert_cmpstr(run, ==, "1");
		g_assert_cmpstr(adv, ==, "scan-time");
		g_assert_cmpstr(v1, ==, "1073741824");
		g_assert_cmpstr(v2, ==, "max");
	}
	a = g_ptr_array_index(p->actions, 4);
	g_assert_cmpint(a->result, ==, KV_RESULT_PERMANENT);
	g_assert_cmpint(a->errnum, ==, ENOENT);
	a = g_ptr_array_index(p->actions, 5);
	g_assert_cmpint(a->result, ==, KV_RESULT_PERMANENT);
	rm_rf(root);
}

static void
test_errno_class(void)
{
	static const struct {
		int e;
		KvActionResult r;
	} cases[] = {
		{ EBUSY, KV_RESULT_TRANSIENT },  { EAGAIN, KV_RESULT_TRANSIENT },
		{ ENOMEM, KV_RESULT_TRANSIENT }, { EINTR, KV_RESULT_TRANSIENT },
		{ EROFS, KV_RESULT_PERMANENT },  { EACCES, KV_RESULT_PERMANENT },
		{ EPERM, KV_RESULT_PERMANENT },  { EINVAL, KV_RESULT_PERMANENT },
		{ ENOENT, KV_RESULT_PERMANENT },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpint(kv_act_classify_errno(cases[i].e), ==, cases[i].r);
}

/* libvirt's test:///default: every connection of one process shares the
 * same default driver state, so a second connection can destroy the
 * domain the balancer sensed before it acts. */
static void
test_guest_destroyed(void)
{
	g_autofree char *root = g_build_filename(TEST_DATA_DIR, "roots", "host-full", NULL);
	g_autoptr(KvCtx) ctx = kv_ctx_new(root);
	g_autoptr(GError) err = NULL;
	g_autoptr(KvHv) hv = kv_hv_libvirt_open_rw(ctx, "test:///default", &err);
	g_autoptr(GPtrArray) stats = NULL;
	g_autoptr(KvPlan) p = kv_plan_new();
	virConnectPtr other;
	virDomainPtr dom;
	KvAction *a;

	g_assert_no_error(err);
	stats = kv_hv_balloon_stats(hv, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(stats->len, ==, 1);
	g_assert_cmpstr(((KvBalloonStats *)g_ptr_array_index(stats, 0))->name, ==, "test");
	g_assert_true(((KvBalloonStats *)g_ptr_array_index(stats, 0))->has_driver);
	g_assert_true(kv_hv_set_balloon(hv, "test", 1536 * 1024, &err));
	g_assert_no_error(err);

	other = virConnectOpen("test:///default");
	g_assert_nonnull(other);
	dom = virDomainLookupByName(other, "test");
	g_assert_nonnull(dom);
	g_assert_cmpint(virDomainDestroy(dom), ==, 0);
	virDomainFree(dom);

	a = g_new0(KvAction, 1);
	a->kind = KV_ACTION_BALLOON;
	a->policy = g_strdup("balloon");
	a->guest = g_strdup("test");
	a->value = 1024 * 1024;
	a->reason = g_strdup("t");
	g_ptr_array_add(p->actions, a);
	g_assert_cmpuint(kv_act(ctx, hv, p, FALSE), ==, 1);
	g_test_message("%s", a->error);
	g_assert_cmpint(a->result, ==, KV_RESULT_PERMANENT);
	g_assert_nonnull(a->error);

	/* Start it again for the other tests of this process. */
	dom = virDomainLookupByName(other, "test");
	g_assert_nonnull(dom);
	g_assert_cmpint(virDomainCreate(dom), ==, 0);
	virDomainFree(dom);
	virConnectClose(other);
}

static void
test_balancer_state(void)
{
	g_autofree char *src = g_build_filename(TEST_DATA_DIR, "roots", "host-full", NULL);
	g_autofree char *root = temp_root();
	g_autofree char *state = g_build_filename(root, "state", NULL);
	g_autofree char *cmd = g_strdup_printf("cp -a '%s/.' '%s/'", src, root);
	g_auto(KvConfig) cfg = { 0 };
	guint64 ticks;

	g_assert_cmpint(system(cmd), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(state, 0755), ==, 0);
	kv_config_defaults(&cfg);
	{
		g_autoptr(KvCtx) ctx = kv_ctx_new(root);
		g_autoptr(KvBalancer)
			b = kv_balancer_new(&(KvBalancerOptions){ .ctx = ctx, .state_dir = state }, &cfg);
		const KvPlan *p;
		g_autoptr(GError) err = NULL;
		g_autofree char *run = NULL, *status = NULL, *text = NULL;

		p = kv_balancer_tick(b, FALSE, &err);
		g_assert_no_error(err);
		g_assert_nonnull(p);
		/* host-full is comfortable with run=1: run=0, merged pages kept. */
		g_assert_cmpstr(kv_plan_summary(p, "ksm")->decision, ==, "off");
		run = get(root, "sys/kernel/mm/ksm/run");
		g_assert_cmpstr(run, ==, "0");
		p = kv_balancer_tick(b, FALSE, &err);
		g_assert_cmpuint(p->actions->len, ==, 0); /* nothing changes twice */
		status = kv_balancer_status_json(b);
		text = kv_status_render_text(status, &err);
		g_assert_no_error(err);
		{
			/* What the socket carries reads back whole. */
			g_autoptr(KvStatus) st = kv_status_from_json(status, &err);
			g_autofree char *again = st ? kv_status_to_json(st) : NULL;

			g_assert_cmpstr(again, ==, status);
		}
		g_assert_nonnull(strstr(text, "tick 2 every 5.0 s"));
		g_assert_nonnull(strstr(text, "tick 1 [done] ksm: run 1 -> 0"));
		ticks = 2;
	}
	{
		g_autoptr(KvCtx) ctx = kv_ctx_new(root);
		g_autoptr(KvBalancer)
			b = kv_balancer_new(&(KvBalancerOptions){ .ctx = ctx, .state_dir = state }, &cfg);
		g_autoptr(GPtrArray) notes = kv_balancer_take_notes(b);
		g_autoptr(GError) err = NULL;
		g_autofree char *hist = NULL, *status = NULL;
		g_auto(GStrv) lines = NULL;

		g_assert_cmpuint(notes->len, ==, 1);
		g_assert_nonnull(strstr(g_ptr_array_index(notes, 0), "restored at tick 2"));
		g_assert_nonnull(kv_balancer_tick(b, FALSE, &err));
		status = kv_balancer_status_json(b);
		g_assert_nonnull(strstr(status, "\"tick\" : 3"));
		hist = get(state, "history.jsonl");
		lines = g_strsplit(hist, "\n", -1);
		g_assert_cmpuint(g_strv_length(lines), ==, ticks + 2); /* 3 lines + "" */
	}
	g_assert_null(kv_status_render_text("{\"schema\":\"other\"}", NULL));
	rm_rf(root);
}

/* A hypervisor behind the KvHv interface that can go away and come back,
 * as libvirtd killed and restarted while the daemon runs. */
typedef struct {
	gboolean down;
	guint opens, sets;
	guint64 actual_kib;
} FakeWorld;

static gboolean
fake_down(FakeWorld *w, GError **error)
{
	if (w->down)
		g_set_error(error, KV_ERROR, KV_ERROR_FAILED, "fake: connection closed");
	return w->down;
}

static GPtrArray *
fake_list(KvHv *hv, GError **error)
{
	if (fake_down(hv->priv, error))
		return NULL;
	return g_ptr_array_new_with_free_func((GDestroyNotify)kv_domain_free);
}

static GPtrArray *
fake_stats(KvHv *hv, GError **error)
{
	FakeWorld *w = hv->priv;
	GPtrArray *out;
	KvBalloonStats *b;

	if (fake_down(w, error))
		return NULL;
	out = g_ptr_array_new_with_free_func((GDestroyNotify)kv_balloon_stats_free);
	b = g_new0(KvBalloonStats, 1);
	b->name = g_strdup("fake");
	b->has_balloon = b->has_driver = TRUE;
	b->current_kib = w->actual_kib;
	b->maximum_kib = 4 * 1024 * 1024;
	b->unused_kib = 10 * 1024; /* short of memory: wants to grow */
	g_ptr_array_add(out, b);
	return out;
}

static gboolean
fake_set(KvHv *hv, const char *name, guint64 kib, GError **error)
{
	FakeWorld *w = hv->priv;

	if (fake_down(w, error))
		return FALSE;
	g_assert_cmpstr(name, ==, "fake");
	w->actual_kib = kib;
	w->sets++;
	return TRUE;
}

static void
fake_close(KvHv *hv)
{
}

static const KvHvOps fake_ops = {
	.name = "fake",
	.list_domains = fake_list,
	.balloon_stats = fake_stats,
	.set_balloon = fake_set,
	.close = fake_close,
};

static KvHv *
fake_open(const KvCtx *ctx, const char *uri, gpointer data, GError **error)
{
	FakeWorld *w = data;
	KvHv *hv;

	if (fake_down(w, error))
		return NULL;
	w->opens++;
	hv = g_new0(KvHv, 1);
	hv->ops = &fake_ops;
	hv->ctx = ctx;
	hv->priv = w;
	return hv;
}

static void
test_hypervisor_restart(void)
{
	g_autofree char *src = g_build_filename(TEST_DATA_DIR, "roots", "host-full", NULL);
	g_autofree char *root = temp_root();
	g_autofree char *cmd = g_strdup_printf("cp -a '%s/.' '%s/'", src, root);
	FakeWorld w = { .actual_kib = 1024 * 1024 };
	g_auto(KvConfig) cfg = { 0 };

	g_assert_cmpint(system(cmd), ==, 0);
	kv_config_defaults(&cfg);
	cfg.balloon_interval_ticks = 1;
	{
		g_autoptr(KvCtx) ctx = kv_ctx_new(root);
		g_autoptr(KvBalancer) b = kv_balancer_new(&(KvBalancerOptions){ .ctx = ctx,
										.use_libvirt = TRUE,
										.open_hv = fake_open,
										.open_hv_data = &w },
							  &cfg);
		g_autoptr(GError) err = NULL;
		guint64 before;

		g_assert_nonnull(kv_balancer_tick(b, FALSE, &err));
		g_assert_cmpuint(w.opens, ==, 1);
		g_assert_cmpuint(w.sets, ==, 1);
		before = w.actual_kib;
		g_assert_cmpuint(before, >, 1024 * 1024);

		/* libvirtd goes away: ticks go on, nothing crashes, balloons wait. */
		w.down = TRUE;
		for (guint i = 0; i < 3; i++) {
			const KvPlan *p = kv_balancer_tick(b, FALSE, &err);

			g_assert_no_error(err);
			g_assert_nonnull(p);
		}
		{
			g_autofree char *st = kv_balancer_status_json(b);

			g_autofree char *txt = kv_status_render_text(st, NULL);

			g_assert_nonnull(strstr(st, "\"libvirt\" : false"));
			/* Disconnected, and why: how it was lost, then the retry. */
			g_assert_nonnull(strstr(st, "\"libvirt_error\" : \"connection lost: fake: connection closed; "
						    "reconnecting: fake: connection closed (retry at tick"));
			g_assert_nonnull(strstr(txt, ", libvirt disconnected for "));
		}
		g_assert_cmpuint(w.actual_kib, ==, before);

		/* It comes back: the balancer reconnects and moves balloons again. */
		w.down = FALSE;
		for (guint i = 0; i < 10 && w.sets < 2; i++)
			g_assert_nonnull(kv_balancer_tick(b, FALSE, &err));
		g_assert_cmpuint(w.opens, ==, 2);
		g_assert_cmpuint(w.sets, >=, 2);
		g_assert_cmpuint(w.actual_kib, >, before);
		g_assert_cmpuint(w.actual_kib, <=, 4 * 1024 * 1024);
		{
			g_autofree char *st = kv_balancer_status_json(b);

			g_assert_null(strstr(st, "libvirt_error"));
			g_assert_nonnull(strstr(st, "\"libvirt_reconnects\" : 1"));
		}
		{
			g_autoptr(GPtrArray) notes = kv_balancer_take_notes(b);
			gboolean noted = FALSE;

			for (guint i = 0; i < notes->len; i++)
				noted |= strstr(g_ptr_array_index(notes, i), "connection closed") != NULL;
			g_assert_true(noted);
		}
	}
	rm_rf(root);
}

/* Every field of the policy state comes back from the state file as it
 * was saved, with the limits that do not fit a JSON integer. */
static void
test_state_round_trip(void)
{
	g_autofree char *dir = g_dir_make_tmp("ksmvirt-state-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, KV_BALANCER_STATE_FILE, NULL);
	g_autoptr(KvPolicyState) a = kv_policy_state_new();
	g_autoptr(KvPolicyState) b = kv_policy_state_new();
	g_autoptr(GError) err = NULL;
	KvGuestPolicyState *ga, *gb;

	g_assert_false(kv_balancer_state_load(path, b, &err));
	g_assert_no_error(err); /* no file: a fresh state, no complaint */
	a->tick = 41;
	a->ksm_active = TRUE;
	a->low_gain_ticks = 3;
	a->backed_off = TRUE;
	a->gain_pages_per_cpu_s = 1234.5;
	a->full_scans_since_on = 7;
	a->numa_unmerging = TRUE;
	a->numa_restore_run = 2;
	a->numa_busy_until_tick = 44;
	a->ksm_blocked_until_tick = 50;
	a->ksm_blocked_error = g_strdup("run: Read-only file system");
	ga = kv_policy_state_guest(a, "vm-a");
	ga->balloon_changed_tick = 40;
	ga->cg_busy_until_tick = 42;
	ga->cg_original_limit_bytes = KV_UNLIMITED;
	ga = kv_policy_state_guest(a, "vm-b");
	ga->cg_original_limit_bytes = 1ull << 31;
	g_assert_true(kv_balancer_state_save(path, a, 1000000, NULL, &err));
	g_assert_no_error(err);
	g_assert_true(kv_balancer_state_load(path, b, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(b->tick, ==, 41);
	g_assert_true(b->ksm_active);
	g_assert_cmpuint(b->low_gain_ticks, ==, 3);
	g_assert_true(b->backed_off);
	g_assert_cmpfloat(b->gain_pages_per_cpu_s, ==, 1234.5);
	g_assert_cmpuint(b->full_scans_since_on, ==, 7);
	g_assert_true(b->numa_unmerging);
	g_assert_cmpuint(b->numa_restore_run, ==, 2);
	g_assert_cmpuint(b->numa_busy_until_tick, ==, 44);
	g_assert_cmpuint(b->ksm_blocked_until_tick, ==, 50);
	g_assert_cmpstr(b->ksm_blocked_error, ==, "run: Read-only file system");
	g_assert_cmpuint(g_hash_table_size(b->guests), ==, 2);
	gb = kv_policy_state_guest(b, "vm-a");
	g_assert_cmpuint(gb->balloon_changed_tick, ==, 40);
	g_assert_cmpuint(gb->cg_busy_until_tick, ==, 42);
	g_assert_cmpuint(gb->cg_original_limit_bytes, ==, KV_UNLIMITED);
	gb = kv_policy_state_guest(b, "vm-b");
	g_assert_cmpuint(gb->cg_original_limit_bytes, ==, 1ull << 31);
	/* A missing gain is "not measured", not 0. */
	g_assert_true(g_file_set_contents(path, "{\"schema\":\"ksmvirt-balancer-state/1\",\"tick\":5}", -1, NULL));
	g_clear_pointer(&b, kv_policy_state_free);
	b = kv_policy_state_new();
	g_assert_true(kv_balancer_state_load(path, b, &err));
	g_assert_cmpuint(b->tick, ==, 5);
	g_assert_cmpfloat(b->gain_pages_per_cpu_s, ==, -1);
	g_assert_false(b->ksm_active);
	g_assert_null(b->ksm_blocked_error);
	/* Another schema: not loaded, said why. */
	g_assert_true(g_file_set_contents(path, "{\"schema\":\"other\"}", -1, NULL));
	g_assert_false(kv_balancer_state_load(path, b, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
	g_assert_nonnull(strstr(err->message, "another schema"));
	rm_rf(dir);
}

/* A status document read back from the socket: every member kept (its
 * JSON written again is the same), and its text (columns stay aligned
 * past a long guest name). */
static const char status_doc[] =
	"{\"schema\":\"ksmvirt-status/1\",\"tick\":17,\"time\":1764770000.5,\"tick_ms\":5000,\"dry_r"
	"un\":true,\"libvirt\":false,\"libvirt_error\":\"connection lost: End of file while rea"
	"ding data\",\"libvirt_down_since\":1764769970.0,\"libvirt_reconnects\":2,\"host\":{\"mem"
	"_total_kib\":24572000,\"mem_available_kib\":1048576,\"swap_total_kib\":4194304,\"swap_"
	"free_kib\":4000000,\"psi_some_avg10\":12.5,\"psi_full_avg10\":3.25,\"numa_nodes\":2,\"no"
	"des\":[{\"id\":0,\"mem_total_kib\":12000000,\"mem_free_kib\":6000000,\"under_pressure\":f"
	"alse},{\"id\":3,\"mem_total_kib\":12000000,\"mem_free_kib\":360000,\"under_pressure\":tr"
	"ue}],\"ksmd_cpu_s\":0.75,\"merged_delta_pages\":-120,\"gain_pages_per_cpu_s\":4321.0,\""
	"ksm_active\":true,\"backed_off\":false},\"ksm\":{\"run\":1,\"pages_to_scan\":2000,\"sleep_"
	"millisecs\":20,\"pages_shared\":300,\"pages_sharing\":9000,\"merge_across_nodes\":0,\"ad"
	"visor_mode\":\"none\"},\"guests\":[{\"name\":\"a-very-long-guest-name-beyond-24\",\"uuid\":"
	"\"6695eb01-f6a4-8304-79aa-97f2502e193f\",\"pid\":4100,\"ram_kib\":2097152,\"rss_kib\":10"
	"48576,\"swap_kib\":0,\"merging_pages\":5000,\"priority\":2,\"node_kib\":{\"0\":524288,\"3\":"
	"524288},\"balloon\":{\"actual_kib\":1572864,\"maximum_kib\":2097152,\"driver\":true,\"unu"
	"sed_kib\":100000,\"available_kib\":1500000,\"floor_kib\":524288,\"floor_source\":\"polic"
	"y\"},\"cgroup\":{\"version\":1,\"dir\":\"/sys/fs/cgroup/memory/machine/qemu-1-vm.libvirt"
	"-qemu\",\"limit_bytes\":-1,\"usage_bytes\":1073741824}},{\"name\":\"vm-2\",\"uuid\":null,\"p"
	"id\":4200,\"ram_kib\":1048576,\"rss_kib\":512000,\"swap_kib\":2048,\"merging_pages\":4000"
	",\"priority\":0,\"group\":\"gold\",\"merge\":\"off\",\"balloon\":{\"actual_kib\":1048576,\"maximum_kib\":1048576,\"driver\":fal"
	"se,\"floor_kib\":0,\"floor_source\":null},\"cgroup\":{\"version\":2,\"dir\":\"/sys/fs/cgrou"
	"p/unified/machine/vm-2\",\"limit_bytes\":805306368,\"usage_bytes\":524288000}}],\"deci"
	"sions\":[{\"policy\":\"ksm\",\"decision\":\"merge\",\"reason\":\"MemAvailable 4%\"},{\"policy\""
	":\"balloon\",\"decision\":\"inflate\",\"reason\":\"node 3 under pressure\"}],\"actions\":[{\""
	"policy\":\"ksm\",\"description\":\"ksm: pages_to_scan 1000 -> 2000\",\"knob\":\"pages_to_s"
	"can\",\"value\":2000,\"old_value\":1000,\"result\":\"dry-run\"},{\"policy\":\"balloon\",\"desc"
	"ription\":\"balloon a-very-long-guest-name-beyond-24: 2048 -> 1536 MiB\",\"guest\":\"a"
	"-very-long-guest-name-beyond-24\",\"value\":1572864,\"old_value\":2097152,\"result\":\"t"
	"ransient\",\"error\":\"libvirt: timed out\"}],\"recent_actions\":[\"tick 1 [done] a\",\"ti"
	"ck 2 [done] b\",\"tick 3 [done] c\",\"tick 4 [done] d\",\"tick 5 [done] e\",\"tick 6 [do"
	"ne] f\",\"tick 7 [done] g\",\"tick 8 [done] h\",\"tick 9 [done] i\",\"tick 10 [done] j\","
	"\"tick 11 [done] k\",\"tick 12 [done] l\"],\"notes\":[\"balloon statistics: timed out\"]"
	"}";

static const char status_text[] =
	"tick 17 every 5.0 s, dry run, libvirt disconnected for 30 s: connection lost: End of file while reading data\n"
	"host: MemAvailable 1024 of 23996 MiB, PSI some 12.5% full 3.2%, KSM gain 4321 pages/CPU-s\n"
	"nodes: node 0 50% free, node 3 3% free (under pressure)\n"
	"ksm: run 1, pages_to_scan 2000, sleep 20 ms, shared 300, sharing 9000, merge_across_nodes 0\n"
	"\n"
	"GUEST                                PID   RAM MiB   RSS MiB    MERGED  PRIO BALLOON MiB   LIMIT MiB GROUP MERGE\n"
	"a-very-long-guest-name-beyond-24    4100      2048      1024      5000     2        1536         max -     -\n"
	"vm-2                                4200      1024       500      4000     0       1024*         768 gold  off\n"
	"\n"
	"Decisions:\n"
	"  ksm      merge        MemAvailable 4%\n"
	"  balloon  inflate      node 3 under pressure\n"
	"\n"
	"Actions:\n"
	"  [dry-run] ksm: pages_to_scan 1000 -> 2000\n"
	"  [transient] balloon a-very-long-guest-name-beyond-24: 2048 -> 1536 MiB: libvirt: timed out\n"
	"\n"
	"Recent changes:\n"
	"  tick 3 [done] c\n"
	"  tick 4 [done] d\n"
	"  tick 5 [done] e\n"
	"  tick 6 [done] f\n"
	"  tick 7 [done] g\n"
	"  tick 8 [done] h\n"
	"  tick 9 [done] i\n"
	"  tick 10 [done] j\n"
	"  tick 11 [done] k\n"
	"  tick 12 [done] l\n"
	"note: balloon statistics: timed out\n";

static void
test_status_document(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KvStatus) st = kv_status_from_json(status_doc, &err);
	g_autoptr(KvStatus) again = NULL;
	g_autofree char *text = NULL, *json = NULL, *json2 = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(st);
	g_assert_cmpuint(st->guests->len, ==, 2);
	g_assert_cmpuint(st->nodes->len, ==, 2);
	g_assert_true(kv_ksm_has(st->ksm, KV_KSM_PAGES_TO_SCAN));
	g_assert_false(kv_ksm_has(st->ksm, KV_KSM_FULL_SCANS));
	text = kv_status_render(st);
	g_assert_cmpstr(text, ==, status_text);
	g_clear_pointer(&text, g_free);
	text = kv_status_render_text(status_doc, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(text, ==, status_text);
	json = kv_status_to_json(st);
	again = kv_status_from_json(json, &err);
	g_assert_no_error(err);
	json2 = kv_status_to_json(again);
	g_assert_cmpstr(json, ==, json2);
	g_assert_nonnull(strstr(json, "\"libvirt_down_since\" : 1764769970"));
	g_assert_nonnull(strstr(json, "\"limit_bytes\" : -1"));
	g_assert_null(kv_status_from_json("[1]", &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
}

/* A tick reads what the policies use: a guest whose smaps cannot be read
 * (the kernel walks every page table for it) is still sensed, with its
 * RAM from the QEMU command line. */
static void
test_sense_no_smaps(void)
{
	g_autofree char *src = g_build_filename(TEST_DATA_DIR, "roots", "host-full", NULL);
	g_autofree char *root = temp_root();
	g_autofree char *cmd =
		g_strdup_printf("cp -a '%s/.' '%s/' && rm -f '%s/proc/1201/smaps'", src, root, root);
	g_autoptr(KvCtx) ctx = NULL;
	g_autoptr(KvSnapshot) s = NULL;
	g_autoptr(GError) err = NULL;
	const KvGuestSense *web = NULL;

	g_assert_cmpint(system(cmd), ==, 0);
	ctx = kv_ctx_new(root);
	s = kv_sense(ctx, NULL, NULL, &err);
	g_assert_no_error(err);
	for (guint i = 0; i < s->guests->len; i++)
		if (!g_strcmp0(((const KvGuestSense *)g_ptr_array_index(s->guests, i))->name, "web-1"))
			web = g_ptr_array_index(s->guests, i);
	g_assert_nonnull(web);
	g_assert_cmpint(web->pid, ==, 1201);
	g_assert_cmpuint(web->ram_kib, >, 0);
	g_assert_true(s->have_ksm);
	rm_rf(root);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/load", test_config_load);
	g_test_add_func("/sense/psi", test_psi);
	g_test_add_func("/sense/cgroup", test_cgroup_parse);
	g_test_add_func("/sense/node-meminfo", test_node_meminfo);
	g_test_add_func("/sense/numa-maps", test_numa_maps);
	g_test_add_func("/config/parse", test_config);
	g_test_add_func("/act/files", test_act_files);
	g_test_add_func("/act/errno", test_errno_class);
	g_test_add_func("/act/guest-destroyed", test_guest_destroyed);
	g_test_add_func("/sense/no-smaps", test_sense_no_smaps);
	g_test_add_func("/balancer/state", test_balancer_state);
	g_test_add_func("/balancer/state-round-trip", test_state_round_trip);
	g_test_add_func("/balancer/status-document", test_status_document);
	g_test_add_func("/balancer/hypervisor-restart", test_hypervisor_restart);
	return g_test_run();
}
