/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: OS info, the inspection cache and the bounded child (no
 * libguestfs appliance is launched here; tests/real/inspect.sh does). */
#include "kv-inspect.h"
#include "kv-inspect-queue.h"
#include "kv-ctx.h"
#include "kv-hv.h"
#include "kv-json.h"

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
		KvOsInfo os = { .type = (char *)cases[i].type,
				.distro = (char *)cases[i].distro,
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
	KvOsInfo os = { .type = "linux",
			.distro = "debian",
			.product_name = "Debian \"12\"",
			.major = 12,
			.minor = 7,
			.arch = "x86_64" };
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
	const char *ok[] = { "/bin/sh", "-c",
			     "echo '{\"type\":\"windows\",\"distro\":\"windows\",\"major\":10}'", NULL };
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

static KvInspectSense *
sense(const char *uuid, const char *key, const char *why)
{
	KvInspectSense *s = g_new0(KvInspectSense, 1);

	s->uuid = g_strdup(uuid);
	s->name = g_strdup_printf("guest-%s", uuid);
	s->disks = key ? g_strsplit(key, "\t", 2) : g_new0(char *, 1);
	s->key = g_strdup(key);
	s->why = g_strdup(why);
	return s;
}

static KvOsInfo *
os_new(const char *type, const char *product, int major)
{
	KvOsInfo *os = g_new0(KvOsInfo, 1);

	os->type = g_strdup(type);
	os->distro = g_strdup(!strcmp(type, "linux") ? "debian" : type);
	os->product_name = g_strdup(product);
	os->major = major;
	return os;
}

/* One step of the daemon's queue: what the daemon senses or hears, and
 * what each guest's state must be afterwards. */
typedef enum {
	STEP_UPDATE,
	STEP_NEXT,
	STEP_FINISH
} StepKind;

typedef struct {
	const char *what;
	StepKind kind;
	gint64 now_s;
	const char *sensed; /* UPDATE: "uuid=key;..." ("uuid=!why" for no key) */
	const char *finish_uuid, *finish_key, *finish_type; /* FINISH; type "timeout" */
	const char *want_next;                              /* NEXT: the uuid started, or NULL */
	gboolean want_map_changed;
	const char *want_states; /* "uuid=state ..." after the step, sorted by name */
	guint want_cache;        /* entries in the cache afterwards */
} Step;

static GPtrArray *
parse_sensed(const char *spec)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)kv_inspect_sense_free);
	g_auto(GStrv) items = g_strsplit(spec, ";", -1);

	for (guint i = 0; items[i]; i++) {
		g_auto(GStrv) kv = NULL;

		if (!*items[i])
			continue;
		kv = g_strsplit(items[i], "=", 2);
		if (kv[1][0] == '!')
			g_ptr_array_add(out, sense(kv[0], NULL, kv[1] + 1));
		else
			g_ptr_array_add(out, sense(kv[0], kv[1], NULL));
	}
	return out;
}

static char *
states(KvInspectQueue *q)
{
	g_autoptr(GPtrArray) gs = kv_inspect_queue_guests(q);
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < gs->len; i++) {
		const KvInspectGuest *g = g_ptr_array_index(gs, i);

		g_string_append_printf(out, "%s%s=%s", i ? " " : "", g->uuid,
				       kv_inspect_state_to_string(g->state));
	}
	return g_string_free(out, FALSE);
}

