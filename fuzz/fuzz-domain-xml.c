/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-domain-xml: the domain XML libvirt feeds the hook on stdin
 * (kv_event_parse_domain_xml), then the facts it found through the event
 * line encoder and decoder, as the hook sends them to the daemon. */
#include "fuzz.h"
#include "kv-event.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(KvEvent) ev = kv_event_new(KV_EVENT_OP_START, "begin", "-");
	g_autoptr(GError) err = NULL;
	g_autofree gchar *line = NULL;
	g_autoptr(KvEvent) back = NULL;
	g_auto(GStrv) why = NULL;

	if (!kv_event_parse_domain_xml(ev, (const char *)data, size, &err))
		return 0;
	why = kv_event_ksm_impossible(ev);
	(void)kv_event_merging_disabled(ev);
	line = kv_event_to_json_line(ev);
	back = kv_event_from_json_line(line, strlen(line), NULL);
	if (!back)
		__builtin_trap(); /* what the hook writes, the daemon must read */
	return 0;
}
