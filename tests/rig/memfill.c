/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memfill: fill guest memory with content that KSM can or cannot merge.
 *
 * Runs as a static program inside the rig's guests.
 *
 *   memfill MODE MIB SEED
 *
 * MODE is "same" (page i holds a pattern derived from SEED and i, so guests
 * that use the same SEED hold identical pages; pages inside one guest
 * differ), "unique" (like "same" but mixed with boot-time randomness, so no
 * two guests share anything), or "zero" (pages are written with zeros, as
 * the zeroed free memory of a Windows guest).  After filling, prints one
 * line "memfill: filled MIB MiB mode MODE" on stdout and sleeps forever,
 * keeping the memory.
 *
 * Exit status: 2 on bad usage, 1 when the memory cannot be mapped; it does
 * not exit otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#define PAGE_BYTES 4096u

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t boot_random(void)
{
	uint64_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
			v = 0;
		close(fd);
	}
	return v ^ (uint64_t)getpid() << 32;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: memfill same|unique|zero MIB SEED\n");
		return 2;
	}
	const char *mode = argv[1];
	char *end = NULL;
	unsigned long mib = strtoul(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || mib == 0 || mib > 1u << 20) {
		fprintf(stderr, "memfill: bad MIB '%s'\n", argv[2]);
		return 2;
	}
	uint64_t seed = strtoull(argv[3], NULL, 0);
	int zero = strcmp(mode, "zero") == 0;
	if (strcmp(mode, "unique") == 0)
		seed ^= boot_random();
	else if (!zero && strcmp(mode, "same") != 0) {
		fprintf(stderr, "memfill: bad MODE '%s'\n", mode);
		return 2;
	}

	size_t bytes = (size_t)mib << 20;
	unsigned char *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memfill: mmap");
		return 1;
	}
	size_t pages = bytes / PAGE_BYTES;
	for (size_t i = 0; i < pages; i++) {
		uint64_t *p = (uint64_t *)(mem + i * PAGE_BYTES);
		if (zero) {
			memset(p, 0, PAGE_BYTES);
			continue;
		}
		uint64_t state = seed * 0x100000001b3ULL + i;
		for (size_t w = 0; w < PAGE_BYTES / sizeof *p; w++)
			p[w] = splitmix64(&state);
	}
	printf("memfill: filled %lu MiB mode %s\n", mib, mode);
	fflush(stdout);
	for (;;)
		pause();
}
