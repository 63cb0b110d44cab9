/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: who shares KSM frames with whom (the model), and the
 * census handing its KSM frames over. */
#include "kv-sharing.h"
#include "kv-census.h"
#include "kv-numa.h"
#include "kv-report.h"
#include "kv-render-sharing.h"

#include <stdlib.h>
#include <string.h>

/* A case: per guest its group ("-": none) and the frames its RAM maps;
 * the wanted nonzero pairs a<=b as "a,b=frames" (guests by index, groups
 * by name, "-" for no group), the frames each guest (group) alone maps. */
typedef struct {
	const char *name;
	guint n_guests;
	const char *groups[4];
	const char *frames[4];
	const char *want_guests, *want_guest_alone;
	const char *want_groups, *want_group_alone;
	guint64 frames_total, cross, sets;
} Case;

static const Case cases[] = {
	{ "no guests", 0, { NULL }, { NULL }, "", "", "", "", 0, 0, 0 },
	{ "no frames", 2, { "-", "-" }, { "", "" }, "", "0 0", "", "0", 0, 0, 0 },
	{ "a pair, repeats count once",
	  2,
	  { "-", "-" },
	  { "3 1 2 4", "1 2 3 5 5 5" },
	  "0,0=4 0,1=3 1,1=4",
	  "1 1",
	  "-,-=5",
	  "5",
	  5,
	  0,
	  3 },
	/* One guest maps a frame many times (zero-filled pages merged into one
	 * KSM frame): one frame on its diagonal, shared with nobody. */
	{ "one frame many times", 2, { "-", "-" }, { "9 9 9 9 9 9", "" }, "0,0=1", "1 0", "-,-=1", "1", 1, 0, 1 },
	{ "three guests, two groups",
	  3,
	  { "a", "b", "a" },
	  { "10 11", "10", "11 10" },
	  "0,0=2 0,1=1 0,2=2 1,1=1 1,2=1 2,2=2",
	  "0 0 0",
	  "a,a=2 a,b=1 b,b=1",
	  "1 0",
	  2,
	  1,
	  2 },
	/* A frame mapped by guests of groups A and B counts once for (A, B),
	 * however many guests of each map it. */
	{ "once per group pair",
	  4,
	  { "a", "a", "b", "b" },
	  { "1 2", "1 2", "1", "1 3" },
	  "0,0=2 0,1=2 0,2=1 0,3=1 1,1=2 1,2=1 1,3=1 2,2=1 2,3=1 3,3=2",
	  "0 0 0 1",
	  "a,a=2 a,b=1 b,b=2",
	  "1 1",
	  3,
	  1,
	  3 },
	/* No group is a group of its own: sharing with it crosses. */
	{ "no group against a group",
	  3,
	  { "-", "x", "-" },
	  { "1 2", "2", "1" },
	  "0,0=2 0,1=1 0,2=1 1,1=1 2,2=1",
	  "0 0 0",
	  "-,-=2 -,x=1 x,x=1",
	  "1 0",
	  2,
	  1,
	  2 },
	/* Frames far apart: every radix pass matters. */
	{ "high frame numbers",
	  2,
	  { "g", "g" },
	  { "0 72057594037927935 4294967296 255 256", "72057594037927935 256 65536 4294967296" },
	  "0,0=5 0,1=3 1,1=4",
	  "2 1",
	  "g,g=6",
	  "6",
	  6,
	  0,
	  3 },
};

static GArray *
parse_pfns(const char *s)
{
	g_auto(GStrv) words = g_strsplit(s ? s : "", " ", -1);
	GArray *a = g_array_new(FALSE, FALSE, sizeof(guint64));

	for (guint i = 0; words[i]; i++) {
		guint64 v;

		if (!*words[i])
			continue;
		g_assert_true(g_ascii_string_to_unsigned(words[i], 10, 0, G_MAXUINT64, &v, NULL));
		g_array_append_val(a, v);
	}
	return a;
}

