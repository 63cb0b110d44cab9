// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-swapin-guest: one swap-in of KSM-merged pages, measured from inside a
 * test VM (run as /ksmtest by kernel-patches/tests/init, see
 * bench/kernel-swapin-designs).  PROCS processes map PAGES identical pages,
 * KSM merges them, memory.reclaim pushes them out to zram, all read them
 * back at once, and ksmd at the kernel's defaults (pages_to_scan 100,
 * sleep_millisecs 20) shares them again.
 *
 * Usage: ksm-swapin-guest [--procs N] [--pages N] [--limit-s N]
 *
 * Prints one line "BENCH3 key=value ..." (units in the keys) and, with
 * --limit-s, a verdict "VERDICT ok" or "VERDICT fail: why": content read
 * back right in every process, pages_sharing back to its pre-swap value
 * within the limit, and after the processes exit no merged page, stable
 * node or rmap_item left (slab objects back to the baseline after run=2).
 * Exit status 0 unless setting up failed.
 *
 * Build: gcc -static -O2 -Wall -Wextra -Werror -o ksm-swapin-guest \
 *        ksm-swapin-guest.c
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE_B 4096UL
#define KSM_DIR "/sys/kernel/mm/ksm/"
#define CG_DIR "/sys/fs/cgroup/bench"
#define MAX_PROCS 16
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_PFN_MASK ((1ULL << 55) - 1)

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Fault times are taken with the TSC: the test kernel's clocksource is
 * jiffies under TCG (no HPET or PM timer to calibrate the TSC against), so
 * clock_gettime() cannot resolve one fault.  cycles_per_ns is measured
 * against CLOCK_MONOTONIC over two seconds.
 */
static double cycles_per_ns = 1.0;

static uint64_t
cycles(void)
{
	return __builtin_ia32_rdtsc();
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int
write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -1 : 0;
}

static int
read_str(const char *path, char *buf, size_t len)
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

