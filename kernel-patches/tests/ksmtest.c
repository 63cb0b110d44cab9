// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtest: tests of KSM pages across swap-out, swap-in and migration, run
 * as root inside a throwaway VM (see kernel-patches/run-vm).  Prints TAP.
 *
 * Usage: ksmtest [--bench] [--stress-seconds N] [--timeout-scale N] [TEST...]
 *
 * Every test forks "sharers": processes that map the same content in a
 * private anonymous area marked MADV_MERGEABLE.  The test process drives
 * them over pipes (read and verify, write, unmerge, fork, exit) and looks at
 * them from outside (/proc/PID/pagemap, the memory cgroup, /proc/vmstat).
 *
 * Build: gcc -static -O2 -Wall -Wextra -Werror -o ksmtest ksmtest.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE_B 4096UL
#define WORDS_PER_PAGE (PAGE_SIZE_B / sizeof(uint64_t))
#define KSM_DIR "/sys/kernel/mm/ksm/"
#define CG_ROOT "/sys/fs/cgroup"
#define CG_DIR CG_ROOT "/ksmtest"
#define MPOL_MF_MOVE_ALL_FLAG (1 << 2)
#define MAX_SHARERS 16

/* ------------------------------------------------------------------ util */

static void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Every timeout of the tests (the per-test alarm and each wait for ksmd,
 * reclaim or sharing) is multiplied by this (--timeout-scale): a kernel
 * built with KASAN and lockdep runs the same work many times slower.
 */
static unsigned int timeout_scale = 1;

