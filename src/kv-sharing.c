/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-sharing.c: frames per pair of guests and of groups, through the
 * distinct sets of guests that map one frame. */
#include "kv-sharing.h"

#include <string.h>

typedef struct {
	guint64 pfn;
	guint guest;
} Entry;

struct KvSharingBuilder {
	guint n_guests;
	GArray *entries; /* Entry */
	guint64 max_pfn;
};

/* One distinct set of guests and the number of frames exactly it maps. */
typedef struct {
	guint n_words;
	guint64 frames;
	guint64 bits[];
} GuestSet;

void
kv_sharing_free(KvSharing *s)
{
	if (!s)
		return;
	g_free(s->guest_frames);
	g_free(s->guest_alone_frames);
	if (s->groups)
		g_ptr_array_unref(s->groups);
	g_free(s->guest_group);
	g_free(s->group_guests);
	g_free(s->group_frames);
	g_free(s->group_alone_frames);
	g_free(s);
}

guint64
kv_sharing_guest_frames(const KvSharing *s, guint a, guint b)
{
	return s->guest_frames[(gsize)a * s->n_guests + b];
}

guint64
kv_sharing_group_frames(const KvSharing *s, guint a, guint b)
{
	return s->group_frames[(gsize)a * s->groups->len + b];
}

gboolean
kv_sharing_cross_group(const KvSharing *s, guint a, guint b)
{
	return s->guest_group[a] != s->guest_group[b];
}

KvSharingBuilder *
kv_sharing_builder_new(guint n_guests)
{
	KvSharingBuilder *b = g_new0(KvSharingBuilder, 1);

	b->n_guests = n_guests;
	b->entries = g_array_new(FALSE, FALSE, sizeof(Entry));
	return b;
}

void
kv_sharing_builder_free(KvSharingBuilder *b)
{
	if (!b)
		return;
	g_array_unref(b->entries);
	g_free(b);
}

void
kv_sharing_builder_add(KvSharingBuilder *b, guint guest, const guint64 *pfns, gsize n_pfns)
{
	guint len;
	Entry *e;

	g_return_if_fail(guest < b->n_guests);
	len = b->entries->len;
	g_array_set_size(b->entries, len + (guint)n_pfns);
	e = &g_array_index(b->entries, Entry, 0);
	for (gsize i = 0; i < n_pfns; i++) {
		/* Runs of one frame (a guest's zero-filled pages merged
		 * into one KSM frame) cost one entry. */
		if (i > 0 && pfns[i] == pfns[i - 1])
			continue;
		e[len].pfn = pfns[i];
		e[len].guest = guest;
		len++;
		b->max_pfn = MAX(b->max_pfn, pfns[i]);
	}
	g_array_set_size(b->entries, len);
}

#define RADIX_BITS_MAX 12 /* 4096 buckets a pass */

/* LSD radix sort of E[0 .. N) by pfn, in as few passes of at most
 * RADIX_BITS_MAX bits as MAX_PFN needs (two for 64 GiB of 4 KiB pages). */
