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

#define WINDOW_SHIFT 15                   /* 32768 frames a window */
#define WINDOW_PFNS (1u << WINDOW_SHIFT)
#define PAGEMAP_BATCH 8192                /* entries read at once */

enum { F_KSM = 1, F_ZERO = 2 };

struct KvCensusScanner {
	const KvCtx *ctx;
	const KvNumaTopo *topo;
	int kpageflags_fd;
	guint64 n_windows;
	guint8 **windows;             /* flag byte a frame, loaded lazily */
	guint last_range;             /* locality cache for node lookup */
	guint64 *batch;
	guint64 *kpf;
};

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
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		kv_set_error_errno(error, errno, path);
		return NULL;
	}
	s = g_new0(KvCensusScanner, 1);
	s->ctx = ctx;
	s->topo = topo;
	s->kpageflags_fd = fd;
	s->n_windows = (kv_numa_max_pfn(topo) >> WINDOW_SHIFT) + 1;
	s->windows = g_new0(guint8 *, s->n_windows);
	s->batch = g_new(guint64, PAGEMAP_BATCH);
	s->kpf = g_new(guint64, WINDOW_PFNS);
	return s;
}

void
kv_census_scanner_free(KvCensusScanner *s)
{
	if (!s)
		return;
	for (guint64 i = 0; i < s->n_windows; i++)
		g_free(s->windows[i]);
	g_free(s->windows);
	g_free(s->batch);
	g_free(s->kpf);
	close(s->kpageflags_fd);
	g_free(s);
}

/* Loads the flag bytes of the window holding PFN.  Returns NULL when the
 * frame lies beyond every known range (its flags are not looked up). */
static const guint8 *
window_for(KvCensusScanner *s, guint64 pfn, GError **error)
{
	guint64 w = pfn >> WINDOW_SHIFT;
	guint8 *flags;
	ssize_t n;
	gsize got = 0;

	if (w >= s->n_windows)
		return NULL;
	if (s->windows[w])
		return s->windows[w];
	while (got < WINDOW_PFNS * sizeof(guint64)) {
		n = pread(s->kpageflags_fd, (char *)s->kpf + got,
			  WINDOW_PFNS * sizeof(guint64) - got,
			  (off_t)((w << WINDOW_SHIFT) * sizeof(guint64) + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kv_set_error_errno(error, errno, "kpageflags");
			return NULL;
		}
		if (n == 0)
			break;   /* past max_pfn: the rest reads as no page */
		got += (gsize)n;
	}
	memset((char *)s->kpf + got, 0, WINDOW_PFNS * sizeof(guint64) - got);
	flags = g_new(guint8, WINDOW_PFNS);
	for (guint i = 0; i < WINDOW_PFNS; i++) {
		guint64 f = s->kpf[i];

		flags[i] = (guint8)(((f >> KPF_KSM) & 1) ? F_KSM : 0) |
			   (guint8)(((f >> KPF_ZERO_PAGE) & 1) ? F_ZERO : 0);
	}
	s->windows[w] = flags;
	return flags;
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

gboolean
kv_census_scan(KvCensusScanner *s, int pid, guint64 start, guint64 end,
	       KvCensus *out, GError **error)
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
		for (guint64 i = 0; i < got; i++) {
			guint64 e = s->batch[i];
			guint64 pfn;
			const guint8 *win;
			KvCensusCount *slot;
			guint8 f;

			out->pages++;
			if (e & PM_SWAP) {
				out->swapped++;
				continue;
			}
			if (!(e & PM_PRESENT))
				continue;
			out->present++;
			pfn = e & PM_PFN_MASK;
			if (pfn == 0) {
				g_set_error(error, KV_ERROR, KV_ERROR_ACCESS,
					    "%s: page frame numbers are hidden (the census needs CAP_SYS_ADMIN)", path);
				close(fd);
				return FALSE;
			}
			win = window_for(s, pfn, error);
			if (!win && error && *error) {
				close(fd);
				return FALSE;
			}
			f = win ? win[pfn & (WINDOW_PFNS - 1)] : 0;
			slot = &g_array_index(out->per_node, KvCensusCount, node_slot(s, pfn));
			if (f & F_KSM) {
				slot->merged++;
				out->total.merged++;
			} else if (f & F_ZERO) {
				slot->zero++;
				out->total.zero++;
			} else {
				slot->private_++;
				out->total.private_++;
			}
		}
		vpn += got;
	}
	close(fd);
	return TRUE;
}