/* CLOCK_MONOTONIC time timeout_s (scaled) from now, in ns */
static uint64_t deadline_ns(int timeout_s)
{
	return now_ns() +
	       (uint64_t)timeout_s * timeout_scale * 1000000000ULL;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static long long read_ll(const char *path)
{
	char buf[64];

	if (read_str(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

/* value of "key value" line in a file such as /proc/vmstat, -1 if absent */
static long long read_keyed(const char *path, const char *key)
{
	static char buf[65536];
	size_t klen = strlen(key);
	char *p;

	if (read_str(path, buf, sizeof(buf)))
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return atoll(p + klen + 1);
	}
	return -1;
}

static long long vmstat(const char *key)
{
	return read_keyed("/proc/vmstat", key);
}

static long long ksm_get(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	return read_ll(path);
}

static int ksm_set(const char *name, long long val)
{
	char path[128], v[32];

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	snprintf(v, sizeof(v), "%lld", val);
	return write_str(path, v);
}

static long long cg_anon_kib(void)
{
	long long b = read_keyed(CG_DIR "/memory.stat", "anon");

	return b < 0 ? -1 : b / 1024;
}

/* ----------------------------------------------------------- page content */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Word w of page i in data set seed: distinct pages, hard to compress. */
static uint64_t content_word(uint64_t seed, size_t page, size_t w)
{
	return mix64((seed << 40) ^ ((uint64_t)page << 9) ^ w);
}

static void fill_page(uint64_t *p, uint64_t seed, size_t page)
{
	for (size_t w = 0; w < WORDS_PER_PAGE; w++)
		p[w] = content_word(seed, page, w);
}

/* marker != 0: word 0 was overwritten with marker by a private write */
static int check_page(const uint64_t *p, uint64_t seed, size_t page,
		      uint64_t marker)
{
	size_t w = 0;

	if (marker) {
		if (p[0] != marker)
			return 1;
		w = 1;
	}
	for (; w < WORDS_PER_PAGE; w++)
		if (p[w] != content_word(seed, page, w))
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- sharers */

struct sharer {
	pid_t pid;
	int cmd_fd;
	int res_fd;
	uintptr_t addr;		/* start of the area in the sharer */
	size_t pages;
	int alive;
};

struct sharer_area {
	uint64_t *base;
	size_t pages;
	uint64_t seed;
	uint64_t marker;
	int id;
	/* pages [moved_from, moved_from + moved_pages) now at moved (mremap) */
	uint64_t *moved;
	size_t moved_pages;
	size_t moved_from;
};

static int64_t sharer_verify(struct sharer_area *a, size_t from, size_t to)
{
	int64_t bad = 0;

	for (size_t i = from; i < to; i++)
		bad += check_page(a->base + i * WORDS_PER_PAGE, a->seed, i,
				  a->marker);
	for (size_t i = 0; i < a->moved_pages; i++)
		bad += check_page(a->moved + i * WORDS_PER_PAGE, a->seed,
				  a->moved_from + i, a->marker);
	return bad;
}

/* mremap the upper half of the area to a new address */
static int64_t sharer_move_half(struct sharer_area *a)
{
	size_t keep = a->pages / 2, n = a->pages - keep;
	void *to, *moved;

	/* reserve a place that is surely not next to the area */
	to = mmap(NULL, (n + 512) * PAGE_SIZE_B, PROT_NONE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED)
		return -errno;
	moved = mremap(a->base + keep * WORDS_PER_PAGE, n * PAGE_SIZE_B,
		       n * PAGE_SIZE_B, MREMAP_MAYMOVE | MREMAP_FIXED,
		       (char *)to + 256 * PAGE_SIZE_B);
	if (moved == MAP_FAILED)
		return -errno;
	a->moved = moved;
	a->moved_pages = n;
	a->moved_from = keep;
	a->pages = keep;
	return 0;
}

static int64_t sharer_cmd_local(struct sharer_area *a, char cmd)
{
	pid_t pid;
	int status;

	switch (cmd) {
	case 'R':	/* read back and verify everything */
		return sharer_verify(a, 0, a->pages);
	case 'W':	/* write every page: COW must give a private copy */
		a->marker = 0xc0c0000000000000ULL | (uint64_t)(a->id + 1);
		for (size_t i = 0; i < a->pages; i++)
			a->base[i * WORDS_PER_PAGE] = a->marker;
		for (size_t i = 0; i < a->moved_pages; i++)
			a->moved[i * WORDS_PER_PAGE] = a->marker;
		return sharer_verify(a, 0, a->pages);
	case 'U':
		return madvise(a->base, a->pages * PAGE_SIZE_B,
			       MADV_UNMERGEABLE) ? -errno : 0;
	case 'H':	/* unmap the upper half */
		if (munmap(a->base + (a->pages / 2) * WORDS_PER_PAGE,
			   (a->pages - a->pages / 2) * PAGE_SIZE_B))
			return -errno;
		a->pages /= 2;
		return 0;
	case 'm':	/* mremap the upper half elsewhere */
		return sharer_move_half(a);
	case 'u':	/* MADV_UNMERGEABLE on the upper half */
	case 'd':	/* MADV_DONTNEED on the upper half: zeroes */
		if (madvise(a->base + (a->pages / 2) * WORDS_PER_PAGE,
			    (a->pages - a->pages / 2) * PAGE_SIZE_B,
			    cmd == 'u' ? MADV_UNMERGEABLE : MADV_DONTNEED))
			return -errno;
		a->pages /= 2;
		return 0;
	case 'F':	/* fork a child that reads everything back */
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0)
			_exit(sharer_verify(a, 0, a->pages) ? 1 : 0);
		if (waitpid(pid, &status, 0) < 0)
			return -errno;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 1000;
	default:
		return -EINVAL;
	}
}

/* NUMA node the sharers' memory is bound to (MPOL_BIND), -1: none */
static int sharer_node = -1;
/* memory cgroup new sharers join */
static const char *sharer_cgroup = CG_DIR;

static void sharer_main(int cmd_fd, int res_fd, int id, size_t pages,
			uint64_t seed, int thp)
{
	struct sharer_area a = { .pages = pages, .seed = seed, .id = id };
	size_t len = pages * PAGE_SIZE_B, align = 2UL << 20;
	uint64_t reply[2];
	char pid[32], procs[160];
	char *raw;
	char cmd;

	/* sharers, not the test runner, live in the test memory cgroup */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", sharer_cgroup);
	if (write_str(procs, pid))
		_exit(6);
	if (sharer_node >= 0) {
		unsigned long mask = 1UL << sharer_node;

		/* MPOL_BIND is 2 */
		if (syscall(SYS_set_mempolicy, 2, &mask, 8 * sizeof(mask)))
			_exit(7);
	}
	raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		_exit(2);
	a.base = (uint64_t *)(((uintptr_t)raw + align - 1) & ~(align - 1));
	madvise(a.base, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages; i++)
		fill_page(a.base + i * WORDS_PER_PAGE, seed, i);
	if (madvise(a.base, len, MADV_MERGEABLE))
		_exit(3);
	reply[0] = (uintptr_t)a.base;
	reply[1] = 0;
	if (write(res_fd, reply, sizeof(reply)) != sizeof(reply))
		_exit(4);
	while (read(cmd_fd, &cmd, 1) == 1) {
		if (cmd == 'Q')
			break;
		reply[0] = (uint64_t)sharer_cmd_local(&a, cmd);
		if (write(res_fd, reply, sizeof(reply)) != sizeof(reply))
			_exit(5);
	}
	_exit(0);
}

static int sharer_start(struct sharer *s, int id, size_t pages, uint64_t seed,
			int thp)
{
	int cmd[2], res[2];
	uint64_t reply[2];

	if (pipe(cmd) || pipe(res))
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		close(cmd[1]);
		close(res[0]);
		sharer_main(cmd[0], res[1], id, pages, seed, thp);
	}
	close(cmd[0]);
	close(res[1]);
	s->cmd_fd = cmd[1];
	s->res_fd = res[0];
	s->pages = pages;
	if (read(s->res_fd, reply, sizeof(reply)) != sizeof(reply))
		return -EIO;
	s->addr = (uintptr_t)reply[0];
	s->alive = 1;
	return 0;
}

static int sharer_send(struct sharer *s, char cmd)
{
	return write(s->cmd_fd, &cmd, 1) == 1 ? 0 : -EIO;
}

static int64_t sharer_wait(struct sharer *s)
{
	uint64_t reply[2];

	if (read(s->res_fd, reply, sizeof(reply)) != sizeof(reply))
		return -EIO;
	return (int64_t)reply[0];
}

static int64_t sharer_cmd(struct sharer *s, char cmd)
{
	int64_t r = sharer_send(s, cmd);

	return r ? r : sharer_wait(s);
}

static void sharer_stop(struct sharer *s)
{
	int status;

	if (!s->alive)
		return;
	sharer_send(s, 'Q');
	close(s->cmd_fd);
	close(s->res_fd);
	waitpid(s->pid, &status, 0);
	s->alive = 0;
}

static void sharer_kill(struct sharer *s)
{
	int status;

	if (!s->alive)
		return;
	kill(s->pid, SIGKILL);
	close(s->cmd_fd);
	close(s->res_fd);
	waitpid(s->pid, &status, 0);
	s->alive = 0;
}

/* Send cmd to all live sharers at once, then collect: concurrent faults. */
static int64_t sharers_all(struct sharer *s, int n, char cmd, uint64_t *ns)
{
	uint64_t t0 = now_ns();
	int64_t sum = 0, r;

	for (int i = 0; i < n; i++)
		if (s[i].alive && sharer_send(&s[i], cmd))
			return -EIO;
	for (int i = 0; i < n; i++) {
		if (!s[i].alive)
			continue;
		r = sharer_wait(&s[i]);
		if (r < 0)
			return r;
		sum += r;
	}
	if (ns)
		*ns = now_ns() - t0;
	return sum;
}

/* ---------------------------------------------------------------- pagemap */

#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_PFN_MASK ((1ULL << 55) - 1)

/* Read pagemap entries of pages [0, n) of sharer s into out. */
static int sharer_pagemap(struct sharer *s, size_t n, uint64_t *out)
{
	char path[64];
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)s->pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	got = pread(fd, out, n * sizeof(uint64_t),
		    (off_t)(s->addr / PAGE_SIZE_B * sizeof(uint64_t)));
	close(fd);
	return got == (ssize_t)(n * sizeof(uint64_t)) ? 0 : -EIO;
}

static size_t count_swapped(struct sharer *s, size_t n)
{
	uint64_t *pm = calloc(n, sizeof(*pm));
	size_t c = 0;

	if (pm && !sharer_pagemap(s, n, pm))
		for (size_t i = 0; i < n; i++)
			c += (pm[i] & PM_SWAP) != 0;
	free(pm);
	return c;
}

/* Pages present at the same pfn in every live sharer. */
static size_t count_shared(struct sharer *s, int ns, size_t n)
{
	uint64_t *ref = calloc(n, sizeof(*ref)), *pm = calloc(n, sizeof(*pm));
	size_t c = 0;
	int first = -1;

	if (!ref || !pm)
		goto out;
	for (int k = 0; k < ns; k++) {
		if (!s[k].alive)
			continue;
		if (first < 0) {
			if (sharer_pagemap(&s[k], n, ref))
				goto out;
			first = k;
			continue;
		}
		if (sharer_pagemap(&s[k], n, pm))
			goto out;
		for (size_t i = 0; i < n; i++)
			if (!(pm[i] & PM_PRESENT) ||
			    (pm[i] & PM_PFN_MASK) != (ref[i] & PM_PFN_MASK))
				ref[i] = 0;
	}
	for (size_t i = 0; i < n; i++)
		c += (ref[i] & PM_PRESENT) != 0;
out:
	free(ref);
	free(pm);
	return c;
}

/* ----------------------------------------------------------- ksm and swap */

struct ksm_saved {
	long long run, pages_to_scan, sleep_ms, max_sharing;
};

static struct ksm_saved ksm_saved;

static void ksm_fast(void)
{
	ksm_set("pages_to_scan", 10000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
}

/* Wait until pages_sharing grows by want; returns 0 or -ETIMEDOUT. */
static int wait_sharing(long long want, int timeout_s)
{
	uint64_t end = deadline_ns(timeout_s);

	while (now_ns() < end) {
		if (ksm_get("pages_sharing") >= want)
			return 0;
		sleep_ms(100);
	}
	diag("pages_sharing %lld, wanted %lld", ksm_get("pages_sharing"),
	     want);
	return -ETIMEDOUT;
}

/*
 * Push the sharers' memory out to swap with repeated memory.reclaim: a
 * single pass mostly activates merged pages.  Succeeds when at least 99% of
 * sharer s's pages are swapped out.
 */
static int swap_out(struct sharer *s, size_t n, int timeout_s)
{
	uint64_t end = deadline_ns(timeout_s);
	size_t sw = 0;

	while (now_ns() < end) {
		write_str(CG_DIR "/memory.reclaim", "512M");
		sw = count_swapped(s, n);
		if (sw * 100 >= n * 99)
			return 0;
		sleep_ms(50);
	}
	diag("only %zu of %zu pages swapped out", sw, n);
	return -ETIMEDOUT;
}

static int cg_setup(void)
{
	if (mkdir(CG_DIR, 0755) && errno != EEXIST)
		return -errno;
	return write_str(CG_DIR "/memory.max", "max");
}

/* Wait for ksmd to forget every merged page: no sharers are left. */
static int wait_ksm_idle(int timeout_s)
{
	uint64_t end = deadline_ns(timeout_s);

	ksm_fast();
	while (now_ns() < end) {
		if (!ksm_get("pages_shared") && !ksm_get("pages_sharing"))
			return 0;
		sleep_ms(100);
	}
	return -ETIMEDOUT;
}

/* ------------------------------------------------------------------ tests */

struct result {
	int fails;
};

static void expect(struct result *r, int cond, const char *fmt, ...)
{
	va_list ap;

	if (cond)
		return;
	r->fails++;
	va_start(ap, fmt);
	printf("# FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* per sharer of the next group: NUMA node and memory cgroup (or NULL) */
static const int *group_nodes;
static const char *const *group_cgroups;

/*
 * Start n sharers and wait until pages_sharing reaches want (default
 * (n - 1) * pages, all merged into one KSM page each), at 99%.
 */
static int start_group_want(struct sharer *s, int n, size_t pages,
			    uint64_t seed, int thp, long long want,
			    struct result *r)
{
	if (wait_ksm_idle(60)) {
		expect(r, 0, "KSM still has pages_shared %lld pages_sharing %lld with no sharers",
		       ksm_get("pages_shared"), ksm_get("pages_sharing"));
		return -EBUSY;
	}
	for (int i = 0; i < n; i++) {
		int err, node = sharer_node;
		const char *cg = sharer_cgroup;

		if (group_nodes)
			sharer_node = group_nodes[i];
		if (group_cgroups)
			sharer_cgroup = group_cgroups[i];
		err = sharer_start(&s[i], i, pages, seed, thp);
		sharer_node = node;
		sharer_cgroup = cg;
		if (err) {
			expect(r, 0, "cannot start sharer %d: %d", i, err);
			return err;
		}
	}
	ksm_fast();
	if (want < 0)
		want = (long long)(n - 1) * (long long)pages;
	if (wait_sharing(want * 99 / 100, 240)) {
		expect(r, 0, "pages did not merge");
		return -ETIMEDOUT;
	}
	return 0;
}

static int start_group(struct sharer *s, int n, size_t pages, uint64_t seed,
		       int thp, struct result *r)
{
	return start_group_want(s, n, pages, seed, thp, -1, r);
}

static void stop_group(struct sharer *s, int n)
{
	for (int i = 0; i < n; i++)
		sharer_stop(&s[i]);
}

/*
 * share: four processes share 64 MiB; swap it all out; read it all back at
 * once.  The page must stay shared: memory about 1x, copies <= 1%.
 */
static int bench_mode;

static void test_share(struct result *r, int nproc, size_t pages)
{
	struct sharer s[MAX_SHARERS] = { 0 };
	long long copy0, shared0, copies, restored, anon_before, anon_after;
	long long anon_cow, recover_ms = 0;
	size_t shared;
	uint64_t ns;
	int64_t bad;

	if (start_group(s, nproc, pages, 1, 0, r))
		goto out;
	anon_before = cg_anon_kib();
	/* slow ksmd down: it must not be what re-merges the pages below */
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 180)) {
		expect(r, 0, "could not swap out the merged pages");
		goto out;
	}
	copy0 = vmstat("ksm_swpin_copy");
	shared0 = vmstat("ksm_swpin_shared");
	bad = sharers_all(s, nproc, 'R', &ns);
	copies = vmstat("ksm_swpin_copy") - copy0;
	restored = shared0 < 0 ? -1 : vmstat("ksm_swpin_shared") - shared0;
	anon_after = cg_anon_kib();
	shared = count_shared(s, nproc, pages);
	diag("share: %d procs x %zu pages, anon before swap-out %lld KiB, after swap-in %lld KiB (%.2fx of one copy)",
	     nproc, pages, anon_before, anon_after,
	     (double)anon_after / (double)(pages * 4));
	if (restored < 0)
		diag("share: ksm_swpin_copy +%lld, no ksm_swpin_shared counter, pages shared by all after swap-in %zu",
		     copies, shared);
	else
		diag("share: ksm_swpin_copy +%lld, ksm_swpin_shared +%lld, pages shared by all after swap-in %zu",
		     copies, restored, shared);
	diag("share: swap-in of %zu pages by %d procs at once took %.1f ms, %.1f us per page fault",
	     pages, nproc, (double)ns / 1e6,
	     (double)ns / 1e3 / (double)(pages * (size_t)nproc));
	if (bench_mode) {
		/*
		 * Recovery: ksmd at the kernel's defaults re-merges what swap-in
		 * copied; time until 99% of the pages are shared by all again
		 * (0 when swap-in kept them shared), at most 300 s.
		 */
		uint64_t t0 = now_ns(), limit = 300ULL * 1000000000ULL;
		size_t now_shared = shared;

		ksm_set("pages_to_scan", 100);
		ksm_set("sleep_millisecs", 20);
		while (now_shared * 100 < pages * 99 && now_ns() - t0 < limit) {
			sleep_ms(500);
			now_shared = count_shared(s, nproc, pages);
		}
		recover_ms = now_shared * 100 >= pages * 99 ?
			     (long long)((now_ns() - t0) / 1000000ULL) : -1;
		diag("share: %zu of %zu pages shared by all %.1f s after swap-in (ksmd at 100 pages / 20 ms)%s",
		     now_shared, pages, (double)(now_ns() - t0) / 1e9,
		     recover_ms < 0 ? ": not recovered" : "");
		/* slow again for the copy-on-write check below */
		ksm_set("sleep_millisecs", 1000);
	}
	printf("BENCH swapin procs=%d pages=%zu ns=%" PRIu64 " anon_kib=%lld copies=%lld shared=%zu recover_ms=%lld\n",
	       nproc, pages, ns, anon_after, copies, shared, recover_ms);
	expect(r, bad == 0, "%lld pages read back wrong", (long long)bad);
	if (!bench_mode) {
		expect(r, copies * 100 <= (long long)pages,
		       "ksm_swpin_copy grew by %lld (> 1%% of %zu pages)",
		       copies, pages);
		expect(r, anon_after * 100 <= (long long)pages * 4 * 125,
		       "memory after swap-in %lld KiB > 1.25x of %zu KiB",
		       anon_after, pages * 4);
		expect(r, shared * 100 >= pages * 99,
		       "only %zu of %zu pages shared after swap-in", shared,
		       pages);
	}
	/* every process writes every page: private copies, right content */
	bad = sharers_all(s, nproc, 'W', NULL);
	expect(r, bad == 0, "%lld pages wrong after COW", (long long)bad);
	anon_cow = cg_anon_kib();
	diag("share: anon after every process wrote every page %lld KiB",
	     anon_cow);
	expect(r, anon_cow * 100 >= (long long)(pages * 4) * nproc * 95,
	       "writes did not give private copies (anon %lld KiB)", anon_cow);
	expect(r, count_shared(s, nproc, pages) == 0,
	       "pages still shared after every process wrote them");
out:
	stop_group(s, nproc);
}

static long sys_move_pages(pid_t pid, unsigned long n, void **pages,
			   const int *nodes, int *status, int flags)
{
	return syscall(SYS_move_pages, pid, n, pages, nodes, status, flags);
}

/* Move all n pages of s to node (or query with node < 0); count on node. */
static long move_all(struct sharer *s, size_t n, int node, int want_node)
{
	void **pages = calloc(n, sizeof(void *));
	int *nodes = calloc(n, sizeof(int)), *status = calloc(n, sizeof(int));
	long on = -1, ret = 0;

	if (!pages || !nodes || !status)
		goto out;
	for (size_t i = 0; i < n; i++) {
		pages[i] = (void *)(s->addr + i * PAGE_SIZE_B);
		nodes[i] = node;
	}
	/*
	 * A page can fail to migrate for a moment (a transient reference, say
	 * ksmd's); then move_pages() returns how many failed and leaves status
	 * unset.  Try again: pages already there stay put.  A slower kernel
	 * (--timeout-scale) gets as many more tries.
	 */
	for (int tries = 0; tries < 10 * (int)timeout_scale; tries++) {
		ret = sys_move_pages(s->pid, n, pages,
				     node < 0 ? NULL : nodes, status,
				     node < 0 ? 0 : MPOL_MF_MOVE_ALL_FLAG);
		if (ret <= 0)
			break;
		diag("move_pages: %ld pages not moved, again", ret);
		sleep_ms(100);
	}
	if (ret < 0) {
		diag("move_pages: %s", strerror(errno));
		goto out;
	}
	on = 0;
	for (size_t i = 0; i < n; i++)
		on += status[i] == want_node;
	if (on < (long)n) {
		int other = 0, first = 0;

		for (size_t i = 0; i < n; i++)
			if (status[i] != want_node && !other++)
				first = status[i];
		diag("move_pages: %d pages not on node %d, e.g. status %d",
		     other, want_node, first);
	}
out:
	free(pages);
	free(nodes);
	free(status);
	return on;
}

static long sys_migrate_pages(pid_t pid, int from, int to)
{
	unsigned long old = 1UL << from, new = 1UL << to;

	return syscall(SYS_migrate_pages, pid, 8 * sizeof(unsigned long), &old,
		       &new);
}

/* migrate: merged pages move between nodes before and after swap-in. */
static void test_migrate(struct result *r)
{
	const size_t pages = 4096;
	struct sharer s[3] = { 0 };
	long long copies;
	long on;

	if (start_group(s, 3, pages, 2, 0, r))
		goto out;
	on = move_all(&s[0], pages, 1, 1);
	expect(r, on >= (long)pages * 99 / 100,
	       "move_pages(MOVE_ALL) of merged pages to node 1: %ld", on);
	on = move_all(&s[1], pages, -1, 1);
	expect(r, on >= (long)pages * 99 / 100,
	       "other sharer does not see pages on node 1: %ld", on);
	expect(r, sharers_all(s, 3, 'R', NULL) == 0, "content after move");
	expect(r, count_shared(s, 3, pages) >= pages * 99 / 100,
	       "pages not shared after move_pages");
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	copies = vmstat("ksm_swpin_copy");
	expect(r, sharers_all(s, 3, 'R', NULL) == 0, "content after swap-in");
	diag("migrate: %zu of %zu pages shared after swap-in, %lld copies",
	     count_shared(s, 3, pages), pages,
	     vmstat("ksm_swpin_copy") - copies);
	/* after swap-in: back to node 0 with migrate_pages, then node 1 */
	for (int i = 0; i < 3; i++)
		expect(r, sys_migrate_pages(s[i].pid, 1, 0) >= 0,
		       "migrate_pages: %s", strerror(errno));
	on = move_all(&s[2], pages, -1, 0);
	expect(r, on >= (long)pages * 99 / 100,
	       "migrate_pages to node 0: %ld of %zu there", on, pages);
	on = move_all(&s[2], pages, 1, 1);
	expect(r, on >= (long)pages * 99 / 100,
	       "move_pages(MOVE_ALL) after swap-in: %ld", on);
	expect(r, sharers_all(s, 3, 'R', NULL) == 0, "content after migration");
	diag("migrate: %zu of %zu pages shared after migration",
	     count_shared(s, 3, pages), pages);
out:
	stop_group(s, 3);
}

/* fork: a sharer forks after merge; child and parent read back swapped. */
static void test_fork(struct result *r)
{
	const size_t pages = 2048;
	struct sharer s[2] = { 0 };

	if (start_group(s, 2, pages, 3, 0, r))
		goto out;
	expect(r, sharer_cmd(&s[0], 'F') == 0, "forked child read wrong data");
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, sharer_cmd(&s[1], 'F') == 0,
	       "child forked while swapped read wrong data");
	expect(r, sharers_all(s, 2, 'R', NULL) == 0, "content after swap-in");
	expect(r, sharers_all(s, 2, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 2);
}

/* exit: some sharers exit or unmap while their pages are swapped out. */
static void test_exit(struct result *r)
{
	const size_t pages = 2048;
	struct sharer s[4] = { 0 };

	if (start_group(s, 4, pages, 4, 0, r))
		goto out;
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	sharer_kill(&s[0]);
	expect(r, sharer_cmd(&s[1], 'H') == 0, "munmap");
	sleep_ms(500);	/* let ksmd run over the remains */
	expect(r, sharers_all(s, 4, 'R', NULL) == 0, "content after swap-in");
	expect(r, sharers_all(s, 4, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 4);
}

/* unmerge: MADV_UNMERGEABLE in one sharer, then run=2, while swapped. */
static void test_unmerge(struct result *r)
{
	const size_t pages = 2048;
	struct sharer s[3] = { 0 };
	uint64_t *pm = calloc(pages, sizeof(*pm));

	if (start_group(s, 3, pages, 5, 0, r))
		goto out;
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, sharer_cmd(&s[0], 'U') == 0, "MADV_UNMERGEABLE");
	expect(r, sharers_all(s, 3, 'R', NULL) == 0, "content after swap-in");
	/* the unmerged area must not map pages shared with the others */
	expect(r, count_shared(s, 3, pages) == 0,
	       "unmerged area shares pages after swap-in");
	stop_group(s, 3);

	if (start_group(s, 3, pages, 6, 0, r))
		goto out;
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, ksm_set("run", 2) == 0, "run=2");
	expect(r, sharers_all(s, 3, 'R', NULL) == 0,
	       "content after run=2 and swap-in");
	expect(r, ksm_get("pages_shared") == 0,
	       "pages_shared %lld after run=2", ksm_get("pages_shared"));
	expect(r, count_shared(s, 3, pages) == 0,
	       "pages shared after run=2 and swap-in");
	ksm_set("run", 1);
out:
	stop_group(s, 3);
	free(pm);
}

/* memcg: swap-in under a memory.max smaller than the data. */
static void test_memcg(struct result *r)
{
	const size_t pages = 2048;
	struct sharer s[3] = { 0 };

	if (start_group(s, 3, pages, 7, 0, r))
		goto out;
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	write_str(CG_DIR "/memory.max", "16M");
	expect(r, sharers_all(s, 3, 'R', NULL) == 0,
	       "content after swap-in under memory.max");
	expect(r, sharers_all(s, 3, 'W', NULL) == 0,
	       "content after COW under memory.max");
	write_str(CG_DIR "/memory.max", "max");
out:
	stop_group(s, 3);
	write_str(CG_DIR "/memory.max", "max");
}

/* many: eight processes fault the same swapped pages at once. */
static void test_many(struct result *r)
{
	const size_t pages = 2048;
	struct sharer s[8] = { 0 };

	if (start_group(s, 8, pages, 8, 0, r))
		goto out;
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, sharers_all(s, 8, 'R', NULL) == 0, "content after swap-in");
	diag("many: %zu of %zu pages shared by all 8 after swap-in",
	     count_shared(s, 8, pages), pages);
	expect(r, sharers_all(s, 8, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 8);
}

/* thp: areas start as transparent huge pages, ksmd splits them to merge. */
static void test_thp(struct result *r)
{
	const size_t pages = 4096;
	struct sharer s[2] = { 0 };

	write_str("/sys/kernel/mm/transparent_hugepage/enabled", "madvise");
	if (start_group(s, 2, pages, 9, 1, r))
		goto out;
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, sharers_all(s, 2, 'R', NULL) == 0, "content after swap-in");
	expect(r, sharers_all(s, 2, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 2);
}

/* ---------------------------------------------- memory offline, slab */

/* Wait for ksmd to complete n more full scans; 0 or -ETIMEDOUT. */
static int wait_full_scans(int n, int timeout_s)
{
	uint64_t end = deadline_ns(timeout_s);
	long long want = ksm_get("full_scans") + n;

	ksm_fast();
	while (now_ns() < end) {
		if (ksm_get("full_scans") >= want)
			return 0;
		sleep_ms(100);
	}
	diag("ksmd did not complete %d full scans in %d s", n, timeout_s);
	return -ETIMEDOUT;
}

/*
 * Objects in use in slab cache name (/proc/slabinfo active_objs, after
 * the cache's per-CPU slabs are flushed; the VM boots with slab_nomerge so
 * that KSM's caches are listed apart), -1 if it is not listed.
 */
static long long slab_active(const char *name)
{
	static char buf[1 << 17];
	size_t len = strlen(name);
	char shrink[96];
	char *p;

	/* free objects cached per CPU would count as active: flush them */
	snprintf(shrink, sizeof(shrink), "/sys/kernel/slab/%s/shrink", name);
	write_str(shrink, "1");
	if (read_str("/proc/slabinfo", buf, sizeof(buf)))
		return -1;
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, name, len) && p[len] == ' ')
			return atoll(p + len);
	}
	return -1;
}

