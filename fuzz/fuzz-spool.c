/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-spool: one spool entry as the daemon replays it at start: read from
 * its file (kv_spool_read, here one regular temporary file rewritten per
 * input: the reader follows no symlink, so /proc/self/fd will not do), decoded (kv_event_from_json_line)
 * and folded into the registry. */
#include "fuzz.h"
#include "kv-file.h"
#include "kv-event.h"
#include "kv-registry.h"
#include "kv-spool.h"

#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(KvRegistry) reg = kv_registry_new();
	g_autoptr(KvEvent) ev = NULL;
	static gchar *path;
	static int fd = -1;
	g_autofree gchar *buf = NULL;
	gsize len = 0;

	if (fd < 0 && (fd = g_file_open_tmp("ksmvirt-fuzz-spool-XXXXXX", &path, NULL)) < 0)
		__builtin_trap();
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 || !kv_write_all(fd, data, size))
		__builtin_trap();
	buf = kv_spool_read(path, &len, NULL);
	if (!buf)
		return 0; /* over the size cap: refused, as the daemon would */
	ev = kv_event_from_json_line(buf, len, NULL);
	if (ev)
		kv_registry_apply(reg, ev);
	return 0;
}