static void
test_queue(void)
{
	static const Step steps[] = {
		{ "a is cached, b is new, c has a missing disk", STEP_UPDATE, 0,
		  "a=/a.img;b=/b.img;c=!disk /c.img: No such file or directory", NULL, NULL, NULL, NULL, TRUE,
		  "a=done b=pending c=unknown", 1 },
		{ "b starts", STEP_NEXT, 1, NULL, NULL, NULL, NULL, "b", FALSE, "a=done b=running c=unknown", 1 },
		{ "one appliance at a time", STEP_NEXT, 2, NULL, NULL, NULL, NULL, NULL, FALSE,
		  "a=done b=running c=unknown", 1 },
		{ "d arrives while b runs", STEP_UPDATE, 3, "a=/a.img;b=/b.img;d=/d.img", NULL, NULL, NULL,
		  NULL, FALSE, "a=done b=running d=pending", 1 },
		{ "b answers Windows", STEP_FINISH, 40, NULL, "b", "/b.img", "windows", NULL, TRUE,
		  "a=done b=done d=pending", 2 },
		{ "d starts", STEP_NEXT, 41, NULL, NULL, NULL, NULL, "d", FALSE, "a=done b=done d=running", 2 },
		{ "d times out: not cached", STEP_FINISH, 100, NULL, "d", "/d.img", "timeout", NULL, TRUE,
		  "a=done b=done d=unknown", 2 },
		{ "nothing to run", STEP_NEXT, 101, NULL, NULL, NULL, NULL, NULL, FALSE,
		  "a=done b=done d=unknown", 2 },
		{ "no retry before the delay", STEP_UPDATE, 200, "a=/a.img;b=/b.img;d=/d.img", NULL, NULL,
		  NULL, NULL, FALSE, "a=done b=done d=unknown", 2 },
		{ "retry after the delay", STEP_UPDATE, 100 + KV_INSPECT_RETRY_S,
		  "a=/a.img;b=/b.img;d=/d.img", NULL, NULL, NULL, NULL, FALSE, "a=done b=done d=pending", 2 },
		{ "d starts again", STEP_NEXT, 701, NULL, NULL, NULL, NULL, "d", FALSE,
		  "a=done b=done d=running", 2 },
		{ "d's disk changes while it runs", STEP_UPDATE, 702, "a=/a.img;b=/b.img;d=/d2.img", NULL,
		  NULL, NULL, NULL, FALSE, "a=done b=done d=running", 2 },
		{ "the old answer is cached, d is queued again", STEP_FINISH, 750, NULL, "d", "/d.img",
		  "linux", NULL, FALSE, "a=done b=done d=pending", 3 },
		{ "b's disk changes back to a cached one", STEP_UPDATE, 751, "a=/a.img;b=/d.img;d=/d2.img",
		  NULL, NULL, NULL, NULL, TRUE, "a=done b=done d=pending", 3 },
		{ "d starts", STEP_NEXT, 752, NULL, NULL, NULL, NULL, "d", FALSE, "a=done b=done d=running", 3 },
		{ "guests stop; the running one stays until it ends", STEP_UPDATE, 753, "", NULL, NULL, NULL,
		  NULL, FALSE, "d=running", 3 },
		{ "d ends after its guest stopped", STEP_FINISH, 800, NULL, "d", "/d2.img", "linux", NULL,
		  TRUE, "d=done", 4 },
		{ "gone", STEP_UPDATE, 801, "", NULL, NULL, NULL, NULL, FALSE, "", 4 },
		{ "two guests share one new image", STEP_UPDATE, 802, "e=/s.img;f=/s.img", NULL, NULL, NULL,
		  NULL, FALSE, "e=pending f=pending", 4 },
		{ "e starts", STEP_NEXT, 803, NULL, NULL, NULL, NULL, "e", FALSE, "e=running f=pending", 4 },
		{ "e's answer serves f too", STEP_FINISH, 830, NULL, "e", "/s.img", "linux", NULL, TRUE,
		  "e=done f=done", 5 },
		{ "no second appliance", STEP_NEXT, 831, NULL, NULL, NULL, NULL, NULL, FALSE, "e=done f=done", 5 },
	};
	g_autoptr(KvInspectCache) cache = kv_inspect_cache_new();
	g_autoptr(GHashTable) map = kv_os_map_new();
	g_autoptr(KvInspectQueue) q = kv_inspect_queue_new(cache, map);
	g_autoptr(KvOsInfo) deb = os_new("linux", "Debian 12", 12);

	kv_inspect_cache_store(cache, "/a.img", deb);
	for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
		const Step *st = &steps[i];
		gint64 now = st->now_s * G_USEC_PER_SEC;
		gboolean map_changed = FALSE, cache_changed = FALSE;
		g_autofree char *got = NULL;

		g_test_message("step %u: %s", i, st->what);
		if (st->kind == STEP_UPDATE) {
			g_autoptr(GPtrArray) sensed = parse_sensed(st->sensed);

			map_changed = kv_inspect_queue_update(q, sensed, now);
		} else if (st->kind == STEP_NEXT) {
			const KvInspectGuest *g = kv_inspect_queue_next(q, now);

			g_assert_cmpstr(g ? g->uuid : NULL, ==, st->want_next);
			g_assert_true(kv_inspect_queue_running(q) == (g ? g : kv_inspect_queue_running(q)));
		} else {
			g_autoptr(KvOsInfo)
				os = !strcmp(st->finish_type, "timeout")
					     ? kv_os_info_new_unknown("inspection timed out after 60 s")
					     : os_new(st->finish_type, "X", 10);

			kv_inspect_queue_finish(q, st->finish_uuid, st->finish_key, os, now, &cache_changed,
						&map_changed);
			g_assert_null(kv_inspect_queue_running(q));
		}
		g_assert_cmpint(map_changed, ==, st->want_map_changed);
		got = states(q);
		g_assert_cmpstr(got, ==, st->want_states);
		g_assert_cmpuint(kv_inspect_cache_size(cache), ==, st->want_cache);
	}
	/* The OS map: what the report reads. */
	g_assert_cmpstr(((KvOsInfo *)g_hash_table_lookup(map, "a"))->distro, ==, "debian");
	g_assert_true(kv_os_info_is_windows(g_hash_table_lookup(map, "b")) == FALSE); /* b now has d's disk */
	g_assert_nonnull(strstr(((KvOsInfo *)g_hash_table_lookup(map, "c"))->reason, "No such file"));
	g_assert_cmpstr(((KvOsInfo *)g_hash_table_lookup(map, "d"))->type, ==, "linux");
}