static char *
guest_pairs(const KvSharing *s)
{
	GString *out = g_string_new(NULL);

	for (guint a = 0; a < s->n_guests; a++)
		for (guint b = a; b < s->n_guests; b++)
			if (kv_sharing_guest_frames(s, a, b))
				g_string_append_printf(out, "%s%u,%u=%" G_GUINT64_FORMAT, out->len ? " " : "",
						       a, b, kv_sharing_guest_frames(s, a, b));
	return g_string_free(out, FALSE);
}

static const char *
group_name(const KvSharing *s, guint i)
{
	return s->groups->pdata[i] ? s->groups->pdata[i] : "-";
}

static char *
group_pairs(const KvSharing *s)
{
	GString *out = g_string_new(NULL);

	for (guint a = 0; a < s->groups->len; a++)
		for (guint b = a; b < s->groups->len; b++)
			if (kv_sharing_group_frames(s, a, b))
				g_string_append_printf(out, "%s%s,%s=%" G_GUINT64_FORMAT, out->len ? " " : "",
						       group_name(s, a), group_name(s, b),
						       kv_sharing_group_frames(s, a, b));
	return g_string_free(out, FALSE);
}

static char *
join_u64(const guint64 *v, guint n)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < n; i++)
		g_string_append_printf(out, "%s%" G_GUINT64_FORMAT, i ? " " : "", v[i]);
	return g_string_free(out, FALSE);
}

static void
test_table(void)
{
	for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
		const Case *k = &cases[c];
		g_autoptr(KvSharingBuilder) b = kv_sharing_builder_new(k->n_guests);
		g_autoptr(KvSharing) s = NULL;
		const char *groups[4] = { NULL };
		g_autofree char *gp = NULL, *ga = NULL, *grp = NULL, *gra = NULL;

		g_test_message("case %u: %s", c, k->name);
		for (guint i = 0; i < k->n_guests; i++) {
			g_autoptr(GArray) pfns = parse_pfns(k->frames[i]);

			kv_sharing_builder_add(b, i, (const guint64 *)(gpointer)pfns->data, pfns->len);
			groups[i] = strcmp(k->groups[i], "-") ? k->groups[i] : NULL;
		}
		s = kv_sharing_builder_finish(b, groups);
		gp = guest_pairs(s);
		ga = join_u64(s->guest_alone_frames, s->n_guests);
		grp = group_pairs(s);
		gra = join_u64(s->group_alone_frames, s->groups->len);
		g_assert_cmpstr(gp, ==, k->want_guests);
		g_assert_cmpstr(ga, ==, k->want_guest_alone);
		g_assert_cmpstr(grp, ==, k->want_groups);
		g_assert_cmpstr(gra, ==, k->want_group_alone);
		g_assert_cmpuint(s->frames, ==, k->frames_total);
		g_assert_cmpuint(s->cross_group_frames, ==, k->cross);
		g_assert_cmpuint(s->guest_sets, ==, k->sets);
		/* Symmetric. */
		for (guint a = 0; a < s->n_guests; a++)
			for (guint b2 = 0; b2 < s->n_guests; b2++)
				g_assert_cmpuint(kv_sharing_guest_frames(s, a, b2), ==,
						 kv_sharing_guest_frames(s, b2, a));
	}
}

static void
test_groups_index(void)
{
	const char *groups[] = { "zeta", NULL, "alpha", "zeta", NULL };
	g_autoptr(KvSharingBuilder) b = kv_sharing_builder_new(5);
	g_autoptr(KvSharing) s = kv_sharing_builder_finish(b, groups);

	/* Sorted, no group first. */
	g_assert_cmpuint(s->groups->len, ==, 3);
	g_assert_null(s->groups->pdata[0]);
	g_assert_cmpstr(s->groups->pdata[1], ==, "alpha");
	g_assert_cmpstr(s->groups->pdata[2], ==, "zeta");
	g_assert_cmpuint(s->guest_group[0], ==, 2);
	g_assert_cmpuint(s->guest_group[1], ==, 0);
	g_assert_cmpuint(s->guest_group[2], ==, 1);
	g_assert_cmpuint(s->group_guests[0], ==, 2);
	g_assert_cmpuint(s->group_guests[2], ==, 2);
	g_assert_false(kv_sharing_cross_group(s, 0, 3));
	g_assert_false(kv_sharing_cross_group(s, 1, 4));
	g_assert_true(kv_sharing_cross_group(s, 0, 1));
	g_assert_true(kv_sharing_cross_group(s, 1, 2));
}