/*
 * With no sharers left, have KSM drop every stable node: mainline leaves
 * a node whose last rmap_item went in the stable tree until a search meets
 * it stale, so slab counts are compared after run=2 (which frees them all).
 */
static void ksm_drop_stale(void)
{
	ksm_set("run", 2);
	ksm_fast();
}

/* "key N" from /proc/PID/ksm_stat, -1 if absent */
static long long ksm_stat(struct sharer *s, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)s->pid);
	return read_keyed(path, key);
}

static long long memory_block_bytes(void)
{
	char buf[64];

	if (read_str("/sys/devices/system/memory/block_size_bytes", buf,
		     sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 16);
}

static int memory_block_set(long block, const char *state)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%ld/state",
		 block);
	return write_str(path, state);
}

#define MAX_BLOCKS 4096

/*
 * Merge three sharers' pages, note the memory blocks of the KSM pages,
 * swap them out and offline the block that held most of them and lets
 * itself go offline.  Returns the block, or -1 (the group is left running
 * either way).
 */
static long offline_ksm_block(struct result *r, struct sharer *s, size_t pages,
			      uint64_t seed, long long block_b)
{
	uint64_t *pm = calloc(pages, sizeof(*pm));
	long *ksm_in_block = calloc(MAX_BLOCKS, sizeof(long));
	long offlined = -1, best;
	int err;

	if (!pm || !ksm_in_block) {
		expect(r, 0, "out of memory");
		goto out;
	}
	if (start_group(s, 3, pages, seed, 0, r))
		goto out;
	/* where the KSM pages are: the pfn all three map */
	expect(r, count_shared(s, 3, pages) >= pages * 99 / 100,
	       "pages not shared after merge");
	if (sharer_pagemap(&s[0], pages, pm)) {
		expect(r, 0, "pagemap");
		goto out;
	}
	for (size_t i = 0; i < pages; i++) {
		uint64_t blk;

		if (!(pm[i] & PM_PRESENT))
			continue;
		blk = (pm[i] & PM_PFN_MASK) * PAGE_SIZE_B / (uint64_t)block_b;
		if (blk < MAX_BLOCKS)
			ksm_in_block[blk]++;
	}
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 180)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	/*
	 * A block that spans two zones (EINVAL) or holds boot-time
	 * allocations (EBUSY) cannot go offline: try the next one.
	 */
	for (;;) {
		best = -1;
		for (long b = 0; b < MAX_BLOCKS; b++)
			if (ksm_in_block[b] > 0 &&
			    (best < 0 || ksm_in_block[b] > ksm_in_block[best]))
				best = b;
		if (best < 0)
			break;
		err = memory_block_set(best, "offline");
		diag("offline: memory%ld held %ld KSM pages: offline %s",
		     best, ksm_in_block[best], err ? strerror(-err) : "done");
		if (!err) {
			offlined = best;
			break;
		}
		ksm_in_block[best] = 0;
	}