static void
sort_by_pfn(Entry *e, gsize n, guint64 max_pfn)
{
	guint bits = max_pfn ? 64 - (guint)__builtin_clzll(max_pfn) : 0;
	guint passes = (bits + RADIX_BITS_MAX - 1) / RADIX_BITS_MAX;
	guint digit = passes ? (bits + passes - 1) / passes : 0;
	guint64 mask = (G_GUINT64_CONSTANT(1) << digit) - 1;
	g_autofree Entry *tmp = g_new(Entry, MAX(n, 1));
	g_autofree gsize *count = g_new(gsize, mask + 2);
	Entry *src = e, *dst = tmp, *t;

	for (guint p = 0; p < passes; p++) {
		guint shift = p * digit;

		memset(count, 0, (mask + 2) * sizeof(gsize));
		for (gsize i = 0; i < n; i++)
			count[((src[i].pfn >> shift) & mask) + 1]++;
		for (guint64 d = 0; d <= mask; d++)
			count[d + 1] += count[d];
		for (gsize i = 0; i < n; i++)
			dst[count[(src[i].pfn >> shift) & mask]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != e)
		memcpy(e, src, n * sizeof(Entry));
}

static guint
set_hash(gconstpointer p)
{
	const GuestSet *s = p;
	guint64 h = 0xcbf29ce484222325ULL;

	for (guint i = 0; i < s->n_words; i++) {
		h ^= s->bits[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return (guint)(h ^ (h >> 32));
}

static gboolean
set_equal(gconstpointer a, gconstpointer b)
{
	const GuestSet *x = a, *y = b;

	return !memcmp(x->bits, y->bits, x->n_words * sizeof(guint64));
}

static GuestSet *
set_new(guint n_words)
{
	GuestSet *s = g_malloc0(sizeof(GuestSet) + n_words * sizeof(guint64));

	s->n_words = n_words;
	return s;
}

/* The distinct sets of guests that map a frame, each with the number of
 * frames it maps: one pass over the entries sorted by frame. */
static GHashTable *
count_sets(const Entry *e, gsize n, guint n_guests)
{
	GHashTable *sets = g_hash_table_new_full(set_hash, set_equal, g_free, NULL);
	guint n_words = (n_guests + 63) / 64;
	g_autofree GuestSet *scratch = set_new(n_words);
	GuestSet *last = NULL;

	for (gsize i = 0; i < n;) {
		gsize j = i;
		GuestSet *found;

		memset(scratch->bits, 0, n_words * sizeof(guint64));
		for (; j < n && e[j].pfn == e[i].pfn; j++)
			scratch->bits[e[j].guest / 64] |= G_GUINT64_CONSTANT(1) << (e[j].guest % 64);
		i = j;
		/* Neighbouring frames mostly have the same sharers. */
		if (last && set_equal(last, scratch)) {
			last->frames++;
			continue;
		}
		found = g_hash_table_lookup(sets, scratch);
		if (!found) {
			found = set_new(n_words);
			memcpy(found->bits, scratch->bits, n_words * sizeof(guint64));
			g_hash_table_add(sets, found);
		}
		found->frames++;
		last = found;
	}
	return sets;
}

static gint
cmp_group(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct group names of GROUPS (N entries, NULL: no group) sorted,
 * NULL first, and each guest's index among them. */
static void
index_groups(KvSharing *s, const char *const *groups)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();

	s->groups = g_ptr_array_new_with_free_func(g_free);
	s->guest_group = g_new0(guint, MAX(s->n_guests, 1));
	for (guint i = 0; i < s->n_guests; i++)
		g_ptr_array_add(names, (gpointer)(groups ? groups[i] : NULL));
	g_ptr_array_sort(names, cmp_group);
	for (guint i = 0; i < names->len; i++)
		if (i == 0 || g_strcmp0(names->pdata[i], names->pdata[i - 1]) != 0)
			g_ptr_array_add(s->groups, g_strdup(names->pdata[i]));
	s->group_guests = g_new0(guint, MAX(s->groups->len, 1));
	for (guint i = 0; i < s->n_guests; i++) {
		const char *name = groups ? groups[i] : NULL;
		guint lo = 0, hi = s->groups->len;

		while (hi - lo > 1) {
			guint mid = (lo + hi) / 2;

			if (g_strcmp0(s->groups->pdata[mid], name) <= 0)
				lo = mid;
			else
				hi = mid;
		}
		s->guest_group[i] = lo;
		s->group_guests[lo]++;
	}
}

/* Adds FRAMES to every pair of the N members M of one set in the
 * symmetric DIM x DIM matrix, and to ALONE when the set has one member. */
static void
add_pairs(guint64 *matrix, guint64 *alone, guint dim, const guint *m, guint n, guint64 frames)
{
	for (guint i = 0; i < n; i++) {
		for (guint j = i; j < n; j++) {
			matrix[(gsize)m[i] * dim + m[j]] += frames;
			if (j != i)
				matrix[(gsize)m[j] * dim + m[i]] += frames;
		}
	}
	if (n == 1)
		alone[m[0]] += frames;
}

KvSharing *
kv_sharing_builder_finish(KvSharingBuilder *b, const char *const *groups)
{
	KvSharing *s = g_new0(KvSharing, 1);
	guint n = b->n_guests, n_groups;
	g_autoptr(GHashTable) sets = NULL;
	g_autofree guint *members = NULL, *group_members = NULL;
	g_autofree gboolean *group_seen = NULL;
	GHashTableIter it;
	gpointer key;

	s->n_guests = n;
	index_groups(s, groups);
	n_groups = s->groups->len;
	s->guest_frames = g_new0(guint64, MAX((gsize)n * n, 1));
	s->guest_alone_frames = g_new0(guint64, MAX(n, 1));
	s->group_frames = g_new0(guint64, MAX((gsize)n_groups * n_groups, 1));
	s->group_alone_frames = g_new0(guint64, MAX(n_groups, 1));

	sort_by_pfn((Entry *)(gpointer)b->entries->data, b->entries->len, b->max_pfn);
	sets = count_sets((const Entry *)(gpointer)b->entries->data, b->entries->len, n);
	g_array_set_size(b->entries, 0);
	b->max_pfn = 0;

	members = g_new(guint, MAX(n, 1));
	group_members = g_new(guint, MAX(n_groups, 1));
	group_seen = g_new0(gboolean, MAX(n_groups, 1));
	g_hash_table_iter_init(&it, sets);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		const GuestSet *set = key;
		guint k = 0, gk = 0;

		for (guint w = 0; w < set->n_words; w++)
			for (guint64 bits = set->bits[w]; bits; bits &= bits - 1)
				members[k++] = w * 64 + (guint)__builtin_ctzll(bits);
		add_pairs(s->guest_frames, s->guest_alone_frames, n, members, k, set->frames);
		for (guint i = 0; i < k; i++) {
			guint grp = s->guest_group[members[i]];

			if (!group_seen[grp]) {
				group_seen[grp] = TRUE;
				group_members[gk++] = grp;
			}
		}
		for (guint i = 0; i < gk; i++)
			group_seen[group_members[i]] = FALSE;
		add_pairs(s->group_frames, s->group_alone_frames, n_groups, group_members, gk, set->frames);
		s->frames += set->frames;
		if (gk > 1)
			s->cross_group_frames += set->frames;
		s->guest_sets++;
	}
	return s;
}
