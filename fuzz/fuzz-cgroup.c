/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-cgroup: /proc/PID/cgroup (kv_cgroup_parse) and a cgroup memory
 * limit file (kv_cgroup_limit_parse: memory.high, memory.limit_in_bytes). */
#include "fuzz.h"
#include "kv-sense.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	KvCgroupVersion version;
	g_autofree char *path = kv_cgroup_parse(buf, &version);

	(void)path;
	(void)kv_cgroup_limit_parse(buf);
	return 0;
}