/* An OS map whose key and OS name came from outside (a hand-edited map,
 * inspection of a hostile image) saves as JSON it can load again. */
static void
test_os_map_hostile(void)
{
	g_autoptr(GHashTable) map = kv_os_map_new();
	g_autoptr(GHashTable) back = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("ksmvirt-osmap-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "os.json", NULL);
	const KvOsInfo *got;

	g_hash_table_replace(map, g_strdup("a\"b\\c\n"), os_new("linux", "Debian\xff\x1b 12", 12));
	g_hash_table_replace(map, g_strdup("0a1b2c3d-0000-4000-8000-000000000001"), os_new("windows", "W", 10));
	g_assert_true(kv_os_map_save(map, path, &err));
	g_assert_no_error(err);
	back = kv_os_map_load(path, &err);
	g_assert_no_error(err);
	g_assert_nonnull(back);
	g_assert_cmpuint(g_hash_table_size(back), ==, 2);
	got = g_hash_table_lookup(back, "a\"b\\c\n");
	g_assert_nonnull(got);
	g_assert_cmpstr(got->product_name, ==, "Debian\\xff\x1b 12");
	g_assert_true(kv_os_info_is_windows(g_hash_table_lookup(back, "0a1b2c3d-0000-4000-8000-000000000001")));
	g_unlink(path);
	g_rmdir(dir);
}

/* The cache keeps names from inspection, which may be any bytes: a saved
 * cache must load again (a disk path may hold any bytes too). */
static void
test_cache_hostile(void)
{
	g_autoptr(KvInspectCache) c = kv_inspect_cache_new();
	g_autoptr(KvInspectCache) back = NULL;
	g_autoptr(KvOsInfo) os = os_new("linux", "Debian\xff\x1b 12", 12);
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("ksmvirt-cache-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "inspect-cache.json", NULL);
	const KvOsInfo *got;

	kv_inspect_cache_store(c, "/img\xfe.qcow2\t1\t2\n", os);
	g_assert_true(kv_inspect_cache_save(c, path, &err));
	g_assert_no_error(err);
	back = kv_inspect_cache_load(path, &err);
	g_assert_no_error(err);
	g_assert_nonnull(back);
	g_assert_cmpuint(kv_inspect_cache_size(back), ==, 1);
	got = kv_inspect_cache_lookup(back, "/img\\xfe.qcow2\t1\t2\n");
	g_assert_nonnull(got);
	g_assert_cmpstr(got->product_name, ==, "Debian\\xff\x1b 12");
	g_unlink(path);
	g_rmdir(dir);
}

static void
test_queue_status(void)
{
	g_autoptr(KvInspectCache) cache = kv_inspect_cache_new();
	g_autoptr(GHashTable) map = kv_os_map_new();
	g_autoptr(KvInspectQueue) q = kv_inspect_queue_new(cache, map);
	g_autoptr(KvOsInfo) win = os_new("windows", "Windows 10 Pro", 10);
	g_autoptr(GPtrArray)
		sensed = parse_sensed("w=/w.img;p=/p.img;r=/r.img;u=!no disk image in its domain XML");
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonBuilder) off = json_builder_new();
	g_autofree char *doc = NULL, *text = NULL, *doc_off = NULL, *text_off = NULL, *none = NULL;

	kv_inspect_cache_store(cache, "/w.img", win);
	kv_inspect_queue_update(q, sensed, 0);
	g_assert_cmpstr(kv_inspect_queue_next(q, 0)->uuid, ==, "p");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "inspection");
	kv_inspect_queue_build_json(q, b, TRUE, NULL, 600, 7 * G_USEC_PER_SEC);
	json_builder_end_object(b);
	doc = kv_json_to_string(b, FALSE);
	text = kv_inspect_status_render_text(doc);
	g_test_message("%s", text);
	g_assert_nonnull(strstr(text, "timeout 600 s"));
	g_assert_nonnull(
		strstr(text,
		       "guest-w                  done     Windows 10 Pro (windows/windows/10), from the cache"));
	g_assert_nonnull(strstr(text, "guest-p                  running  for 7 s"));
	g_assert_nonnull(strstr(text, "guest-r                  pending  for 7 s"));
	g_assert_nonnull(strstr(text, "guest-u                  unknown  no disk image in its domain XML"));

	json_builder_begin_object(off);
	json_builder_set_member_name(off, "inspection");
	kv_inspect_queue_build_json(NULL, off, FALSE, "no libvirt (--no-libvirt)", 600, 0);
	json_builder_end_object(off);
	doc_off = kv_json_to_string(off, FALSE);
	text_off = kv_inspect_status_render_text(doc_off);
	g_assert_cmpstr(text_off, ==, "\nGuest OS inspection: off (no libvirt (--no-libvirt))\n");
	none = kv_inspect_status_render_text("{\"schema\": \"x\"}");
	g_assert_cmpstr(none, ==, "");
}

