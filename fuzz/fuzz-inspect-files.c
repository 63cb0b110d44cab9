/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-inspect-files: the inspection cache and the OS map files the daemon
 * keeps under its state directory (kv_inspect_cache_load, kv_os_map_load),
 * fed through a memfd. */
#include "fuzz.h"
#include "kv-file.h"
#include "kv-inspect.h"
#include "kv-spool.h"

#include <sys/mman.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(KvInspectCache) cache = NULL;
	g_autoptr(GHashTable) map = NULL;
	g_autofree gchar *path = NULL;
	int fd = memfd_create("inspect-file", MFD_CLOEXEC);

	if (fd < 0 || !kv_write_all(fd, data, size))
		__builtin_trap();
	path = g_strdup_printf("/proc/self/fd/%d", fd);
	cache = kv_inspect_cache_load(path, NULL);
	map = kv_os_map_load(path, NULL);
	close(fd);
	return 0;
}