out:
	free(pm);
	free(ksm_in_block);
	return offlined;
}

/*
 * offline: merged pages in a movable memory block are swapped out, the
 * block goes offline (its memmap poisoned), then a sharer is killed, so
 * ksmd removes that sharer's rmap_items: it must not look at the old
 * page of a swapped-out page.  The others must read and write their
 * content correctly.  The VM boots with movablecore=, so that user pages
 * land in blocks that can go offline; where the pages landed is up to the
 * page allocator, so a group whose blocks cannot go offline is replaced.
 */
static void test_offline(struct result *r)
{
	const size_t pages = 4096;
	struct sharer s[3] = { 0 };
	long long block_b = memory_block_bytes();
	long offlined = -1;

	if (block_b <= 0) {
		expect(r, 0, "no memory blocks in sysfs (CONFIG_MEMORY_HOTPLUG)");
		return;
	}
	/*
	 * On node 1 (no memory holes below it) the movable zone starts on a
	 * block boundary; node 0's first movable block also holds Normal
	 * pages and cannot go offline.
	 */
	sharer_node = 1;
	for (int attempt = 0; attempt < 4 && offlined < 0 && !r->fails;
	     attempt++) {
		offlined = offline_ksm_block(r, s, pages, 11 + (uint64_t)attempt,
					     block_b);
		if (offlined < 0)
			stop_group(s, 3);
	}
	sharer_node = -1;
	expect(r, offlined >= 0, "no memory block holding KSM pages went offline");
	if (offlined < 0)
		goto out;
	/* ksmd removes the killed sharer's rmap_items */
	sharer_kill(&s[1]);
	expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled after offline");
	expect(r, sharers_all(s, 3, 'R', NULL) == 0,
	       "content after offline, exit and swap-in");
	expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled after swap-in");
	expect(r, sharers_all(s, 3, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 3);
	if (offlined >= 0)
		expect(r, memory_block_set(offlined, "online_movable") == 0,
		       "memory%ld does not come back online", offlined);
}

/*
 * drop: one of three sharers gives up the upper half of its area (munmap,
 * MADV_UNMERGEABLE, MADV_DONTNEED, or mremap elsewhere, which leaves no
 * swap pte at the old addresses) while the merged pages are swapped out,
 * or after the others read them back; the lower half stays mergeable (and
 * swapped out), so ksmd goes on scanning that process.  ksmd must drop the
 * rmap_items of the upper half, as mainline does: the process keeps at
 * most those of the lower half (ksm_rmap_items, ksm_merging_pages), and
 * the slab holds no more rmap_items than the live processes own.  Once
 * all are gone, the ksm_rmap_item and ksm_stable_node slabs are back
 * where they were before.
 */
static void drop_case(struct result *r, char op, int after_swapin,
		      uint64_t seed)
{
	const size_t pages = 2048, slack = 512;
	struct sharer s[3] = { 0 };
	long long items0, nodes0, items, nodes, own, merging, live;
	const long long half = (long long)pages / 2 + 16;
	const char *what = op == 'H' ? "munmap" : op == 'u' ?
			   "MADV_UNMERGEABLE" : op == 'm' ? "mremap" :
			   "MADV_DONTNEED";
	const char *when = after_swapin ? "after swap-in" : "while swapped";

	if (wait_ksm_idle(60)) {
		expect(r, 0, "KSM not idle before the test");
		return;
	}
	ksm_drop_stale();
	items0 = slab_active("ksm_rmap_item");
	nodes0 = slab_active("ksm_stable_node");
	if (items0 < 0 || nodes0 < 0) {
		expect(r, 0, "no ksm_rmap_item/ksm_stable_node in /proc/slabinfo (slab_nomerge, SLUB_DEBUG)");
		return;
	}
	if (start_group(s, 3, pages, seed, 0, r))
		goto out;
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	if (after_swapin) {
		expect(r, sharer_cmd(&s[0], 'R') == 0, "content after swap-in");
		expect(r, sharer_cmd(&s[2], 'R') == 0, "content after swap-in");
	}
	expect(r, sharer_cmd(&s[1], op) == 0, "%s", what);
	expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled");
	own = ksm_stat(&s[1], "ksm_rmap_items");
	merging = ksm_stat(&s[1], "ksm_merging_pages");
	items = slab_active("ksm_rmap_item");
	nodes = slab_active("ksm_stable_node");
	live = ksm_stat(&s[0], "ksm_rmap_items") +
	       ksm_stat(&s[2], "ksm_rmap_items");
	diag("drop: %s %s: ksm_rmap_items %lld ksm_merging_pages %lld in that process; slab ksm_rmap_item %+lld ksm_stable_node %+lld, the others own %lld rmap_items",
	     what, when, own, merging, items - items0, nodes - nodes0, live);
	expect(r, own <= half && merging <= half,
	       "%s %s of half the area: the process still has %lld rmap_items, %lld merging pages (at most %lld expected)",
	       what, when, own, merging, half);
	expect(r, items - items0 <= live + own + (long long)slack,
	       "%s %s: %lld more ksm_rmap_item objects than the processes own (%lld)",
	       what, when, items - items0, live + own);
	expect(r, sharer_cmd(&s[0], 'R') == 0 && sharer_cmd(&s[2], 'R') == 0 &&
	       sharer_cmd(&s[1], 'R') == 0,
	       "content after %s", what);
out:
	stop_group(s, 3);
	/* ksmd frees the rmap_items of exited mms on its next pass */
	ksm_fast();
	for (int i = 0; i < 600; i++) {
		items = slab_active("ksm_rmap_item");
		if (items <= items0 + (long long)slack)
			break;
		sleep_ms(100);
	}
	wait_ksm_idle(60);
	ksm_drop_stale();
	items = slab_active("ksm_rmap_item");
	nodes = slab_active("ksm_stable_node");
	expect(r, items <= items0 + (long long)slack &&
	       nodes <= nodes0 + (long long)slack,
	       "%s %s: slab after all sharers left: ksm_rmap_item %lld (was %lld), ksm_stable_node %lld (was %lld)",
	       what, when, items, items0, nodes, nodes0);
}

/*
 * count: pages_shared, pages_sharing and ksm_merging_pages count pages in
 * memory, as in mainline: once ksmd has seen the merged pages go to swap
 * they drop to 0, and the pages kept (with the series) show in
 * swapped_pages_shared and swapped_pages_sharing, if the kernel has them.
 * Prints what the kept state costs per swapped-out page in slab objects.
 */
static void test_count(struct result *r)
{
	const size_t pages = 2048, nproc = 4;
	struct sharer s[4] = { 0 };
	long long items0, nodes0, items, nodes, shared, sharing, merging = 0;
	long long sw_shared, sw_sharing;

	if (wait_ksm_idle(60)) {
		expect(r, 0, "KSM not idle before the test");
		return;
	}
	ksm_drop_stale();
	items0 = slab_active("ksm_rmap_item");
	nodes0 = slab_active("ksm_stable_node");
	if (start_group(s, nproc, pages, 30, 0, r))
		goto out;
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled");
	shared = ksm_get("pages_shared");
	sharing = ksm_get("pages_sharing");
	for (size_t i = 0; i < nproc; i++)
		merging += ksm_stat(&s[i], "ksm_merging_pages");
	sw_shared = ksm_get("swapped_pages_shared");
	sw_sharing = ksm_get("swapped_pages_sharing");
	items = slab_active("ksm_rmap_item");
	nodes = slab_active("ksm_stable_node");
	diag("count: swapped out: pages_shared %lld pages_sharing %lld ksm_merging_pages %lld swapped_pages_shared %lld swapped_pages_sharing %lld",
	     shared, sharing, merging, sw_shared, sw_sharing);
	diag("count: kept while swapped out: %+lld ksm_rmap_item, %+lld ksm_stable_node objects, %.0f bytes per swapped page (%zu sharers)",
	     items - items0, nodes - nodes0,
	     (double)((items - items0) * 64 + (nodes - nodes0) * 72) /
	     (double)pages, nproc);
	expect(r, shared * 100 <= (long long)pages &&
	       sharing * 100 <= (long long)pages &&
	       merging * 100 <= (long long)pages,
	       "swapped pages counted as in memory: pages_shared %lld pages_sharing %lld ksm_merging_pages %lld",
	       shared, sharing, merging);
	if (sw_shared >= 0)
		expect(r, sw_shared * 100 >= (long long)pages * 99 &&
		       sw_sharing * 100 >= (long long)(pages * (nproc - 1)) * 99,
		       "swapped_pages_shared %lld swapped_pages_sharing %lld: not the pages kept",
		       sw_shared, sw_sharing);
	expect(r, sharers_all(s, (int)nproc, 'R', NULL) == 0,
	       "content after swap-in");
	ksm_fast();
	expect(r, wait_sharing((long long)(pages * (nproc - 1)) * 99 / 100,
			       120) == 0, "not shared again after swap-in");
	expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled");
	sw_shared = ksm_get("swapped_pages_shared");
	sw_sharing = ksm_get("swapped_pages_sharing");
	diag("count: read back: pages_sharing %lld swapped_pages_shared %lld swapped_pages_sharing %lld",
	     ksm_get("pages_sharing"), sw_shared, sw_sharing);
	if (sw_shared >= 0)
		expect(r, sw_shared == 0 && sw_sharing == 0,
		       "swapped_pages_shared %lld swapped_pages_sharing %lld after swap-in",
		       sw_shared, sw_sharing);
out:
	stop_group(s, (int)nproc);
}

/*
 * swapoff: merged pages of three sharers are swapped out, then swap is
 * turned off, which reads every page back: the pages must stay shared
 * (no ksm_swpin_copy), like a swap-in fault.  Mainline copies them for
 * every sharer but the first.  Swap goes back on afterwards.
 */
#define SWAP_DEV "/dev/zram0"

static void test_swapoff(struct result *r)
{
	const size_t pages = 2048;
	struct sharer s[3] = { 0 };
	long long copies;
	size_t shared;
	int swap_off = 0;

	if (start_group(s, 3, pages, 40, 0, r))
		goto out;
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	copies = vmstat("ksm_swpin_copy");
	if (syscall(SYS_swapoff, SWAP_DEV)) {
		expect(r, 0, "swapoff: %s", strerror(errno));
		goto out;
	}
	swap_off = 1;
	copies = vmstat("ksm_swpin_copy") - copies;
	shared = count_shared(s, 3, pages);
	diag("swapoff: ksm_swpin_copy +%lld, %zu of %zu pages shared by all after swapoff",
	     copies, shared, pages);
	expect(r, copies * 100 <= (long long)pages,
	       "swapoff: ksm_swpin_copy grew by %lld", copies);
	expect(r, shared * 100 >= pages * 99,
	       "swapoff: only %zu of %zu pages shared", shared, pages);
	expect(r, sharers_all(s, 3, 'R', NULL) == 0, "content after swapoff");
	expect(r, sharers_all(s, 3, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 3);
	if (swap_off)
		expect(r, syscall(SYS_swapon, SWAP_DEV, 0) == 0,
		       "swapon again: %s", strerror(errno));
}

static void test_drop(struct result *r)
{
	static const char ops[] = { 'H', 'u', 'd', 'm' };

	for (int after = 0; after < 2; after++)
		for (size_t i = 0; i < sizeof(ops); i++)
			drop_case(r, ops[i], after, 20 + after * 4 + i);
}

/*
 * leak: once every sharer is gone, ksmd must drop every stable node,
 * including those kept for swapped-out pages.
 */
static void test_leak(struct result *r)
{
	uint64_t end = deadline_ns(60);

	ksm_fast();
	while (now_ns() < end && (ksm_get("pages_shared") ||
				  ksm_get("pages_sharing")))
		sleep_ms(200);
	expect(r, ksm_get("pages_shared") == 0 && ksm_get("pages_sharing") == 0,
	       "pages_shared %lld pages_sharing %lld with no sharers left",
	       ksm_get("pages_shared"), ksm_get("pages_sharing"));
}

/* stress: loops of merge, swap-out, swap-in, migrate, fork, exit. */
static int stress_seconds = 150;

static void test_stress(struct result *r)
{
	uint64_t end = now_ns() + (uint64_t)stress_seconds * 1000000000ULL;
	unsigned int rnd = 12345;
	int round = 0;

	while (now_ns() < end && !r->fails) {
		struct sharer s[6] = { 0 };
		size_t pages = 256 + (rand_r(&rnd) % 4) * 512;
		int n = 2 + rand_r(&rnd) % 5;

		round++;
		if (start_group(s, n, pages, 100 + (uint64_t)round,
				rand_r(&rnd) % 4 == 0, r))
			break;
		for (int step = 0; step < 6 && !r->fails; step++) {
			int k = rand_r(&rnd) % n;

			if (!s[k].alive)
				k = 0;	/* sharer 0 is never killed */

			switch (rand_r(&rnd) % 7) {
			case 0:
			case 1:
				swap_out(&s[k], s[k].pages, 30);
				break;
			case 2: {
				int node = rand_r(&rnd) % 2;

				move_all(&s[k], s[k].pages, node, node);
				break;
			}
			case 3:
				expect(r, sharer_cmd(&s[k], 'F') == 0,
				       "stress: fork child read wrong");
				break;
			case 4:
				if (k)
					sharer_kill(&s[k]);
				break;
			case 5:
				ksm_set("pages_to_scan", 10000);
				sleep_ms(300);
				break;
			default:
				break;
			}
			expect(r, sharers_all(s, n, 'R', NULL) == 0,
			       "stress round %d: wrong content", round);
		}
		if (rand_r(&rnd) % 2)
			expect(r, sharers_all(s, n, 'W', NULL) == 0,
			       "stress round %d: wrong content after COW",
			       round);
		stop_group(s, n);
	}
	diag("stress: %d rounds in %d s", round, stress_seconds);
}

/* ------------------------------------------------ more swap-in cases */

/*
 * Read every page of every sharer back at once; print and check that the
 * pages stay shared: ksm_swpin_copy grows by at most 1% of the pages and at
 * least 99% of the pages are mapped at one pfn by all of s[0..n).  what
 * names the test in the messages.
 */
static void read_back_shared(struct result *r, const char *what,
			     struct sharer *s, int n, size_t pages)
{
	long long copy0 = vmstat("ksm_swpin_copy"), copies;
	size_t shared;
	int64_t bad;

	bad = sharers_all(s, n, 'R', NULL);
	copies = vmstat("ksm_swpin_copy") - copy0;
	shared = count_shared(s, n, pages);
	diag("%s: ksm_swpin_copy +%lld, %zu of %zu pages shared by all %d after swap-in",
	     what, copies, shared, pages, n);
	expect(r, bad == 0, "%s: %lld pages read back wrong", what,
	       (long long)bad);
	expect(r, copies * 100 <= (long long)pages * (n - 1),
	       "%s: ksm_swpin_copy grew by %lld", what, copies);
	expect(r, shared * 100 >= pages * 99,
	       "%s: only %zu of %zu pages shared after swap-in", what, shared,
	       pages);
}

/* swap out what every live sharer of s[0..n) maps */
static int swap_out_all(struct sharer *s, int n, size_t pages)
{
	for (int i = 0; i < n; i++)
		if (s[i].alive && swap_out(&s[i], pages, 120))
			return -ETIMEDOUT;
	return 0;
}

/*
 * Set a KSM knob that can only change while KSM holds no pages (EBUSY):
 * unmerge everything first (run=2), then set, then run=1.
 */
static int ksm_set_idle(const char *name, long long val)
{
	int err = -EBUSY;

	ksm_set("run", 2);
	for (int i = 0; i < 100; i++) {
		err = ksm_set(name, val);
		if (err != -EBUSY)
			break;
		sleep_ms(100);
	}
	ksm_fast();
	return err;
}

/*
 * nodes: merge_across_nodes=0: two sharers bound to node 0, two to node 1,
 * one KSM page per node and content.  After swap-out and swap-in the pages
 * must be shared again within each node, and stay on their node (no page
 * of node 1 mapped by the node-0 sharers).
 */
static void test_nodes(struct result *r)
{
	const size_t pages = 2048;
	static const int nodes[4] = { 0, 0, 1, 1 };
	struct sharer s[4] = { 0 };
	long on;
	int err;

	err = ksm_set_idle("merge_across_nodes", 0);
	if (err) {
		expect(r, 0, "merge_across_nodes=0: %s", strerror(-err));
		return;
	}
	group_nodes = nodes;
	err = start_group_want(s, 4, pages, 50, 0, 2 * (long long)pages, r);
	group_nodes = NULL;
	if (err)
		goto out;
	diag("nodes: merged: pages_shared %lld pages_sharing %lld",
	     ksm_get("pages_shared"), ksm_get("pages_sharing"));
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out_all(s, 4, pages)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	read_back_shared(r, "nodes 0", s, 2, pages);
	read_back_shared(r, "nodes 1", s + 2, 2, pages);
	expect(r, count_shared(s, 4, pages) == 0,
	       "nodes: a page is shared across nodes with merge_across_nodes=0");
	on = move_all(&s[0], pages, -1, 0);
	expect(r, on >= (long)pages * 99 / 100,
	       "nodes: %ld of %zu pages of a node-0 sharer on node 0", on,
	       pages);
	on = move_all(&s[3], pages, -1, 1);
	expect(r, on >= (long)pages * 99 / 100,
	       "nodes: %ld of %zu pages of a node-1 sharer on node 1", on,
	       pages);
	expect(r, sharers_all(s, 4, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 4);
	wait_ksm_idle(60);
	err = ksm_set_idle("merge_across_nodes", 1);
	expect(r, err == 0, "merge_across_nodes=1 again: %s", strerror(-err));
}

/* pages present in all of s[0..n) that map at most max_pfns distinct pfns */
static size_t count_shared_by(struct sharer *s, int n, size_t pages,
			      int max_pfns)
{
	uint64_t *pm = calloc((size_t)n * pages, sizeof(*pm));
	size_t c = 0;

	if (!pm)
		return 0;
	for (int k = 0; k < n; k++)
		if (sharer_pagemap(&s[k], pages, pm + (size_t)k * pages))
			goto out;
	for (size_t i = 0; i < pages; i++) {
		uint64_t pfn[MAX_SHARERS];
		int distinct = 0, ok = 1;

		for (int k = 0; k < n && ok; k++) {
			uint64_t e = pm[(size_t)k * pages + i];
			int seen = 0;

			if (!(e & PM_PRESENT)) {
				ok = 0;
				break;
			}
			for (int j = 0; j < distinct; j++)
				seen |= pfn[j] == (e & PM_PFN_MASK);
			if (!seen)
				pfn[distinct++] = e & PM_PFN_MASK;
		}
		c += ok && distinct <= max_pfns;
	}
out:
	free(pm);
	return c;
}

/*
 * chains: max_page_sharing=2 with six sharers: every content has a
 * stable_node chain of three KSM pages (dups) with two mappers each.  They
 * go to swap and come back: each page must be mapped by at most three
 * pfns again (no copy per process), the content right.
 */
static void test_chains(struct result *r)
{
	const size_t pages = 1024;
	const int n = 6;
	struct sharer s[6] = { 0 };
	long long copy0, copies, chains;
	size_t shared;
	int err;

	err = ksm_set_idle("max_page_sharing", 2);
	if (err) {
		expect(r, 0, "max_page_sharing=2: %s", strerror(-err));
		return;
	}
	/* three KSM pages per content, each with one sharing mapper */
	if (start_group_want(s, n, pages, 51, 0, 3 * (long long)pages, r))
		goto out;
	chains = ksm_get("stable_node_chains");
	diag("chains: merged: pages_shared %lld pages_sharing %lld stable_node_chains %lld stable_node_dups %lld",
	     ksm_get("pages_shared"), ksm_get("pages_sharing"), chains,
	     ksm_get("stable_node_dups"));
	expect(r, chains * 100 >= (long long)pages * 99,
	       "chains: only %lld stable_node_chains", chains);
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out_all(s, n, pages)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	copy0 = vmstat("ksm_swpin_copy");
	expect(r, sharers_all(s, n, 'R', NULL) == 0, "chains: content after swap-in");
	copies = vmstat("ksm_swpin_copy") - copy0;
	shared = count_shared_by(s, n, pages, n / 2);
	diag("chains: ksm_swpin_copy +%lld, %zu of %zu pages mapped by at most %d pfns after swap-in",
	     copies, shared, pages, n / 2);
	expect(r, copies * 100 <= (long long)pages * n,
	       "chains: ksm_swpin_copy grew by %lld", copies);
	expect(r, shared * 100 >= pages * 99,
	       "chains: only %zu of %zu pages kept at most %d copies", shared,
	       pages, n / 2);
	ksm_fast();
	expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled");
	expect(r, sharers_all(s, n, 'W', NULL) == 0, "chains: content after COW");
out:
	stop_group(s, n);
	wait_ksm_idle(60);
	err = ksm_set_idle("max_page_sharing", 256);
	expect(r, err == 0, "max_page_sharing=256 again: %s", strerror(-err));
}

/*
 * rerun: ksmd is stopped (run=0) while the merged pages are swapped out and
 * read back, then started again (run=1).  The series shares a page read
 * back only while KSM runs (run=1), as it keeps the stable node of a page
 * going to swap only then: with ksmd stopped, swap-in copies as mainline
 * does (printed, not asserted).  What must hold either way: the content is
 * right, once ksmd runs again it merges the pages back and nothing of the
 * kept state is left (swapped_pages_shared 0, no more stable nodes than
 * pages).
 */
static void test_rerun(struct result *r)
{
	const size_t pages = 2048;
	struct sharer s[3] = { 0 };
	long long copy0, sw_shared;

	if (start_group(s, 3, pages, 52, 0, r))
		goto out;
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, ksm_set("run", 0) == 0, "run=0");
	copy0 = vmstat("ksm_swpin_copy");
	expect(r, sharers_all(s, 3, 'R', NULL) == 0,
	       "rerun: content after swap-in with ksmd stopped");
	diag("rerun: swap-in with run=0: ksm_swpin_copy +%lld, %zu of %zu pages shared by all 3",
	     vmstat("ksm_swpin_copy") - copy0, count_shared(s, 3, pages),
	     pages);
	expect(r, ksm_set("run", 1) == 0, "run=1");
	ksm_fast();
	expect(r, wait_sharing((long long)pages * 2 * 99 / 100, 120) == 0,
	       "rerun: not merged again after run=1");
	expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled after run=1");
	sw_shared = ksm_get("swapped_pages_shared");
	diag("rerun: after run=1: pages_shared %lld pages_sharing %lld swapped_pages_shared %lld, %zu of %zu pages shared by all 3",
	     ksm_get("pages_shared"), ksm_get("pages_sharing"), sw_shared,
	     count_shared(s, 3, pages), pages);
	expect(r, sw_shared <= 0,
	       "rerun: swapped_pages_shared %lld with every page in memory",
	       sw_shared);
	expect(r, ksm_get("pages_shared") <= (long long)pages + 16,
	       "rerun: pages_shared %lld for %zu pages", ksm_get("pages_shared"),
	       pages);
	expect(r, sharers_all(s, 3, 'R', NULL) == 0, "content after run=1");
	expect(r, sharers_all(s, 3, 'W', NULL) == 0, "content after COW");
out:
	ksm_set("run", 1);
	stop_group(s, 3);
}

/*
 * rereclaim: one sharer reads the swapped pages back (each becomes a KSM
 * page again, in swap cache, while the two others still map the swap
 * entry), then that page is reclaimed again before the others touch it.
 * All three then read back: the content right, the pages shared.
 */
static void test_rereclaim(struct result *r)
{
	const size_t pages = 2048;
	struct sharer s[3] = { 0 };

	if (start_group(s, 3, pages, 53, 0, r))
		goto out;
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, sharer_cmd(&s[0], 'R') == 0, "rereclaim: content, first reader");
	diag("rereclaim: after the first reader: %zu of the others' pages still swapped, swapped_pages_shared %lld",
	     count_swapped(&s[1], pages), ksm_get("swapped_pages_shared"));
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out again");
		goto out;
	}
	read_back_shared(r, "rereclaim", s, 3, pages);
	expect(r, sharers_all(s, 3, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 3);
}

/* "key N" of memory.stat (or a one-number file) of a cgroup, in KiB */
static long long cg_file_kib(const char *cg, const char *file)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return read_ll(path) < 0 ? -1 : read_ll(path) / 1024;
}

