/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-status: the status document a client reads from the control
 * socket (kv_status_render_text: read into a KvStatus by
 * kv_status_from_json, then rendered; kv_inspect_status_render_text): ksmvirt
 * status renders whatever the socket it is pointed at answers. */
#include "fuzz.h"
#include "kv-balancer.h"
#include "kv-inspect-queue.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	g_autofree char *text = kv_status_render_text(buf, NULL);
	g_autofree char *itext = kv_inspect_status_render_text(buf);

	(void)text;
	(void)itext;
	return 0;
}