static long long
read_ll(const char *path)
{
	char buf[64];

	if (read_str(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

/* "key value" line of a file such as /proc/vmstat; -1 if absent */
static long long
read_keyed(const char *path, const char *key)
{
	static char buf[65536];
	size_t klen = strlen(key);

	if (read_str(path, buf, sizeof(buf)))
		return -1;
	for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return atoll(p + klen + 1);
	return -1;
}

static long long
ksm_get(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	return read_ll(path);
}

static void
ksm_set(const char *name, long long val)
{
	char path[128], v[32];

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	snprintf(v, sizeof(v), "%lld", val);
	write_str(path, v);
}

static long long
cg_anon_kib(void)
{
	long long b = read_keyed(CG_DIR "/memory.stat", "anon");

	return b < 0 ? -1 : b / 1024;
}

/* objects in use in a slab cache, per-CPU slabs flushed first; -1 if none */
static long long
slab_objects(const char *cache)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", cache);
	write_str(path, "1");
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/objects", cache);
	return read_ll(path);
}

/* ksmd's utime + stime in ms (/proc/PID/stat fields 14 and 15) */
static pid_t ksmd_pid;

static long long
ksmd_cpu_ms(void)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)ksmd_pid);
	if (read_str(path, buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

static pid_t
find_ksmd(void)
{
	char path[64], comm[32];

	for (int pid = 2; pid < 1000; pid++) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (!read_str(path, comm, sizeof(comm)) && !strcmp(comm, "ksmd\n"))
			return pid;
	}
	return -1;
}

static uint64_t
content_word(size_t page, size_t w)
{
	uint64_t x = page * 512 + w + 0x9e3779b97f4a7c15ULL;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ------------------------------------------------------------- the sharers */

struct proc {
	pid_t pid;
	int cmd, res;
};

static struct proc procs[MAX_PROCS];
static int nprocs = 4;
static size_t npages = 16384;
static uint8_t *area;
static uint32_t *lat_ns; /* shared: nprocs * npages fault times */

static void
child(int id, int cmd, int res)
{
	char c;
	long long bad = 0;

	for (size_t i = 0; i < npages; i++) {
		uint64_t *p = (uint64_t *)(area + i * PAGE_B);

		for (size_t w = 0; w < PAGE_B / 8; w++)
			p[w] = content_word(i, w);
	}
	if (madvise(area, npages * PAGE_B, MADV_MERGEABLE))
		_exit(2);
	if (write(res, &bad, sizeof(bad)) != sizeof(bad))
		_exit(2);
	while (read(cmd, &c, 1) == 1 && c == 'R') {
		volatile uint64_t sink = 0;

		bad = 0;
		/* first touch of each page: one swap-in fault, timed */
		for (size_t i = 0; i < npages; i++) {
			uint64_t c0 = cycles();

			sink += *(volatile uint64_t *)(area + i * PAGE_B);
			lat_ns[(size_t)id * npages + i] = (uint32_t)((double)(cycles() - c0) / cycles_per_ns);
		}
		(void)sink;
		for (size_t i = 0; i < npages; i++) {
			const uint64_t *p = (const uint64_t *)(area + i * PAGE_B);

			for (size_t w = 0; w < PAGE_B / 8; w++)
				if (p[w] != content_word(i, w)) {
					bad++;
					break;
				}
		}
		if (write(res, &bad, sizeof(bad)) != sizeof(bad))
			_exit(2);
	}
	_exit(0);
}

static int
start_procs(void)
{
	area = mmap(NULL, npages * PAGE_B, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	lat_ns = mmap(NULL, (size_t)nprocs * npages * sizeof(*lat_ns), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || lat_ns == MAP_FAILED)
		return -ENOMEM;
	madvise(area, npages * PAGE_B, MADV_NOHUGEPAGE);
	for (int k = 0; k < nprocs; k++) {
		int c[2], r[2];
		long long v;

		if (pipe(c) || pipe(r))
			return -errno;
		procs[k].pid = fork();
		if (procs[k].pid < 0)
			return -errno;
		if (!procs[k].pid) {
			close(c[1]);
			close(r[0]);
			child(k, c[0], r[1]);
		}
		close(c[0]);
		close(r[1]);
		procs[k].cmd = c[1];
		procs[k].res = r[0];
		if (read(r[0], &v, sizeof(v)) != sizeof(v))
			return -EIO;
	}
	/* the parent's own copy of the area is not wanted */
	munmap(area, npages * PAGE_B);
	return 0;
}

static void
stop_procs(void)
{
	/*
	 * Say so: closing the pipe is not enough, the processes forked later
	 * hold its write end too.
	 */
	for (int k = 0; k < nprocs; k++) {
		if (write(procs[k].cmd, "Q", 1) != 1)
			kill(procs[k].pid, SIGKILL);
		close(procs[k].cmd);
	}
	for (int k = 0; k < nprocs; k++)
		waitpid(procs[k].pid, NULL, 0);
}

static int
pagemap(int k, uint64_t *out)
{
	char path[64];
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)procs[k].pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	got = pread(fd, out, npages * 8, (off_t)((uintptr_t)area / PAGE_B * 8));
	close(fd);
	return got == (ssize_t)(npages * 8) ? 0 : -EIO;
}

/* pages present at the same pfn in every process */
static long long
count_one_pfn(void)
{
	static uint64_t *ref, *pm;
	long long c = 0;

	if (!ref)
		ref = calloc(npages, 8), pm = calloc(npages, 8);
	if (!ref || !pm || pagemap(0, ref))
		return -1;
	for (int k = 1; k < nprocs; k++) {
		if (pagemap(k, pm))
			return -1;
		for (size_t i = 0; i < npages; i++)
			if (!(pm[i] & PM_PRESENT) || (pm[i] & PM_PFN_MASK) != (ref[i] & PM_PFN_MASK))
				ref[i] = 0;
	}
	for (size_t i = 0; i < npages; i++)
		c += (ref[i] & PM_PRESENT) != 0;
	return c;
}

static long long
count_swapped(int k)
{
	static uint64_t *pm;
	long long c = 0;

	if (!pm)
		pm = calloc(npages, 8);
	if (!pm || pagemap(k, pm))
		return -1;
	for (size_t i = 0; i < npages; i++)
		c += (pm[i] & PM_SWAP) != 0;
	return c;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	long long limit_s = -1, share0, pfn0, rmap0, node0, copy0, ksmd0;
	long long q0, m0, d0, rmap_kept, node_kept, anon_peak = 0, anon_after;
	long long share_ms = -1, pfn_ms = -1, ksmd_ms = -1, bad = 0, rmap_end, node_end;
	uint64_t t0, tin, deadline;
	int done = 0, leak = 0;
	char verdict[256] = "";
	char v[32];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--procs") && i + 1 < argc)
			nprocs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			npages = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--limit-s") && i + 1 < argc)
			limit_s = atoll(argv[++i]);
	}
	if (nprocs < 2 || nprocs > MAX_PROCS || !npages) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	{
		uint64_t t = now_ns(), c = cycles();

		sleep_ms(2000);
		cycles_per_ns = (double)(cycles() - c) / (double)(now_ns() - t);
		printf("# TSC: %.3f cycles per ns\n", cycles_per_ns);
	}
	ksmd_pid = find_ksmd();
	if (mkdir(CG_DIR, 0755) && errno != EEXIST)
		return 1;
	snprintf(v, sizeof(v), "%d", (int)getpid());
	if (write_str(CG_DIR "/cgroup.procs", v))
		return 1;
	rmap0 = slab_objects("ksm_rmap_item");
	node0 = slab_objects("ksm_stable_node");

	/* merge fast */
	ksm_set("pages_to_scan", 10000);
	ksm_set("sleep_millisecs", 0);
	ksm_set("run", 1);
	if (start_procs())
		return 1;
	deadline = now_ns() + 300ULL * 1000000000ULL;
	while (ksm_get("pages_sharing") < (long long)(nprocs - 1) * (long long)npages && now_ns() < deadline)
		sleep_ms(200);
	sleep_ms(2000);
	share0 = ksm_get("pages_sharing");
	pfn0 = count_one_pfn();
	printf("# merged: pages_sharing %lld, pages at one pfn in all %lld of %zu\n", share0, pfn0, npages);

	/* swap out, with ksmd slowed down so that it does not get in the way */
	ksm_set("pages_to_scan", 100);
	ksm_set("sleep_millisecs", 1000);
	deadline = now_ns() + 300ULL * 1000000000ULL;
	while (now_ns() < deadline) {
		int all = 1;

		write_str(CG_DIR "/memory.reclaim", "512M");
		for (int k = 0; k < nprocs && all; k++)
			all = count_swapped(k) * 100 >= (long long)npages * 99;
		if (all)
			break;
		sleep_ms(50);
	}
	/* kept state once ksmd has seen the pages gone: two full scans */
	{
		long long fs = ksm_get("full_scans") + 2;

		ksm_set("pages_to_scan", 100);
		ksm_set("sleep_millisecs", 20);
		deadline = now_ns() + 120ULL * 1000000000ULL;
		while (ksm_get("full_scans") < fs && now_ns() < deadline)
			sleep_ms(100);
	}
	rmap_kept = slab_objects("ksm_rmap_item") - rmap0;
	node_kept = slab_objects("ksm_stable_node") - node0;
	printf("# swapped out: %lld of %zu pages of process 0 in swap, pages_sharing %lld, kept ksm_rmap_item %+lld, ksm_stable_node %+lld\n",
	       count_swapped(0), npages, ksm_get("pages_sharing"), rmap_kept, node_kept);

	/* swap-in: every process reads every page at once */
	copy0 = read_keyed("/proc/vmstat", "ksm_swpin_copy");
	q0 = ksm_get("swapin_remerge_queued");
	m0 = ksm_get("swapin_remerge_merged");
	d0 = ksm_get("swapin_remerge_dropped");
	ksmd0 = ksmd_cpu_ms();
	t0 = now_ns();
	for (int k = 0; k < nprocs; k++)
		if (write(procs[k].cmd, "R", 1) != 1)
			return 1;
	while (done < nprocs) {
		struct pollfd pfd[MAX_PROCS];
		long long a = cg_anon_kib();

		if (a > anon_peak)
			anon_peak = a;
		for (int k = 0; k < nprocs; k++)
			pfd[k] = (struct pollfd){ .fd = procs[k].res, .events = POLLIN };
		if (poll(pfd, (nfds_t)nprocs, 20) <= 0)
			continue;
		for (int k = 0; k < nprocs; k++) {
			long long b;

			if (!(pfd[k].revents & (POLLIN | POLLHUP)))
				continue;
			if (read(procs[k].res, &b, sizeof(b)) != sizeof(b))
				return 1;
			bad += b;
			procs[k].res = -1;
			done++;
		}
	}
	tin = now_ns() - t0;
	anon_after = cg_anon_kib();
	if (anon_after > anon_peak)
		anon_peak = anon_after;

	/* until shared again: pages_sharing back, and one pfn in all */
	deadline = t0 + 300ULL * 1000000000ULL;
	while (now_ns() < deadline && (share_ms < 0 || pfn_ms < 0)) {
		long long a = cg_anon_kib();
		long long ms = (long long)((now_ns() - t0) / 1000000);

		if (a > anon_peak)
			anon_peak = a;
		if (share_ms < 0 && ksm_get("pages_sharing") >= share0)
			share_ms = ms;
		if (pfn_ms < 0 && count_one_pfn() >= pfn0)
			pfn_ms = ms;
		if (share_ms < 0 || pfn_ms < 0)
			sleep_ms(100);
	}
	ksmd_ms = ksmd_cpu_ms() - ksmd0;

	{
		size_t n = (size_t)nprocs * npages;

		qsort(lat_ns, n, sizeof(*lat_ns), cmp_u32);
		printf("BENCH3 procs=%d pages=%zu swapin_ms=%.1f fault_us_mean=%.1f fault_us_p50=%.1f fault_us_p99=%.1f anon_before_kib=%lld anon_after_kib=%lld anon_peak_kib=%lld copies=%lld remerge_queued=%lld remerge_merged=%lld remerge_dropped=%lld rmap_kept=%lld node_kept=%lld share_ms=%lld pfn_ms=%lld ksmd_cpu_ms=%lld bad=%lld\n",
		       nprocs, npages, (double)tin / 1e6, (double)tin / 1e3 / (double)n,
		       (double)lat_ns[n / 2] / 1e3, (double)lat_ns[n * 99 / 100] / 1e3, (long long)npages * 4,
		       anon_after, anon_peak, read_keyed("/proc/vmstat", "ksm_swpin_copy") - copy0,
		       q0 < 0 ? -1 : ksm_get("swapin_remerge_queued") - q0,
		       m0 < 0 ? -1 : ksm_get("swapin_remerge_merged") - m0,
		       d0 < 0 ? -1 : ksm_get("swapin_remerge_dropped") - d0, rmap_kept, node_kept, share_ms,
		       pfn_ms, ksmd_ms, bad);
	}

	/* no leak: once all have gone and run=2 has dropped every node */
	stop_procs();
	deadline = now_ns() + 60ULL * 1000000000ULL;
	while (now_ns() < deadline && (ksm_get("pages_shared") || ksm_get("pages_sharing")))
		sleep_ms(100);
	ksm_set("run", 2);
	ksm_set("run", 1);
	rmap_end = slab_objects("ksm_rmap_item") - rmap0;
	node_end = slab_objects("ksm_stable_node") - node0;
	leak = rmap_end || node_end || ksm_get("pages_shared") || ksm_get("pages_sharing");
	printf("# after exit: pages_shared %lld pages_sharing %lld, ksm_rmap_item %+lld, ksm_stable_node %+lld\n",
	       ksm_get("pages_shared"), ksm_get("pages_sharing"), rmap_end, node_end);

	if (limit_s >= 0) {
		if (bad)
			snprintf(verdict, sizeof(verdict), "%lld pages read back wrong", bad);
		else if (share_ms < 0 || share_ms > limit_s * 1000)
			snprintf(verdict, sizeof(verdict),
				 "pages_sharing not back to %lld within %lld s (%lld ms)", share0, limit_s,
				 share_ms);
		else if (pfn_ms < 0 || pfn_ms > limit_s * 1000)
			snprintf(verdict, sizeof(verdict),
				 "pages not at one pfn in all processes within %lld s (%lld ms)", limit_s,
				 pfn_ms);
		else if (leak)
			snprintf(verdict, sizeof(verdict), "KSM state left after all processes exited");
		printf("VERDICT %s%s\n", verdict[0] ? "fail: " : "ok", verdict);
	}
	return 0;
}