#define CG_A CG_DIR "/a"
#define CG_B CG_DIR "/b"

static void memcgs_print(const char *when)
{
	diag("memcgs: %s: a: memory.current %lld KiB memory.swap.current %lld KiB; b: memory.current %lld KiB memory.swap.current %lld KiB",
	     when, cg_file_kib(CG_A, "memory.current"),
	     cg_file_kib(CG_A, "memory.swap.current"),
	     cg_file_kib(CG_B, "memory.current"),
	     cg_file_kib(CG_B, "memory.swap.current"));
}

/*
 * memcgs: sharers in different memory cgroups (two in a, one in b, both
 * under the test cgroup): who is charged for the KSM pages, in memory and
 * in swap, is printed before swap-out, while swapped and after swap-in.
 * The pages must be shared after swap-in, the memory charged to the two
 * about one copy, and the content right.
 */
static void test_memcgs(struct result *r)
{
	const size_t pages = 2048;
	static const char *const cgs[3] = { CG_A, CG_A, CG_B };
	struct sharer s[3] = { 0 };
	long long a, b;
	int err;

	mkdir(CG_A, 0755);
	mkdir(CG_B, 0755);
	err = write_str(CG_DIR "/cgroup.subtree_control", "+memory");
	if (err) {
		expect(r, 0, "memory controller for %s: %s", CG_DIR,
		       strerror(-err));
		goto out;
	}
	group_cgroups = cgs;
	err = start_group(s, 3, pages, 54, 0, r);
	group_cgroups = NULL;
	if (err)
		goto out;
	memcgs_print("merged");
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out_all(s, 3, pages)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	memcgs_print("swapped out");
	read_back_shared(r, "memcgs", s, 3, pages);
	memcgs_print("read back");
	a = read_keyed(CG_A "/memory.stat", "anon") / 1024;
	b = read_keyed(CG_B "/memory.stat", "anon") / 1024;
	diag("memcgs: anon after swap-in: a %lld KiB, b %lld KiB (one copy %zu KiB)",
	     a, b, pages * 4);
	expect(r, (a + b) * 100 <= (long long)pages * 4 * 125,
	       "memcgs: a and b charged %lld KiB anon after swap-in, > 1.25x of one copy",
	       a + b);
	expect(r, sharers_all(s, 3, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 3);
	write_str(CG_DIR "/cgroup.subtree_control", "-memory");
	rmdir(CG_A);
	rmdir(CG_B);
}

/*
 * zswap: zswap in front of the swap device, with a pool too small for the
 * data and its shrinker on, so that pages are written back to the device
 * (zswpwb): the merged pages must come back shared and right.  Needs a
 * kernel with CONFIG_ZSWAP (the debug build).
 */
#define ZSWAP_PARAM "/sys/module/zswap/parameters/"

static void test_zswap(struct result *r)
{
	const size_t pages = 8192;
	struct sharer s[3] = { 0 };
	long long out0, wb0, in0;

	if (access(ZSWAP_PARAM "enabled", F_OK)) {
		expect(r, 0, "no zswap in this kernel (CONFIG_ZSWAP)");
		return;
	}
	if (start_group(s, 3, pages, 55, 0, r))
		goto out;
	expect(r, write_str(ZSWAP_PARAM "enabled", "Y") == 0, "zswap on");
	write_str(ZSWAP_PARAM "shrinker_enabled", "Y");
	write_str(ZSWAP_PARAM "max_pool_percent", "1");
	out0 = vmstat("zswpout");
	wb0 = vmstat("zswpwb");
	in0 = vmstat("zswpin");
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 180)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	/* more reclaim: the zswap shrinker writes back from the pool */
	for (int i = 0; i < 20; i++)
		write_str(CG_DIR "/memory.reclaim", "512M");
	diag("zswap: swapped out: zswpout +%lld zswpwb +%lld",
	     vmstat("zswpout") - out0, vmstat("zswpwb") - wb0);
	expect(r, vmstat("zswpout") > out0, "zswap stored nothing");
	expect(r, vmstat("zswpwb") > wb0, "zswap wrote nothing back");
	read_back_shared(r, "zswap", s, 3, pages);
	diag("zswap: read back: zswpin +%lld", vmstat("zswpin") - in0);
	expect(r, sharers_all(s, 3, 'W', NULL) == 0, "content after COW");
out:
	stop_group(s, 3);
	write_str(ZSWAP_PARAM "enabled", "N");
}

