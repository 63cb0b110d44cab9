/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-spool: one spool entry as the daemon replays it at start: read from
 * its file (kv_spool_read, here a memfd), decoded (kv_event_from_json_line)
 * and folded into the registry. */
#include "fuzz.h"
#include "kv-event.h"
#include "kv-registry.h"
#include "kv-spool.h"

#include <sys/mman.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(KvRegistry) reg = kv_registry_new();
	g_autoptr(KvEvent) ev = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	int fd = memfd_create("spool-entry", MFD_CLOEXEC);

	if (fd < 0 || !kv_write_all(fd, data, size))
		__builtin_trap();
	path = g_strdup_printf("/proc/self/fd/%d", fd);
	buf = kv_spool_read(path, &len, NULL);
	close(fd);
	if (!buf)
		__builtin_trap();
	ev = kv_event_from_json_line(buf, len, NULL);
	if (ev)
		kv_registry_apply(reg, ev);
	return 0;
}