static void
test_domain_disks(void)
{
	static const struct {
		const char *xml;
		const char *want; /* disks joined by ",", NULL: error */
	} cases[] = {
		{ "<domain><name>a</name><devices>"
		  "<disk type='file' device='disk'><source file='/var/lib/a.img'/><target dev='vda'/></disk>"
		  "<disk type='file' device='cdrom'><source file='/iso/x.iso'/></disk>"
		  "<disk type='block' device='disk'><source dev='/dev/vg/b'/></disk>"
		  "<disk type='network' device='disk'><source protocol='nbd' name='x'/></disk>"
		  "<disk type='file' device='disk'/>"
		  "<disk type='file'><source file='/c.img'/></disk>"
		  "<disk type='file' device='disk'><source file='relative.img'/></disk>"
		  "</devices></domain>",
		  "/var/lib/a.img,/dev/vg/b,/c.img" },
		{ "<domstatus><domain><devices><disk device='disk'><source file='/s.img'/></disk></devices></domain></domstatus>",
		  "/s.img" },
		{ "<domain><name>n</name></domain>", "" },
		{ "<domain><devices><disk device='disk'><source file='/a b &amp; c.img'/></disk></devices></domain>",
		  "/a b & c.img" },
		{ "<domain", NULL },
		/* An external entity is never fetched: the XML is refused. */
		{ "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><devices><disk><source file='&x;'/></disk></devices></domain>",
		  NULL },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) err = NULL;
		g_auto(GStrv) disks = kv_domain_disks_from_xml(cases[i].xml, strlen(cases[i].xml), &err);

		g_test_message("case %u", i);
		if (!cases[i].want) {
			g_assert_null(disks);
			g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
		} else {
			g_autofree char *got = g_strjoinv(",", disks);

			g_assert_no_error(err);
			g_assert_cmpstr(got, ==, cases[i].want);
		}
	}
}

static void
test_transient(void)
{
	static const struct {
		const char *reason;
		gboolean transient;
	} cases[] = {
		{ "inspection timed out after 600 s", TRUE },
		{ "inspection failed (signal 9): no answer", TRUE },
		{ "inspection could not start: No such file or directory", TRUE },
		{ "launching the libguestfs appliance: qemu exited", TRUE },
		{ "cannot create a libguestfs handle", TRUE },
		{ "no operating system found: /dev/sda is encrypted (crypto_LUKS)", FALSE },
		{ "no operating system found: no filesystem recognised (corrupt or unknown disk)", FALSE },
		{ "disk /x.img: No such file or directory", FALSE },
		{ NULL, FALSE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(KvOsInfo) os = cases[i].reason ? kv_os_info_new_unknown(cases[i].reason)
							 : os_new("linux", "Debian 12", 12);

		g_assert_cmpint(kv_os_info_is_transient(os), ==, cases[i].transient);
	}
	g_assert_false(kv_os_info_is_transient(NULL));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/inspect/family", test_family);
	g_test_add_func("/inspect/json", test_json);
	g_test_add_func("/inspect/cache", test_cache);
	g_test_add_func("/inspect/child", test_child);
	g_test_add_func("/inspect/queue", test_queue);
	g_test_add_func("/inspect/queue-status", test_queue_status);
	g_test_add_func("/inspect/os-map-hostile", test_os_map_hostile);
	g_test_add_func("/inspect/cache-hostile", test_cache_hostile);
	g_test_add_func("/inspect/domain-disks", test_domain_disks);
	g_test_add_func("/inspect/transient", test_transient);
	return g_test_run();
}
