/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-inspect: what the inspection child prints (kv_inspect_child_result,
 * kv_os_info_from_json), then the answer through its own JSON encoder. */
#include "fuzz.h"
#include "kv-inspect.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autoptr(KvOsInfo) os = kv_inspect_child_result(buf, 0, FALSE, 60);
	g_autoptr(KvOsInfo) direct = kv_os_info_from_json(buf, NULL);
	g_autofree char *json = NULL;
	g_autofree char *family = NULL;

	(void)direct;
	if (!os)
		return 0;
	family = kv_os_info_family(os);
	(void)kv_os_info_is_windows(os);
	(void)kv_os_info_is_transient(os);
	json = kv_os_info_to_json(os);
	return 0;
}