/*
 * mthp: 64 KiB anonymous mTHP on, PMD-size THP off, with zram (a
 * SWP_SYNCHRONOUS_IO device: mTHP swap-in skips the swap cache when a swap
 * entry has one user).  ksmd splits the mTHPs to merge them; KSM pages go
 * to swap one page at a time, and their swap entries have one user per
 * sharer, so swap-in goes through the swap cache, order 0: the pages must
 * stay shared.  Then all sharers but one exit while swapped out: the last
 * one's swap-in may take the mTHP path (64 KiB folios, not KSM); its
 * content must be right and nothing be left of the kept KSM state.
 */
#define MTHP_DIR "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/"
#define PMD_THP_DIR "/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/"

static void test_mthp(struct result *r)
{
	const size_t pages = 4096;
	struct sharer s[3] = { 0 };
	char saved[64] = "never", saved_pmd[64] = "inherit";
	long long alloc0, swpin0;

	if (read_str(MTHP_DIR "enabled", saved, sizeof(saved))) {
		expect(r, 0, "no 64 KiB mTHP in this kernel");
		return;
	}
	read_str(PMD_THP_DIR "enabled", saved_pmd, sizeof(saved_pmd));
	expect(r, write_str(MTHP_DIR "enabled", "always") == 0, "64kB mTHP on");
	write_str(PMD_THP_DIR "enabled", "never");
	alloc0 = read_ll(MTHP_DIR "stats/anon_fault_alloc");
	if (start_group(s, 3, pages, 56, 1, r))
		goto out;
	diag("mthp: 64 KiB mTHP faulted in: %lld",
	     read_ll(MTHP_DIR "stats/anon_fault_alloc") - alloc0);
	expect(r, read_ll(MTHP_DIR "stats/anon_fault_alloc") > alloc0,
	       "mthp: no 64 KiB mTHP allocated");
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	swpin0 = read_ll(MTHP_DIR "stats/swpin");
	read_back_shared(r, "mthp", s, 3, pages);
	diag("mthp: 64 KiB mTHP swap-ins of shared pages: %lld",
	     read_ll(MTHP_DIR "stats/swpin") - swpin0);
	/* the last sharer alone */
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out again");
		goto out;
	}
	sharer_kill(&s[1]);
	sharer_kill(&s[2]);
	swpin0 = read_ll(MTHP_DIR "stats/swpin");
	expect(r, sharer_cmd(&s[0], 'R') == 0, "mthp: content of the last sharer");
	diag("mthp: last sharer: 64 KiB mTHP swap-ins %lld, swapped_pages_shared %lld",
	     read_ll(MTHP_DIR "stats/swpin") - swpin0,
	     ksm_get("swapped_pages_shared"));
	expect(r, sharer_cmd(&s[0], 'W') == 0, "content after COW");