/* More guests than a bitset word: 130 guests, frames by the guests of
 * each side of the 64 and 128 word boundaries. */
static void
test_many_words(void)
{
	g_autoptr(KvSharingBuilder) b = kv_sharing_builder_new(130);
	g_autoptr(KvSharing) s = NULL;
	guint64 f1 = 1, f2 = 2, f3 = 3;

	kv_sharing_builder_add(b, 63, &f1, 1);
	kv_sharing_builder_add(b, 64, &f1, 1);
	kv_sharing_builder_add(b, 127, &f2, 1);
	kv_sharing_builder_add(b, 128, &f2, 1);
	kv_sharing_builder_add(b, 129, &f2, 1);
	kv_sharing_builder_add(b, 0, &f3, 1);
	kv_sharing_builder_add(b, 129, &f3, 1);
	s = kv_sharing_builder_finish(b, NULL);
	g_assert_cmpuint(kv_sharing_guest_frames(s, 63, 64), ==, 1);
	g_assert_cmpuint(kv_sharing_guest_frames(s, 127, 129), ==, 1);
	g_assert_cmpuint(kv_sharing_guest_frames(s, 128, 129), ==, 1);
	g_assert_cmpuint(kv_sharing_guest_frames(s, 0, 129), ==, 1);
	g_assert_cmpuint(kv_sharing_guest_frames(s, 129, 129), ==, 2);
	g_assert_cmpuint(kv_sharing_guest_frames(s, 63, 127), ==, 0);
	g_assert_cmpuint(s->frames, ==, 3);
	g_assert_cmpuint(s->guest_sets, ==, 3);
	g_assert_cmpuint(s->groups->len, ==, 1);
	g_assert_cmpuint(kv_sharing_group_frames(s, 0, 0), ==, 3);
}

