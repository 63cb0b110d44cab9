/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-census.c: pagemap + kpageflags walk. */
#include "kv-census.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define PM_PFN_MASK ((G_GUINT64_CONSTANT(1) << 55) - 1)
#define PM_SWAP (G_GUINT64_CONSTANT(1) << 62)
#define PM_PRESENT (G_GUINT64_CONSTANT(1) << 63)
#define KPF_KSM 21
#define KPF_ZERO_PAGE 24

#define PAGEMAP_BATCH 65536 /* entries read at once */
#define RUN_GAP 16          /* frames read through between needed ones */
#define RUN_MAX 4096        /* frames per kpageflags read */

/* Frame flags are looked up only for frames a walk meets: reading all of
 * /proc/kpageflags costs the kernel ~140 ns a frame, far more than the
 * walk itself.  Bitmaps over [0, max_pfn): known, KSM, zero page, and
 * the frames a pagemap batch wants looked up. */
struct KvCensusScanner {
	const KvCtx *ctx;
	const KvNumaTopo *topo;
	int kpageflags_fd;
	int kpagecount_fd;    /* -1 when unreadable: no fair share */
	GHashTable *mapcount; /* KSM frame -> map count */
	guint64 max_pfn;
	guint64 *known, *ksm, *zero, *want;
	guint last_range; /* locality cache for node lookup */
	guint64 *batch;   /* pagemap entries */
	guint64 *kpf;     /* one kpageflags read */
	guint64 *counts;  /* one kpagecount read */
	GArray *ksm_sink; /* guint64: KSM frames met, or NULL */
};

static inline gboolean
bit_get(const guint64 *map, guint64 i)
{
	return (map[i >> 6] >> (i & 63)) & 1;
}

static inline void
bit_set(guint64 *map, guint64 i)
{
	map[i >> 6] |= G_GUINT64_CONSTANT(1) << (i & 63);
}

KvCensus *
kv_census_new(const KvNumaTopo *topo)
{
	KvCensus *c = g_new0(KvCensus, 1);

	c->per_node = g_array_new(FALSE, TRUE, sizeof(KvCensusCount));
	g_array_set_size(c->per_node, topo->nodes->len + 1);
	return c;
}

void
kv_census_free(KvCensus *c)
{
	if (!c)
		return;
	g_array_unref(c->per_node);
	g_free(c);
}

static void
count_add(KvCensusCount *a, const KvCensusCount *b)
{
	a->merged += b->merged;
	a->zero += b->zero;
	a->private_ += b->private_;
}

void
kv_census_add(KvCensus *out, const KvCensus *in)
{
	out->pages += in->pages;
	out->merged_saved_pages += in->merged_saved_pages;
	out->present += in->present;
	out->swapped += in->swapped;
	count_add(&out->total, &in->total);
	for (guint i = 0; i < out->per_node->len && i < in->per_node->len; i++)
		count_add(&g_array_index(out->per_node, KvCensusCount, i),
			  &g_array_index(in->per_node, KvCensusCount, i));
}

KvCensusScanner *
kv_census_scanner_new(const KvCtx *ctx, const KvNumaTopo *topo, GError **error)
{
	g_autofree char *path = kv_ctx_path(ctx, "/proc/kpageflags");
	KvCensusScanner *s;
	gsize words;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		kv_set_error_errno(error, errno, path);
		return NULL;
	}
	s = g_new0(KvCensusScanner, 1);
	s->ctx = ctx;
	s->topo = topo;
	s->kpageflags_fd = fd;
	{
		g_autofree char *cpath = kv_ctx_path(ctx, "/proc/kpagecount");

		s->kpagecount_fd = open(cpath, O_RDONLY | O_CLOEXEC);
	}
	s->mapcount = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	s->max_pfn = kv_numa_max_pfn(topo);
	words = (gsize)(s->max_pfn / 64 + 1);
	s->known = g_new0(guint64, words);
	s->ksm = g_new0(guint64, words);
	s->zero = g_new0(guint64, words);
	s->want = g_new0(guint64, words);
	s->batch = g_new(guint64, PAGEMAP_BATCH);
	s->kpf = g_new(guint64, RUN_MAX);
	s->counts = g_new(guint64, RUN_MAX);
	return s;
}

