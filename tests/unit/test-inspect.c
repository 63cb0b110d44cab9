/* Unit tests: OS info, the inspection cache and the bounded child (no
 * libguestfs appliance is launched here; tests/real/inspect.sh does). */
#include "kv-inspect.h"
#include "kv-ctx.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static void
test_family(void)
{
	static const struct {
		const char *type, *distro;
		int major;
		const char *want;
		gboolean windows;
	} cases[] = {
		{ "linux", "debian", 12, "linux/debian/12", FALSE },
		{ "windows", "windows", 10, "windows/windows/10", TRUE },
		{ "linux", NULL, 5, "linux/unknown/5", FALSE },
		{ "unknown", NULL, 0, "unknown", FALSE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		KvOsInfo os = { .type = (char *)cases[i].type, .distro = (char *)cases[i].distro,
				.major = cases[i].major };
		g_autofree char *f = kv_os_info_family(&os);

		g_assert_cmpstr(f, ==, cases[i].want);
		g_assert_cmpint(kv_os_info_is_windows(&os), ==, cases[i].windows);
	}
	{
		g_autofree char *none = kv_os_info_family(NULL);

		g_assert_cmpstr(none, ==, "unknown");
	}
}

static void
test_json(void)
{
	KvOsInfo os = { .type = "linux", .distro = "debian", .product_name = "Debian \"12\"",
			.major = 12, .minor = 7, .arch = "x86_64" };
	g_autofree char *s = kv_os_info_to_json(&os);
	g_autoptr(GError) err = NULL;
	g_autoptr(KvOsInfo) back = kv_os_info_from_json(s, &err);

	g_assert_no_error(err);
	g_assert_cmpstr(back->product_name, ==, "Debian \"12\"");
	g_assert_cmpint(back->minor, ==, 7);
	g_assert_null(back->reason);
	g_assert_null(kv_os_info_from_json("[1]", &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
}

static void
test_cache(void)
{
	g_autofree char *dir = g_dir_make_tmp("ksmvirt-inspect-XXXXXX", NULL);
	g_autofree char *disk = g_build_filename(dir, "d.img", NULL);
	g_autofree char *path = g_build_filename(dir, "sub", "cache.json", NULL);
	const char *disks[] = { disk, NULL };
	g_autoptr(KvInspectCache) c = kv_inspect_cache_new();
	g_autoptr(KvInspectCache) loaded = NULL;
	g_autoptr(KvOsInfo) os = kv_os_info_new_unknown("no operating system found");
	g_autofree char *k1 = NULL, *k2 = NULL, *why = NULL, *missing = NULL;
	g_autoptr(GError) err = NULL;

	g_assert_true(g_file_set_contents(disk, "abc", 3, NULL));
	k1 = kv_inspect_cache_key(disks, NULL);
	g_assert_nonnull(k1);
	kv_inspect_cache_store(c, k1, os);
	g_assert_nonnull(kv_inspect_cache_lookup(c, k1));
	g_assert_true(kv_inspect_cache_save(c, path, &err));
	g_assert_no_error(err);
	loaded = kv_inspect_cache_load(path, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(kv_inspect_cache_size(loaded), ==, 1);
	g_assert_cmpstr(kv_inspect_cache_lookup(loaded, k1)->reason, ==, "no operating system found");
	/* A changed disk (size, then mtime) is a different key: inspected again. */
	g_assert_true(g_file_set_contents(disk, "abcd", 4, NULL));
	k2 = kv_inspect_cache_key(disks, NULL);
	g_assert_cmpstr(k1, !=, k2);
	g_assert_null(kv_inspect_cache_lookup(loaded, k2));
	{
		const char *gone[] = { "/nonexistent/disk.img", NULL };

		missing = kv_inspect_cache_key(gone, &why);
		g_assert_null(missing);
		g_assert_nonnull(strstr(why, "No such file"));
	}
	/* A missing cache file is an empty cache; a broken one an error. */
	kv_inspect_cache_free(g_steal_pointer(&loaded));
	loaded = kv_inspect_cache_load("/nonexistent/cache.json", &err);
	g_assert_no_error(err);
	g_assert_cmpuint(kv_inspect_cache_size(loaded), ==, 0);
	g_assert_true(g_file_set_contents(path, "{\"entries\": 3}", -1, NULL));
	g_assert_null(kv_inspect_cache_load(path, &err));
	g_assert_nonnull(err);
	g_unlink(path);
	g_autofree char *sub = g_path_get_dirname(path);
	g_rmdir(sub);
	g_unlink(disk);
	g_rmdir(dir);
}

static void
test_child(void)
{
	const char *ok[] = { "/bin/sh", "-c", "echo '{\"type\":\"windows\",\"distro\":\"windows\",\"major\":10}'", NULL };
	const char *junk[] = { "/bin/sh", "-c", "echo junk; exit 3", NULL };
	/* A hung inspection that also leaves a grandchild behind. */
	const char *hung[] = { "/bin/sh", "-c", "sleep 30 & sleep 30", NULL };
	const char *absent[] = { "/nonexistent/ksmvirt", NULL };
	g_autoptr(KvOsInfo) a = kv_inspect_run_child(ok, 10);
	g_autoptr(KvOsInfo) b = kv_inspect_run_child(junk, 10);
	g_autoptr(KvOsInfo) d = kv_inspect_run_child(absent, 10);
	g_autoptr(KvOsInfo) c = NULL;
	gint64 t0;

	g_assert_true(kv_os_info_is_windows(a));
	g_assert_cmpint(a->major, ==, 10);
	g_assert_cmpstr(b->type, ==, "unknown");
	g_assert_nonnull(strstr(b->reason, "exit 3"));
	g_assert_nonnull(strstr(d->reason, "cannot run"));
	t0 = g_get_monotonic_time();
	c = kv_inspect_run_child(hung, 1);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);
	g_assert_cmpstr(c->reason, ==, "inspection timed out after 1 s");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/inspect/family", test_family);
	g_test_add_func("/inspect/json", test_json);
	g_test_add_func("/inspect/cache", test_cache);
	g_test_add_func("/inspect/child", test_child);
	return g_test_run();
}