static guint64
next_rand(guint64 *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* 100 guests in 7 groups (one of them "no group"), random frames with
 * repeats, a block of frames all of them map: the model against counting
 * every frame's pairs one by one. */
static void
test_against_brute_force(void)
{
	const guint n = 100, n_frames = 3000;
	g_autoptr(KvSharingBuilder) b = kv_sharing_builder_new(n);
	g_autoptr(KvSharing) s = NULL;
	g_autofree gboolean *maps = g_new0(gboolean, (gsize)n_frames * n);
	g_autofree guint64 *want = g_new0(guint64, (gsize)n * n);
	g_autofree char **group_names = g_new0(char *, n);
	guint64 state = 0x9e3779b97f4a7c15ULL, frames = 0, cross = 0;
	GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint g = 0; g < n; g++) {
		g_autoptr(GArray) pfns = g_array_new(FALSE, FALSE, sizeof(guint64));
		guint count = 50 + (guint)(next_rand(&state) % 400);

		if (g % 7) {
			g_autofree char *name = g_strdup_printf("group-%u", g % 7);

			if (!g_hash_table_lookup(names, name)) {
				char *dup = g_strdup(name);

				g_hash_table_insert(names, dup, dup);
			}
			group_names[g] = g_hash_table_lookup(names, name);
		}
		for (guint i = 0; i < count; i++) {
			guint64 f = next_rand(&state) % n_frames;

			g_array_append_val(pfns, f);
			if (i % 5 == 0) /* a repeat */
				g_array_append_val(pfns, f);
		}
		for (guint64 f = 0; f < 20; f++) /* frames every guest maps */
			g_array_append_val(pfns, f);
		for (guint i = 0; i < pfns->len; i++)
			maps[g_array_index(pfns, guint64, i) * n + g] = TRUE;
		kv_sharing_builder_add(b, g, (const guint64 *)(gpointer)pfns->data, pfns->len);
	}
	s = kv_sharing_builder_finish(b, (const char *const *)group_names);
	for (guint f = 0; f < n_frames; f++) {
		gboolean any = FALSE, crosses = FALSE;
		int first_group = -1;

		for (guint a = 0; a < n; a++) {
			if (!maps[(gsize)f * n + a])
				continue;
			any = TRUE;
			if (first_group < 0)
				first_group = (int)(a % 7);
			else if ((guint)first_group != a % 7)
				crosses = TRUE;
			for (guint c = 0; c < n; c++)
				if (maps[(gsize)f * n + c])
					want[(gsize)a * n + c]++;
		}
		frames += any;
		cross += crosses;
	}
	for (guint a = 0; a < n; a++)
		for (guint c = 0; c < n; c++)
			g_assert_cmpuint(kv_sharing_guest_frames(s, a, c), ==, want[(gsize)a * n + c]);
	g_assert_cmpuint(s->frames, ==, frames);
	g_assert_cmpuint(s->cross_group_frames, ==, cross);
	g_assert_cmpuint(s->groups->len, ==, 7);
	/* Group (A, B): frames some guest of A and some guest of B map. */
	for (guint ga = 0; ga < 7; ga++) {
		for (guint gb = 0; gb < 7; gb++) {
			guint64 w = 0;

			for (guint f = 0; f < n_frames; f++) {
				gboolean in_a = FALSE, in_b = FALSE;

				for (guint a = 0; a < n; a++) {
					if (!maps[(gsize)f * n + a])
						continue;
					in_a |= s->guest_group[a] == ga;
					in_b |= s->guest_group[a] == gb;
				}
				w += in_a && in_b;
			}
			g_assert_cmpuint(kv_sharing_group_frames(s, ga, gb), ==, w);
		}
	}
	g_hash_table_unref(names);
}

static KvCtx *
root_ctx(const char *name)
{
	g_autofree char *root = g_build_filename(TEST_DATA_DIR, "roots", name, NULL);
	KvCtx *ctx = kv_ctx_new(root);

	ctx->page_size = 4096;
	return ctx;
}