out:
	stop_group(s, 3);
	write_str(MTHP_DIR "enabled", saved);
	write_str(PMD_THP_DIR "enabled", saved_pmd);
	expect(r, wait_ksm_idle(60) == 0 &&
	       (ksm_get("swapped_pages_shared") <= 0),
	       "mthp: KSM state left: pages_shared %lld swapped_pages_shared %lld",
	       ksm_get("pages_shared"), ksm_get("swapped_pages_shared"));
}

/* object size of slab cache name from /proc/slabinfo, -1 if not listed */
static long long slab_objsize(const char *name)
{
	static char buf[1 << 17];
	size_t len = strlen(name);
	long long active, num, size;
	char *p;

	if (read_str("/proc/slabinfo", buf, sizeof(buf)))
		return -1;
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == ' ' &&
		    sscanf(p + len, "%lld %lld %lld", &active, &num, &size) == 3)
			return size;
	return -1;
}

/*
 * metadata: what the kept state costs per swapped-out page, with 2, 4 and
 * 8 sharers: ksm_rmap_item and ksm_stable_node objects (slab object size,
 * debug padding included) while everything is swapped out, printed as
 * "# count:" lines.  The cost is bounded by one rmap_item per sharer and
 * one stable node per page, and goes back to nothing once the sharers
 * exit.
 */
static void test_metadata(struct result *r)
{
	static const int procs[] = { 2, 4, 8 };
	const size_t pages = 2048;
	long long item_b = slab_objsize("ksm_rmap_item");
	long long node_b = slab_objsize("ksm_stable_node");

	if (item_b <= 0 || node_b <= 0) {
		expect(r, 0, "no ksm_rmap_item/ksm_stable_node in /proc/slabinfo");
		return;
	}
	for (size_t k = 0; k < sizeof(procs) / sizeof(procs[0]); k++) {
		struct sharer s[8] = { 0 };
		const int n = procs[k];
		long long items0, nodes0, items, nodes;
		double per_page;

		if (wait_ksm_idle(60)) {
			expect(r, 0, "KSM not idle before the test");
			return;
		}
		ksm_drop_stale();
		items0 = slab_active("ksm_rmap_item");
		nodes0 = slab_active("ksm_stable_node");
		if (start_group(s, n, pages, 57 + (uint64_t)k, 0, r))
			goto next;
		ksm_set("pages_to_scan", 100);
		ksm_set("sleep_millisecs", 1000);
		if (swap_out(&s[0], pages, 120)) {
			expect(r, 0, "could not swap out");
			goto next;
		}
		expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled");
		items = slab_active("ksm_rmap_item") - items0;
		nodes = slab_active("ksm_stable_node") - nodes0;
		per_page = (double)(items * item_b + nodes * node_b) /
			   (double)pages;
		diag("count: metadata: %d sharers x %zu pages swapped out: %+lld ksm_rmap_item (%lld B), %+lld ksm_stable_node (%lld B): %.0f bytes per swapped page",
		     n, pages, items, item_b, nodes, node_b, per_page);
		expect(r, items <= (long long)pages * n + 512 &&
		       nodes <= (long long)pages + 512,
		       "metadata: %lld rmap_items and %lld stable nodes kept for %zu pages of %d sharers",
		       items, nodes, pages, n);
		expect(r, sharers_all(s, n, 'R', NULL) == 0,
		       "content after swap-in");
next:
		stop_group(s, n);
	}
}

/*
 * limit: max_swapped_pages bounds the state kept for swapped-out KSM pages.
 * With a limit of 512 and 2048 pages shared by three sharers, all swapped
 * out: at most 512 pages are kept (swapped_pages_shared, stable node and
 * rmap_item objects), the others are counted in swapped_pages_not_kept;
 * the kept state is charged to the sharers' memory cgroup (memory.stat
 * slab); at swap-in the kept pages come back shared and the others as
 * mainline copies (ksm_swpin_copy), content right in every sharer; once
 * the sharers are gone, counters and slab objects are back where they
 * were.  A kernel without the knob (stock) keeps nothing: the same checks
 * hold with a limit of 0.
 */
