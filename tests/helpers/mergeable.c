/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mergeable: a test process whose memory KSM can merge.
 *
 * Maps MIB MiB of anonymous memory, fills it, marks it MADV_MERGEABLE and
 * waits (until SIGTERM/SIGINT, or --hold SECONDS).
 *
 *   --fill same     page i holds a pattern from (seed, i): instances with
 *                   the same seed hold identical memory, and no two pages
 *                   of one instance are alike
 *   --fill unique   as "same" but mixed with the pid and time: merges with
 *                   nothing
 *   --fill zero     every byte zero, written (so the pages are real), as
 *                   the zeroed free memory of a Windows guest
 *
 * Prints "ready PID ADDRESS BYTES" on stdout once filled and advised.
 * Exit status: 0 on a signal or the end of --hold, 1 on a failure, 2 on
 * bad usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static void
usage(void)
{
	fprintf(stderr, "usage: mergeable --mib N --fill same|unique|zero [--seed S] [--hold SECONDS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	unsigned long mib = 0, seed = 1, hold = 0;
	const char *fill = NULL;
	long page = sysconf(_SC_PAGESIZE);
	size_t bytes;
	unsigned char *mem;
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--mib"))
			mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--fill"))
			fill = argv[++i];
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--hold"))
			hold = strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (!mib || !fill || (strcmp(fill, "same") && strcmp(fill, "unique") && strcmp(fill, "zero")))
		usage();
	bytes = (size_t)mib << 20;
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "mergeable: mmap %zu bytes: %s\n", bytes, strerror(errno));
		return 1;
	}
	/* No transparent huge pages: KSM merges base pages only. */
	madvise(mem, bytes, MADV_NOHUGEPAGE);
	if (!strcmp(fill, "zero")) {
		memset(mem, 0, bytes);
	} else {
		uint64_t salt = 0;

		if (!strcmp(fill, "unique")) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			salt = mix(((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec);
		}
		for (size_t p = 0; p < bytes / (size_t)page; p++) {
			uint64_t *w = (uint64_t *)(mem + p * (size_t)page);
			uint64_t x = mix(seed * 0x9e3779b97f4a7c15ULL + p + 1) ^ salt;

			for (size_t k = 0; k < (size_t)page / sizeof(*w); k++) {
				x = mix(x + k);
				w[k] = x;
			}
		}
	}
	if (madvise(mem, bytes, MADV_MERGEABLE) != 0) {
		fprintf(stderr, "mergeable: madvise(MADV_MERGEABLE): %s\n", strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (hold) {
		sa.sa_handler = on_signal;
		sigaction(SIGALRM, &sa, NULL);
		alarm((unsigned)hold);
	}
	printf("ready %d %p %zu\n", (int)getpid(), (void *)mem, bytes);
	fflush(stdout);
	while (!stop)
		pause();
	return 0;
}