/* The census hands over the KSM frames it meets, and only those. */
static void
test_census_sink(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-full");
	g_autoptr(KvNumaTopo) t = kv_numa_read(ctx, NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(KvCensusScanner) sc = kv_census_scanner_new(ctx, t, &err);
	g_autoptr(KvCensus) c = kv_census_new(t);
	g_autoptr(GArray) web = g_array_new(FALSE, FALSE, sizeof(guint64));
	g_autoptr(GArray) db = g_array_new(FALSE, FALSE, sizeof(guint64));
	g_autoptr(KvSharingBuilder) b = kv_sharing_builder_new(2);
	g_autoptr(KvSharing) s = NULL;

	g_assert_no_error(err);
	/* Without a sink nothing is collected. */
	g_assert_true(kv_census_scan(sc, 1201, 0x1000000, 0x1040000, c, &err));
	kv_census_scanner_set_ksm_sink(sc, web);
	/* web-1: 60 KSM frames 1000-1059 (2 zero-page, 1 private, 1 swapped
	 * entries are not handed over). */
	g_assert_true(kv_census_scan(sc, 1201, 0x1000000, 0x1040000, c, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(web->len, ==, 60);
	for (guint i = 0; i < web->len; i++)
		g_assert_cmpuint(g_array_index(web, guint64, i), ==, 1000 + i);
	/* db-primary: 40 KSM frames 1040-1079 in m0, 20 (70000-70019) in m1. */
	kv_census_scanner_set_ksm_sink(sc, db);
	g_assert_true(kv_census_scan(sc, 1302, 0x2000000, 0x2080000, c, &err));
	g_assert_true(kv_census_scan(sc, 1302, 0x2100000, 0x2180000, c, &err));
	kv_census_scanner_set_ksm_sink(sc, NULL);
	g_assert_true(kv_census_scan(sc, 1302, 0x2100000, 0x2180000, c, &err));
	g_assert_cmpuint(db->len, ==, 60);
	kv_sharing_builder_add(b, 0, (const guint64 *)(gpointer)web->data, web->len);
	kv_sharing_builder_add(b, 1, (const guint64 *)(gpointer)db->data, db->len);
	s = kv_sharing_builder_finish(b, (const char *const[]){ "red", "blue" });
	/* Frames 1040-1059 are in both. */
	g_assert_cmpuint(kv_sharing_guest_frames(s, 0, 1), ==, 20);
	g_assert_cmpuint(kv_sharing_guest_frames(s, 0, 0), ==, 60);
	g_assert_cmpuint(kv_sharing_guest_frames(s, 1, 1), ==, 60);
	g_assert_cmpuint(s->guest_alone_frames[0], ==, 40);
	g_assert_cmpuint(s->guest_alone_frames[1], ==, 40);
	g_assert_cmpuint(s->cross_group_frames, ==, 20);
	g_assert_cmpuint(s->frames, ==, 100);
}

/* group_of as the policy would answer it: by UUID, and counting calls. */
static char *
group_by_uuid(const char *uuid, const char *name, gpointer data)
{
	guint *calls = data;

	(*calls)++;
	g_assert_nonnull(name);
	if (!g_strcmp0(uuid, "0a1b2c3d-0000-4000-8000-000000000001"))
		return g_strdup("web");
	if (!g_strcmp0(uuid, "0a1b2c3d-0000-4000-8000-000000000002"))
		return g_strdup("db");
	return NULL;
}

static guint
count_cross_warnings(const KvGuest *g, const char *needle)
{
	guint n = 0;

	for (guint i = 0; i < g->warnings->len; i++)
		if (g_str_has_prefix(g->warnings->pdata[i], "sharing across groups: ") &&
		    strstr(g->warnings->pdata[i], needle))
			n++;
	return n;
}

static const KvGuest *
guest_by_pid(const KvReport *r, int pid, guint *index)
{
	for (guint i = 0; i < r->guests->len; i++) {
		if (((KvGuest *)r->guests->pdata[i])->pid == pid) {
			*index = i;
			return r->guests->pdata[i];
		}
	}
	g_assert_not_reached();
}

/* The report: each guest's group from the callback, --group's by pid
 * first; the model indexed like r->guests; a warning on each side of a
 * pair that shares across groups, none within one. */
static void
test_report_groups(void)
{
	g_autoptr(KvCtx) ctx = root_ctx("host-full");
	g_autoptr(GHashTable) pid_groups = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	guint calls = 0, iw, id, iwin;
	KvReportOptions opts = { .sharing = TRUE, .group_of = group_by_uuid, .group_data = &calls };
	g_autoptr(GError) err = NULL;
	g_autoptr(KvReport) r = kv_report_collect(ctx, &opts, &err);
	const KvGuest *web, *db, *win;

	g_assert_no_error(err);
	g_assert_nonnull(r->sharing);
	g_assert_nonnull(r->topo); /* --sharing implies the census */
	g_assert_cmpuint(calls, ==, r->guests->len);
	web = guest_by_pid(r, 1201, &iw);
	db = guest_by_pid(r, 1302, &id);
	win = guest_by_pid(r, 1403, &iwin);
	g_assert_cmpstr(web->group, ==, "web");
	g_assert_cmpstr(db->group, ==, "db");
	g_assert_null(win->group);
	g_assert_cmpuint(r->sharing->n_guests, ==, r->guests->len);
	g_assert_cmpuint(kv_sharing_guest_frames(r->sharing, iw, id), ==, 20);
	g_assert_cmpuint(kv_sharing_guest_frames(r->sharing, id, id), ==, 60);
	g_assert_cmpuint(kv_sharing_guest_frames(r->sharing, iwin, iwin), ==, 0);
	g_assert_cmpuint(count_cross_warnings(web, "20 KSM frames (80 KiB) shared with db"), ==, 1);
	g_assert_cmpuint(count_cross_warnings(db, "shared with web-1 (pid 1201, group \"web\"); this guest is in "
						  "group \"db\""),
			 ==, 1);
	g_assert_cmpuint(count_cross_warnings(win, ""), ==, 0);
	g_clear_pointer(&r, kv_report_free);

	/* --group wins over the callback: both in one group, no warning. */
	g_hash_table_insert(pid_groups, GINT_TO_POINTER(1302), g_strdup("web"));
	opts.pid_groups = pid_groups;
	calls = 0;
	r = kv_report_collect(ctx, &opts, &err);
	g_assert_no_error(err);
	db = guest_by_pid(r, 1302, &id);
	web = guest_by_pid(r, 1201, &iw);
	g_assert_cmpstr(db->group, ==, "web");
	g_assert_cmpuint(calls, ==, r->guests->len - 1);
	g_assert_false(kv_sharing_cross_group(r->sharing, iw, id));
	g_assert_cmpuint(count_cross_warnings(web, ""), ==, 0);
	g_assert_cmpuint(count_cross_warnings(db, ""), ==, 0);
	g_assert_cmpuint(r->sharing->cross_group_frames, ==, 0);
	g_clear_pointer(&r, kv_report_free);

	/* Without --sharing: groups, but no model and no census. */
	opts.sharing = FALSE;
	r = kv_report_collect(ctx, &opts, &err);
	g_assert_no_error(err);
	g_assert_null(r->sharing);
	g_assert_null(r->topo);
	g_assert_cmpstr(guest_by_pid(r, 1201, &iw)->group, ==, "web");
}

static void
fake_guest_free(KvGuest *g)
{
	g_free(g->name);
	g_free(g->group);
	g_free(g);
}

/* The renderers above KV_SHARING_MATRIX_MAX guests: 60 guests in 3 groups
 * (a, b, none by i % 3); guest i maps frames i and i + 1 (neighbours, of
 * different groups, share one) and 6 frames of its group's (the 20 of a
 * group share 6).  The text lists pairs, across groups first even when
 * smaller, at most 40 rows and a line counting the rest; HTML lists them
 * all; Prometheus has one series per group pair, never per guest. */
static void
test_render_many(void)
{
	const guint n = 60;
	g_autoptr(KvSharingBuilder) b = kv_sharing_builder_new(n);
	g_autofree const char **groups = g_new0(const char *, n);
	g_autoptr(GString) text = g_string_new(NULL), html = g_string_new(NULL), prom = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;
	KvReport r = { .page_size = 4096 };
	guint rows = 0, first_same = 0, last_cross = 0, series = 0;

	r.guests = g_ptr_array_new_with_free_func((GDestroyNotify)fake_guest_free);
	for (guint i = 0; i < n; i++) {
		KvGuest *g = g_new0(KvGuest, 1);
		guint64 pfns[8] = { i, i + 1 };

		for (guint k = 0; k < 6; k++)
			pfns[2 + k] = 1000 + (i % 3) * 10 + k;

		g->pid = 1000 + (int)i;
		g->name = g_strdup_printf("guest-%02u", i);
		g->group = i % 3 == 2 ? NULL : g_strdup(i % 3 ? "b" : "a");
		groups[i] = g->group;
		g_ptr_array_add(r.guests, g);
		kv_sharing_builder_add(b, i, pfns, 8);
	}
	r.sharing = kv_sharing_builder_finish(b, groups);
	kv_render_sharing_text(&r, text);
	lines = g_strsplit(text->str, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		if (!strstr(lines[i], "(pid "))
			continue;
		rows++;
		if (g_str_has_suffix(lines[i], "yes"))
			last_cross = rows;
		else if (!first_same)
			first_same = rows;
	}
	/* 59 neighbour pairs across groups share 1 frame, 3 x 190 pairs within
	 * a group 6: the 40 rows shown are all across. */
	g_assert_cmpuint(rows, ==, 40);
	g_assert_cmpuint(first_same, ==, 0);
	g_assert_cmpuint(last_cross, ==, 40);
	g_assert_nonnull(strstr(text->str, "... and 589 more pairs (--json lists them all)"));
	g_assert_nonnull(strstr(text->str, "guest-00 (pid 1000)  a       guest-01 (pid 1001)  b"));
	/* Groups: a matrix. */
	g_assert_nonnull(strstr(text->str, "GROUP   GUESTS"));
	kv_render_sharing_html(&r, html);
	g_assert_nonnull(strstr(html->str, "<td>guest-58 (pid 1058)</td><td>b</td><td>guest-59 (pid 1059)</td>"));
	kv_render_sharing_prometheus(&r, prom);
	for (const char *p = prom->str; (p = strstr(p, "\nksmvirt_group_shared_bytes{")); p++)
		series++;
	g_assert_cmpuint(series, ==, 6); /* 3 groups: 3 x 4 / 2 */
	g_assert_null(strstr(prom->str, "pid="));
	g_assert_nonnull(strstr(prom->str, "ksmvirt_group_shared_bytes{group_a=\"\",group_b=\"a\"} "));
	kv_sharing_free(r.sharing);
	g_ptr_array_unref(r.guests);
}

/* 14 guests, each in a group of its own, all mapping one frame: the
 * groups too are listed by pair (91 of them), capped. */
static void
test_render_many_groups(void)
{
	const guint n = 14;
	g_autoptr(KvSharingBuilder) b = kv_sharing_builder_new(n);
	g_autofree const char **groups = g_new0(const char *, n);
	g_autoptr(GString) text = g_string_new(NULL), html = g_string_new(NULL);
	KvReport r = { .page_size = 4096 };
	guint64 frame = 77;

	r.guests = g_ptr_array_new_with_free_func((GDestroyNotify)fake_guest_free);
	for (guint i = 0; i < n; i++) {
		KvGuest *g = g_new0(KvGuest, 1);

		g->pid = 2000 + (int)i;
		g->name = g_strdup_printf("vm%02u", i);
		g->group = g_strdup_printf("tenant-%02u", i);
		groups[i] = g->group;
		g_ptr_array_add(r.guests, g);
		kv_sharing_builder_add(b, i, &frame, 1);
	}
	r.sharing = kv_sharing_builder_finish(b, groups);
	g_assert_cmpuint(r.sharing->groups->len, ==, n);
	kv_render_sharing_text(&r, text);
	g_assert_nonnull(strstr(text->str, "GROUP      GROUP      SHARED  FRAMES  ACROSS GROUPS"));
	g_assert_nonnull(strstr(text->str, "tenant-00  tenant-01   4 KiB       1  yes"));
	/* 91 pairs of guests and 91 of groups, 40 rows of each shown. */
	g_assert_nonnull(strstr(text->str, "... and 51 more pairs"));
	g_assert_nonnull(strstr(strstr(text->str, "... and 51 more pairs") + 1, "... and 51 more pairs"));
	g_assert_nonnull(strstr(text->str, "1 distinct KSM frames (4 KiB) in guest RAM, 1 (4 KiB) mapped by guests of "
					   "different groups; 1 distinct sets of guests"));
	kv_render_sharing_html(&r, html);
	g_assert_nonnull(strstr(html->str, "<tr><td>tenant-12</td><td>tenant-13</td>"));
	kv_sharing_free(r.sharing);
	g_ptr_array_unref(r.guests);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sharing/table", test_table);
	g_test_add_func("/sharing/groups-index", test_groups_index);
	g_test_add_func("/sharing/many-words", test_many_words);
	g_test_add_func("/sharing/brute-force", test_against_brute_force);
	g_test_add_func("/sharing/census-sink", test_census_sink);
	g_test_add_func("/sharing/report-groups", test_report_groups);
	g_test_add_func("/sharing/render-many", test_render_many);
	g_test_add_func("/sharing/render-many-groups", test_render_many_groups);
	return g_test_run();
}