static void test_limit(struct result *r)
{
	const size_t pages = 2048;
	const int nproc = 3;
	const long long limit = 512, slack = 64;
	struct sharer s[3] = { 0 };
	long long old_limit = ksm_get("max_swapped_pages");
	long long kept_max = old_limit >= 0 ? limit : 0;
	long long item_b = slab_objsize("ksm_rmap_item");
	long long node_b = slab_objsize("ksm_stable_node");
	long long items0, nodes0, items, nodes, not_kept0, not_kept = 0;
	long long sw_shared, sw_sharing, copy0, copies, slab0, slab, want_b;
	size_t shared;

	if (wait_ksm_idle(60)) {
		expect(r, 0, "KSM not idle before the test");
		return;
	}
	ksm_drop_stale();
	items0 = slab_active("ksm_rmap_item");
	nodes0 = slab_active("ksm_stable_node");
	if (old_limit >= 0)
		expect(r, ksm_set("max_swapped_pages", limit) == 0,
		       "cannot set max_swapped_pages");
	not_kept0 = ksm_get("swapped_pages_not_kept");
	if (start_group(s, nproc, pages, 61, 0, r))
		goto out;
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	slab0 = read_keyed(CG_DIR "/memory.stat", "slab");
	if (swap_out(&s[0], pages, 120)) {
		expect(r, 0, "could not swap out");
		goto out;
	}
	expect(r, wait_full_scans(2, 120) == 0, "ksmd stalled");
	/* sleep over memcg's periodic stat flush (2 s) */
	sleep_ms(2500);
	slab = read_keyed(CG_DIR "/memory.stat", "slab");
	sw_shared = ksm_get("swapped_pages_shared");
	sw_sharing = ksm_get("swapped_pages_sharing");
	if (not_kept0 >= 0)
		not_kept = ksm_get("swapped_pages_not_kept") - not_kept0;
	items = slab_active("ksm_rmap_item") - items0;
	nodes = slab_active("ksm_stable_node") - nodes0;
	diag("limit: max_swapped_pages %lld, %zu pages x %d sharers swapped out: swapped_pages_shared %lld swapped_pages_sharing %lld swapped_pages_not_kept +%lld; kept %+lld ksm_rmap_item %+lld ksm_stable_node objects; memcg slab %+lld B",
	     kept_max, pages, nproc, sw_shared, sw_sharing, not_kept, items,
	     nodes, slab - slab0);
	expect(r, sw_shared <= kept_max && sw_sharing <= kept_max * (nproc - 1),
	       "limit: swapped_pages_shared %lld swapped_pages_sharing %lld over the limit %lld",
	       sw_shared, sw_sharing, kept_max);
	expect(r, nodes <= kept_max + slack &&
	       items <= (kept_max + slack) * nproc,
	       "limit: %lld stable nodes and %lld rmap_items kept with a limit of %lld pages",
	       nodes, items, kept_max);
	if (old_limit >= 0) {
		/* the limit is used, not just never reached */
		expect(r, sw_shared * 100 >= kept_max * 95,
		       "limit: only %lld of %lld pages kept", sw_shared,
		       kept_max);
		expect(r, not_kept * 100 >= ((long long)pages - kept_max) * 95,
		       "limit: swapped_pages_not_kept +%lld for %lld pages over the limit",
		       not_kept, (long long)pages - kept_max);
		/* charged to the sharers' memory cgroup, stats not exact */
		want_b = sw_shared * node_b + (sw_shared + sw_sharing) * item_b;
		expect(r, slab - slab0 >= want_b / 2,
		       "limit: the memory cgroup was charged %lld B of slab for %lld B kept",
		       slab - slab0, want_b);
	}
	/* ksmd slow, so that copies are not merged while they are counted */
	ksm_set("pages_to_scan", 1);
	ksm_set("sleep_millisecs", 10000);
	copy0 = vmstat("ksm_swpin_copy");
	expect(r, sharers_all(s, nproc, 'R', NULL) == 0,
	       "limit: content after swap-in");
	copies = vmstat("ksm_swpin_copy") - copy0;
	shared = count_shared(s, nproc, pages);
	diag("limit: swap-in: ksm_swpin_copy +%lld, %zu of %zu pages shared by all %d",
	     copies, shared, pages, nproc);
	/* pages over the limit: a copy for every sharer but the first */
	expect(r, copies * 100 >= ((long long)pages - kept_max) * (nproc - 1) * 95,
	       "limit: ksm_swpin_copy +%lld, not the mainline copies of the %lld pages not kept",
	       copies, (long long)pages - kept_max);
	expect(r, (long long)shared * 100 >= sw_shared * 95,
	       "limit: only %zu pages shared after swap-in, %lld were kept",
	       shared, sw_shared);
	expect(r, sharers_all(s, nproc, 'W', NULL) == 0,
	       "limit: content after COW");
out:
	stop_group(s, nproc);
	if (wait_ksm_idle(60))
		expect(r, 0, "limit: KSM not idle after the sharers exited");
	ksm_drop_stale();
	items = slab_active("ksm_rmap_item") - items0;
	nodes = slab_active("ksm_stable_node") - nodes0;
	sw_shared = ksm_get("swapped_pages_shared");
	sw_sharing = ksm_get("swapped_pages_sharing");
	diag("limit: sharers gone: %+lld ksm_rmap_item %+lld ksm_stable_node objects, swapped_pages_shared %lld swapped_pages_sharing %lld",
	     items, nodes, sw_shared, sw_sharing);
	expect(r, items <= 0 && nodes <= 0,
	       "limit: %+lld rmap_items %+lld stable nodes left after the sharers exited",
	       items, nodes);
	expect(r, sw_shared <= 0 && sw_sharing <= 0,
	       "limit: swapped_pages_shared %lld swapped_pages_sharing %lld after the sharers exited",
	       sw_shared, sw_sharing);
	if (old_limit >= 0)
		ksm_set("max_swapped_pages", old_limit);
}

/* ------------------------------------------------------------------- main */

struct test {
	const char *name;
	void (*fn)(struct result *r);
	int timeout_s;
};

static void test_share_default(struct result *r)
{
	test_share(r, 4, 16384);
}

static const struct test tests[] = {
	{ "share", test_share_default, 600 },
	{ "migrate", test_migrate, 400 },
	{ "fork", test_fork, 300 },
	{ "exit", test_exit, 300 },
	{ "unmerge", test_unmerge, 400 },
	{ "memcg", test_memcg, 300 },
	{ "many", test_many, 300 },
	{ "thp", test_thp, 300 },
	{ "offline", test_offline, 600 },
	{ "drop", test_drop, 900 },
	{ "count", test_count, 600 },
	{ "swapoff", test_swapoff, 600 },
	{ "nodes", test_nodes, 600 },
	{ "chains", test_chains, 600 },
	{ "rerun", test_rerun, 400 },
	{ "rereclaim", test_rereclaim, 400 },
	{ "memcgs", test_memcgs, 400 },
	{ "zswap", test_zswap, 600 },
	{ "mthp", test_mthp, 600 },
	{ "metadata", test_metadata, 900 },
	{ "limit", test_limit, 600 },
	{ "stress", test_stress, 900 },
	{ "leak", test_leak, 120 },
};

static int run_one(const struct test *t, int num)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct result r = { 0 };

		setpgid(0, 0);
		alarm((unsigned int)t->timeout_s * timeout_scale);
		t->fn(&r);
		fflush(stdout);
		_exit(r.fails ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	kill(-pid, SIGKILL);	/* sharers left by a test that died */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	ksm_fast();
	write_str(CG_DIR "/memory.max", "max");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %d - %s\n", num, t->name);
		return 0;
	}
	printf("not ok %d - %s%s\n", num, t->name,
	       WIFSIGNALED(status) ? " (killed or timed out)" : "");
	return 1;
}

int main(int argc, char **argv)
{
	const char *names[64];
	int n = 0, failed = 0, bench_pages = 16384, bench_procs = 4;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--stress-seconds") && i + 1 < argc)
			stress_seconds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--timeout-scale") && i + 1 < argc)
			timeout_scale = (unsigned int)atoi(argv[++i]) ?: 1;
		else if (!strcmp(argv[i], "--bench"))
			bench_mode = 1;
		else if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			bench_pages = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--procs") && i + 1 < argc)
			bench_procs = atoi(argv[++i]);
		else if (n < 64)
			names[n++] = argv[i];
	}
	ksm_saved.run = ksm_get("run");
	ksm_saved.pages_to_scan = ksm_get("pages_to_scan");
	ksm_saved.sleep_ms = ksm_get("sleep_millisecs");
	if (ksm_saved.run < 0) {
		printf("1..0 # SKIP no KSM in this kernel\n");
		return 77;
	}
	if (cg_setup()) {
		printf("Bail out! cannot set up memory cgroup %s\n", CG_DIR);
		return 1;
	}
	if (bench_mode) {
		struct result r = { 0 };

		if (bench_procs > MAX_SHARERS)
			bench_procs = MAX_SHARERS;
		test_share(&r, bench_procs, (size_t)bench_pages);
		return r.fails ? 1 : 0;
	}
	if (!n)
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			names[n++] = tests[i].name;
	printf("1..%d\n", n);
	for (int i = 0; i < n; i++) {
		const struct test *t = NULL;

		for (size_t j = 0; j < sizeof(tests) / sizeof(tests[0]); j++)
			if (!strcmp(tests[j].name, names[i]))
				t = &tests[j];
		if (!t) {
			printf("not ok %d - %s (no such test)\n", i + 1,
			       names[i]);
			failed++;
			continue;
		}
		failed += run_one(t, i + 1);
	}
	ksm_set("pages_to_scan", ksm_saved.pages_to_scan);
	ksm_set("sleep_millisecs", ksm_saved.sleep_ms);
	ksm_set("run", ksm_saved.run);
	printf("%d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