void
kv_census_scanner_free(KvCensusScanner *s)
{
	if (!s)
		return;
	g_free(s->known);
	g_free(s->ksm);
	g_free(s->zero);
	g_free(s->want);
	g_free(s->batch);
	g_free(s->kpf);
	close(s->kpageflags_fd);
	if (s->kpagecount_fd >= 0)
		close(s->kpagecount_fd);
	g_hash_table_destroy(s->mapcount);
	g_free(s->counts);
	g_free(s);
}

gboolean
kv_census_scanner_has_mapcounts(const KvCensusScanner *s)
{
	return s->kpagecount_fd >= 0;
}

void
kv_census_scanner_set_ksm_sink(KvCensusScanner *s, GArray *sink)
{
	s->ksm_sink = sink;
}

/* Reads kpageflags for frames [FIRST, LAST] and records their flags. */
static gboolean
read_run(KvCensusScanner *s, guint64 first, guint64 last, GError **error)
{
	gsize got = 0, want = (gsize)(last - first + 1) * sizeof(guint64);

	while (got < want) {
		ssize_t r = pread(s->kpageflags_fd, (char *)s->kpf + got, want - got,
				  (off_t)(first * sizeof(guint64) + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			kv_set_error_errno(error, errno, "kpageflags");
			return FALSE;
		}
		if (r == 0)
			break;
		got += (gsize)r;
	}
	gboolean any_ksm = FALSE;

	for (guint64 k = 0; k < got / sizeof(guint64); k++) {
		guint64 pfn = first + k, f = s->kpf[k];

		if ((f >> KPF_KSM) & 1) {
			bit_set(s->ksm, pfn);
			any_ksm = TRUE;
		}
		if ((f >> KPF_ZERO_PAGE) & 1)
			bit_set(s->zero, pfn);
	}
	/* Map counts of the merged frames, for the fair share of savings. */
	if (any_ksm && s->kpagecount_fd >= 0) {
		ssize_t n = pread(s->kpagecount_fd, s->counts, got, (off_t)(first * sizeof(guint64)));

		for (guint64 k = 0; n > 0 && k < (guint64)n / sizeof(guint64); k++) {
			if ((s->kpf[k] >> KPF_KSM) & 1) {
				gint64 *key = g_new(gint64, 1);

				*key = (gint64)(first + k);
				g_hash_table_insert(s->mapcount, key,
						    GUINT_TO_POINTER((guint)MIN(s->counts[k], G_MAXUINT)));
			}
		}
	}
	/* Frames past the end of kpageflags stay "no flags". */
	for (guint64 pfn = first; pfn <= last; pfn++)
		bit_set(s->known, pfn);
	return TRUE;
}

/* Looks up the frames marked in s->want within [LO, HI], in ascending
 * order (a bitmap walk, no sort), reading runs that bridge gaps of up to
 * RUN_GAP frames.  Clears s->want. */
static gboolean
lookup_wanted(KvCensusScanner *s, guint64 lo, guint64 hi, GError **error)
{
	gboolean have_run = FALSE;
	guint64 first = 0, last = 0;

	for (guint64 w = lo >> 6; w <= hi >> 6; w++) {
		guint64 bits = s->want[w];

		s->want[w] = 0;
		while (bits) {
			guint64 pfn = (w << 6) + (guint64)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (have_run && pfn - last <= RUN_GAP && pfn - first < RUN_MAX) {
				last = pfn;
				continue;
			}
			if (have_run && !read_run(s, first, last, error))
				return FALSE;
			first = last = pfn;
			have_run = TRUE;
		}
	}
	return !have_run || read_run(s, first, last, error);
}

static guint
node_slot(KvCensusScanner *s, guint64 pfn)
{
	const GArray *ranges = s->topo->ranges;
	const KvPfnRange *r;
	int idx;

	if (s->last_range < ranges->len) {
		r = &g_array_index(ranges, KvPfnRange, s->last_range);
		if (pfn >= r->start_pfn && pfn < r->end_pfn)
			return (guint)kv_numa_node_index(s->topo, r->node);
	}
	for (guint i = 0; i < ranges->len; i++) {
		r = &g_array_index(ranges, KvPfnRange, i);
		if (pfn >= r->start_pfn && pfn < r->end_pfn) {
			s->last_range = i;
			idx = kv_numa_node_index(s->topo, r->node);
			return idx < 0 ? s->topo->nodes->len : (guint)idx;
		}
	}
	return s->topo->nodes->len;
}

/* Pass 1 over GOT pagemap entries: marks the present frames whose flags
 * are not known yet and looks them up.  Returns FALSE with ERROR. */
static gboolean
census_lookup_batch(KvCensusScanner *s, guint64 got, const char *path, GError **error)
{
	guint64 lo = G_MAXUINT64, hi = 0;

	for (guint64 i = 0; i < got; i++) {
		guint64 e = s->batch[i], pfn = e & PM_PFN_MASK;

		if ((e & (PM_PRESENT | PM_SWAP)) != PM_PRESENT)
			continue;
		if (pfn == 0) {
			g_set_error(error, KV_ERROR, KV_ERROR_ACCESS,
				    "%s: page frame numbers are hidden (the census needs CAP_SYS_ADMIN)", path);
			return FALSE;
		}
		if (pfn < s->max_pfn && !bit_get(s->known, pfn)) {
			bit_set(s->want, pfn);
			lo = MIN(lo, pfn);
			hi = MAX(hi, pfn);
		}
	}
	return lo > hi || lookup_wanted(s, lo, hi, error);
}

/* Pass 2: counts GOT pagemap entries into OUT; the KSM frames met go to
 * the sink, when there is one (room made once a batch). */
static void
census_count_batch(KvCensusScanner *s, guint64 got, KvCensus *out)
{
	guint sink_len = s->ksm_sink ? s->ksm_sink->len : 0;
	guint64 *sink = NULL;

	if (s->ksm_sink) {
		g_array_set_size(s->ksm_sink, sink_len + (guint)got);
		sink = &g_array_index(s->ksm_sink, guint64, 0);
	}
	for (guint64 i = 0; i < got; i++) {
		guint64 e = s->batch[i], pfn;
		KvCensusCount *slot;

		out->pages++;
		if (e & PM_SWAP) {
			out->swapped++;
			continue;
		}
		if (!(e & PM_PRESENT))
			continue;
		out->present++;
		pfn = e & PM_PFN_MASK;
		slot = &g_array_index(out->per_node, KvCensusCount, node_slot(s, pfn));
		if (pfn < s->max_pfn && bit_get(s->ksm, pfn)) {
			gint64 key = (gint64)pfn;
			guint k = GPOINTER_TO_UINT(g_hash_table_lookup(s->mapcount, &key));

			slot->merged++;
			out->total.merged++;
			if (k > 1)
				out->merged_saved_pages += (double)(k - 1) / (double)k;
			if (sink)
				sink[sink_len++] = pfn;
		} else if (pfn < s->max_pfn && bit_get(s->zero, pfn)) {
			slot->zero++;
			out->total.zero++;
		} else {
			slot->private_++;
			out->total.private_++;
		}
	}
	if (s->ksm_sink)
		g_array_set_size(s->ksm_sink, sink_len);
}

gboolean
kv_census_scan(KvCensusScanner *s, int pid, guint64 start, guint64 end, KvCensus *out, GError **error)
{
	g_autofree char *rel = g_strdup_printf("/proc/%d/pagemap", pid);
	g_autofree char *path = kv_ctx_path(s->ctx, rel);
	guint64 ps = s->ctx->page_size;
	guint64 vpn = start / ps, vend = (end + ps - 1) / ps;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		kv_set_error_errno(error, errno, path);
		return FALSE;
	}
	while (vpn < vend) {
		guint64 want = MIN((guint64)PAGEMAP_BATCH, vend - vpn);
		ssize_t n = pread(fd, s->batch, want * sizeof(guint64), (off_t)(vpn * sizeof(guint64)));
		guint64 got;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* ESRCH/0 bytes: the process exited under us. */
			if (n == 0)
				errno = ESRCH;
			kv_set_error_errno(error, errno, path);
			close(fd);
			return FALSE;
		}
		got = (guint64)n / sizeof(guint64);
		if (!census_lookup_batch(s, got, path, error)) {
			close(fd);
			return FALSE;
		}
		census_count_batch(s, got, out);
		vpn += got;
	}
	close(fd);
	return TRUE;
}
