/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of kv-event: domain XML facts and the event line. */
#include <string.h>

#include "kv-event.h"
#include "kv-hv.h"

static const char full_xml[] = "<domain type='qemu' xmlns:ksmvirt='http://ksmvirt.org/xmlns/policy/1.0'>\n"
			       "  <name>web 1 \"quoted\" \xc3\xa9t\xc3\xa9</name>\n"
			       "  <uuid>0C2C4A4E-1D1B-4E6F-9A0B-1234567890AB</uuid>\n"
			       "  <memory unit='GiB'>2</memory>\n"
			       "  <currentMemory unit='MiB'>1536</currentMemory>\n"
			       "  <memtune><hard_limit unit='GiB'>3</hard_limit>"
			       "<min_guarantee unit='MiB'>768</min_guarantee></memtune>\n"
			       "  <metadata>\n"
			       "    <other:x xmlns:other='http://example.org/other' merge='off'/>\n"
			       "    <ksmvirt:policy merge='on' priority='-5' min-balloon-mib='512' group='web'/>\n"
			       "  </metadata>\n"
			       "  <cpu><numa>\n"
			       "    <cell id='0' cpus='0-1' memory='1' unit='GiB'/>\n"
			       "    <cell id='1' cpus='2-3' memory='1048576'/>\n"
			       "  </numa></cpu>\n"
			       "</domain>\n";

static KvEvent *
parse(const char *xml, GError **error)
{
	KvEvent *ev = kv_event_new(KV_EVENT_OP_START, "begin", "-");
	if (!kv_event_parse_domain_xml(ev, xml, strlen(xml), error)) {
		kv_event_free(ev);
		return NULL;
	}
	return ev;
}

static void
test_ops(void)
{
	const char *names[] = { "prepare", "start",   "started",   "stopped", "release",
				"migrate", "restore", "reconnect", "attach" };
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		KvEventOp op = kv_event_op_from_string(names[i]);
		g_assert_cmpint(op, !=, KV_EVENT_OP_UNKNOWN);
		g_assert_cmpstr(kv_event_op_to_string(op), ==, names[i]);
		g_assert_cmpint(kv_event_op_passes_xml(op), ==,
				strcmp(names[i], "migrate") == 0 || strcmp(names[i], "restore") == 0);
	}
	g_assert_cmpint(kv_event_op_from_string("Start"), ==, KV_EVENT_OP_UNKNOWN);
	g_assert_cmpint(kv_event_op_from_string(""), ==, KV_EVENT_OP_UNKNOWN);
	g_assert_cmpint(kv_event_op_from_string(NULL), ==, KV_EVENT_OP_UNKNOWN);
}

static void
test_units(void)
{
	static const struct {
		const char *value, *unit;
		gboolean ok;
		guint64 kib;
	} cases[] = {
		{ "1024", NULL, TRUE, 1024 }, { "1024", "KiB", TRUE, 1024 },
		{ "1024", "k", TRUE, 1024 },  { "1000", "KB", TRUE, 977 }, /* 1,000,000 bytes rounds up */
		{ "2", "MiB", TRUE, 2048 },   { "2", "M", TRUE, 2048 },
		{ "1", "MB", TRUE, 977 },     { "3", "GiB", TRUE, 3u << 20 },
		{ "1", "t", TRUE, 1u << 30 }, { "4096", "bytes", TRUE, 4 },
		{ "1", "b", TRUE, 1 },        { " 12 ", "KiB", TRUE, 12 },
		{ "", "KiB", FALSE, 0 },      { "12x", "KiB", FALSE, 0 },
		{ "-1", "KiB", FALSE, 0 },    { "1", "furlong", FALSE, 0 },
		{ "1", "Mi", FALSE, 0 },      { "99999999999999", "EiB", FALSE, 0 },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint64 kib = 0;
		g_autoptr(GError) err = NULL;
		gboolean ok = kv_event_memory_to_kib(cases[i].value, cases[i].unit, &kib, &err);
		g_test_message("case %u: '%s' %s", i, cases[i].value, cases[i].unit);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (ok)
			g_assert_cmpuint(kib, ==, cases[i].kib);
		else
			g_assert_error(err, KV_EVENT_ERROR, KV_EVENT_ERROR_VALUE);
	}
}

static void
test_parse_full(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KvEvent) ev = parse(full_xml, &err);
	g_assert_no_error(err);
	g_assert_true(ev->has_xml);
	g_assert_cmpstr(ev->name, ==, "web 1 \"quoted\" \xc3\xa9t\xc3\xa9");
	g_assert_cmpstr(ev->uuid, ==, "0c2c4a4e-1d1b-4e6f-9a0b-1234567890ab");
	g_assert_cmpuint(ev->memory_kib, ==, 2u << 20);
	g_assert_cmpuint(ev->current_memory_kib, ==, 1536u << 10);
	g_assert_cmpuint(ev->min_guarantee_kib, ==, 768u << 10);
	g_assert_cmpuint(ev->cells->len, ==, 2);
	KvEventCell *c1 = g_ptr_array_index(ev->cells, 1);
	g_assert_cmpuint(c1->id, ==, 1);
	g_assert_cmpuint(c1->memory_kib, ==, 1048576);
	g_assert_cmpstr(c1->cpus, ==, "2-3");
	g_assert_true(ev->has_policy);
	g_assert_cmpint(ev->merge, ==, KV_POLICY_MERGE_ON);
	g_assert_true(ev->has_priority);
	g_assert_cmpint(ev->priority, ==, -5);
	g_assert_true(ev->has_min_balloon);
	g_assert_cmpuint(ev->min_balloon_mib, ==, 512);
	g_assert_cmpstr(ev->group, ==, "web");
	g_assert_null(ev->policy_error);
	g_assert_false(kv_event_merging_disabled(ev));
	g_auto(GStrv) why = kv_event_ksm_impossible(ev);
	g_assert_cmpuint(g_strv_length(why), ==, 0);
}

static void
test_parse_backing(void)
{
	static const struct {
		const char *backing;
		gboolean disabled;
		guint impossible;
		const char *first;
	} cases[] = {
		{ "<memoryBacking><nosharepages/></memoryBacking>", TRUE, 0, NULL },
		{ "<memoryBacking><hugepages/></memoryBacking>", FALSE, 1, "hugepages" },
		{ "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>", FALSE, 2,
		  "memfd" },
		{ "<memoryBacking><source type='file'/></memoryBacking>", FALSE, 1, "file" },
		{ "<memoryBacking><source type='anonymous'/><access mode='private'/></memoryBacking>", FALSE,
		  0, NULL },
		{ "<cpu><numa><cell id='0' cpus='0' memory='64' unit='MiB' memAccess='shared'/></numa></cpu>",
		  FALSE, 1, "shared" },
		{ "<metadata><ksmvirt:policy merge='off'/></metadata>", TRUE, 0, NULL },
		{ "<metadata><policy merge='off'/></metadata>", FALSE, 0, NULL }, /* no namespace */
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *xml = g_strdup_printf("<domain xmlns:ksmvirt='http://ksmvirt.org/xmlns/policy/1.0'>"
							"<name>g</name><memory>65536</memory>%s</domain>",
							cases[i].backing);
		g_autoptr(GError) err = NULL;
		g_autoptr(KvEvent) ev = parse(xml, &err);
		g_test_message("case %u: %s", i, cases[i].backing);
		g_assert_no_error(err);
		g_assert_cmpint(kv_event_merging_disabled(ev), ==, cases[i].disabled);
		g_auto(GStrv) why = kv_event_ksm_impossible(ev);
		g_assert_cmpuint(g_strv_length(why), ==, cases[i].impossible);
		if (cases[i].first)
			g_assert_true(g_str_has_prefix(why[0], cases[i].first));
	}
}

static void
test_parse_bad_policy(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KvEvent) ev =
		parse("<domain xmlns:k='http://ksmvirt.org/xmlns/policy/1.0'><name>g</name>"
		      "<metadata><k:policy merge='maybe' priority='high' group='g1'/></metadata></domain>",
		      &err);
	g_assert_no_error(err);
	g_assert_true(ev->has_policy);
	g_assert_cmpint(ev->merge, ==, KV_POLICY_MERGE_DEFAULT);
	g_assert_false(ev->has_priority);
	g_assert_cmpstr(ev->group, ==, "g1");
	g_assert_nonnull(ev->policy_error);
	g_assert_nonnull(strstr(ev->policy_error, "merge='maybe'"));
}

/* The owner (OpenStack Nova's project by default, any rule given) and
 * per-cell merge settings. */
static void
test_parse_owner_cells(void)
{
	static const char nova[] =
		"<domain xmlns:k='http://ksmvirt.org/xmlns/policy/1.0'><name>g</name><metadata>"
		"<nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'><nova:owner>"
		"<nova:user uuid='u-1'>admin</nova:user><nova:project uuid='p-42'>demo</nova:project>"
		"</nova:owner></nova:instance>"
		"<acme:tenant xmlns:acme='http://acme.example/vm'><acme:id>blue</acme:id></acme:tenant>"
		"<k:policy><k:node cell='1' merge='off'/><k:node cell='0' merge='on'/><k:node cell='x'/>"
		"</k:policy></metadata></domain>";
	const KvOwnerRule acme = { "http://acme.example/", "tenant/id" };
	const KvOwnerRule project_name = { "http://openstack.org/xmlns/libvirt/nova/", "instance/owner/project" };
	const KvOwnerRule missing = { "http://acme.example/", "tenant/none@x" };
	g_autoptr(GError) err = NULL;
	g_autoptr(KvEvent) ev = parse(nova, &err);
	g_autoptr(KvEvent) ev2 = kv_event_new(KV_EVENT_OP_START, "begin", "-");
	g_autoptr(KvEvent) ev3 = kv_event_new(KV_EVENT_OP_START, "begin", "-");
	g_autoptr(KvEvent) ev4 = kv_event_new(KV_EVENT_OP_START, "begin", "-");
	g_autoptr(KvEvent) copy = NULL;

	g_assert_no_error(err);
	g_assert_cmpstr(ev->owner, ==, "p-42");
	g_assert_cmpuint(ev->cell_merge->len, ==, 2);
	g_assert_cmpuint(g_array_index(ev->cell_merge, KvCellMerge, 0).cell, ==, 1);
	g_assert_cmpint(g_array_index(ev->cell_merge, KvCellMerge, 0).merge, ==, KV_POLICY_MERGE_OFF);
	g_assert_cmpint(g_array_index(ev->cell_merge, KvCellMerge, 1).merge, ==, KV_POLICY_MERGE_ON);
	g_assert_nonnull(ev->policy_error); /* cell='x' */
	copy = kv_event_copy(ev);
	g_assert_cmpstr(copy->owner, ==, "p-42");
	g_assert_cmpuint(copy->cell_merge->len, ==, 2);

	g_assert_true(kv_event_parse_domain_xml_owner(ev2, nova, strlen(nova), &acme, NULL));
	g_assert_cmpstr(ev2->owner, ==, "blue");
	g_assert_true(kv_event_parse_domain_xml_owner(ev3, nova, strlen(nova), &project_name, NULL));
	g_assert_cmpstr(ev3->owner, ==, "demo");
	g_assert_true(kv_event_parse_domain_xml_owner(ev4, nova, strlen(nova), &missing, NULL));
	g_assert_null(ev4->owner);
}

/* A group that is empty or not UTF-8 is refused, not used. */
static void
test_parse_bad_group(void)
{
	g_autoptr(KvEvent) ev = parse("<domain xmlns:k='http://ksmvirt.org/xmlns/policy/1.0'><name>g</name>"
				      "<metadata><k:policy group=''/></metadata></domain>",
				      NULL);

	g_assert_nonnull(ev);
	g_assert_null(ev->group);
	g_assert_nonnull(ev->policy_error);
}

static void
test_parse_domstatus(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KvEvent) ev = parse("<domstatus state='running' pid='42'><domain type='qemu' id='3'>"
				      "<name>inner</name><uuid>0c2c4a4e1d1b4e6f9a0b1234567890ab</uuid>"
				      "<memory unit='KiB'>4096</memory></domain></domstatus>",
				      &err);
	g_assert_no_error(err);
	g_assert_cmpstr(ev->name, ==, "inner");
	g_assert_cmpstr(ev->uuid, ==, "0c2c4a4e-1d1b-4e6f-9a0b-1234567890ab");
	g_assert_cmpuint(ev->current_memory_kib, ==, 4096);
	g_assert_cmpuint(ev->min_guarantee_kib, ==, 0);
}

static void
test_parse_errors(void)
{
	static const struct {
		const char *xml;
		int code;
	} cases[] = {
		{ "", KV_EVENT_ERROR_XML },
		{ "<domain><name>x</name>", KV_EVENT_ERROR_XML },
		{ "not xml at all", KV_EVENT_ERROR_XML },
		{ "<domain><name>a</name></domain><extra/>", KV_EVENT_ERROR_XML },
		{ "<network><name>n</name></network>", KV_EVENT_ERROR_DOMAIN },
		{ "<domain><uuid>0c2c4a4e-1d1b-4e6f-9a0b-1234567890ab</uuid></domain>", KV_EVENT_ERROR_DOMAIN },
		{ "<domain><name></name></domain>", KV_EVENT_ERROR_DOMAIN },
		/* Any entity declaration is refused, external or not. */
		{ "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>",
		  KV_EVENT_ERROR_XML },
		{ "<!DOCTYPE d [<!ENTITY x 'y'>]><domain><name>a</name></domain>", KV_EVENT_ERROR_XML },
		{ "<!DOCTYPE d [<!ENTITY % p 'y'>]><domain><name>a</name></domain>", KV_EVENT_ERROR_XML },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) err = NULL;
		KvEvent *ev = kv_event_new(KV_EVENT_OP_STOPPED, "end", "-");
		ev->name = g_strdup("from-argv");
		g_test_message("case %u: %s", i, cases[i].xml);
		g_assert_false(kv_event_parse_domain_xml(ev, cases[i].xml, strlen(cases[i].xml), &err));
		g_assert_error(err, KV_EVENT_ERROR, cases[i].code);
		/* The event keeps what it had. */
		g_assert_false(ev->has_xml);
		g_assert_cmpstr(ev->name, ==, "from-argv");
		kv_event_free(ev);
	}
}

static void
test_json_roundtrip(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KvEvent) ev = parse(full_xml, &err);
	g_assert_no_error(err);
	ev->hugepages = TRUE;
	ev->boot_id = g_strdup("aaaaaaaa-0000-4000-8000-000000000001");
	ev->seq = G_GUINT64_CONSTANT(123456789012345);
	g_free(ev->extra);
	ev->extra = g_strdup("line\nbreak");
	g_autofree gchar *line = kv_event_to_json_line(ev);
	g_assert_null(strchr(line, '\n'));
	g_autofree gchar *with_nl = g_strconcat(line, "\n", NULL);
	g_autoptr(KvEvent) back = kv_event_from_json_line(with_nl, strlen(with_nl), &err);
	g_assert_no_error(err);
	g_assert_cmpint(back->op, ==, KV_EVENT_OP_START);
	g_assert_cmpstr(back->subop, ==, "begin");
	g_assert_cmpstr(back->extra, ==, "line\nbreak");
	g_assert_cmpstr(back->id, ==, ev->id);
	g_assert_cmpint(back->time_us, ==, ev->time_us);
	g_assert_cmpstr(back->boot_id, ==, ev->boot_id);
	g_assert_cmpuint(back->seq, ==, ev->seq);
	g_assert_true(back->has_xml);
	g_assert_cmpstr(back->name, ==, ev->name);
	g_assert_cmpstr(back->uuid, ==, ev->uuid);
	g_assert_cmpuint(back->memory_kib, ==, ev->memory_kib);
	g_assert_cmpuint(back->current_memory_kib, ==, ev->current_memory_kib);
	g_assert_cmpuint(back->cells->len, ==, 2);
	KvEventCell *c0 = g_ptr_array_index(back->cells, 0);
	g_assert_cmpstr(c0->cpus, ==, "0-1");
	g_assert_cmpuint(c0->memory_kib, ==, 1u << 20);
	g_assert_true(back->hugepages);
	g_assert_false(back->nosharepages);
	g_assert_cmpint(back->merge, ==, KV_POLICY_MERGE_ON);
	g_assert_cmpint(back->priority, ==, -5);
	g_assert_cmpuint(back->min_balloon_mib, ==, 512);
	g_assert_cmpstr(back->group, ==, "web");
	/* And once more: the encoding is stable. */
	g_autofree gchar *again = kv_event_to_json_line(back);
	g_assert_cmpstr(again, ==, line);
}

static void
test_json_escapes(void)
{
	g_autoptr(KvEvent) ev = kv_event_new(KV_EVENT_OP_RELEASE, "end", "-");
	ev->name = g_strdup("t\tq\"b\\c\x01d\x7f \xe6\x97\xa5 bad\xc3\x28");
	g_autofree gchar *line = kv_event_to_json_line(ev);
	g_assert_null(strchr(line, '\t'));
	g_assert_true(g_utf8_validate(line, -1, NULL));
	g_autoptr(GError) err = NULL;
	g_autoptr(KvEvent) back = kv_event_from_json_line(line, strlen(line), &err);
	g_assert_no_error(err);
	g_assert_true(g_str_has_prefix(back->name, "t\tq\"b\\c\x01d\x7f \xe6\x97\xa5 bad"));
	/* The invalid byte became U+FFFD. */
	g_assert_nonnull(strstr(back->name, "\xef\xbf\xbd"));
	g_assert_false(back->has_xml);
	g_assert_false(back->has_policy);
	g_assert_null(back->uuid);
	/* No sequence: neither is written, neither comes back. */
	g_assert_null(strstr(line, "\"seq\""));
	g_assert_null(back->boot_id);
	g_assert_cmpuint(back->seq, ==, 0);
}

static void
test_json_errors(void)
{
	const char *bad[] = {
		"",
		"{",
		"[]",
		"{\"schema\":\"other/1\",\"op\":\"start\",\"name\":\"x\"}",
		"{\"schema\":\"ksmvirt-event/1\",\"op\":\"explode\",\"name\":\"x\"}",
		"{\"schema\":\"ksmvirt-event/1\",\"op\":\"start\"}",
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		g_assert_null(kv_event_from_json_line(bad[i], strlen(bad[i]), &err));
		g_assert_error(err, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON);
	}
}

static void
test_big_xml(void)
{
	/* 10 MB of metadata must parse, and quickly enough for a hook. */
	g_autoptr(GString) s = g_string_new("<domain><name>big</name><metadata><blob>");
	while (s->len < 10u << 20)
		g_string_append(s, "<item a='0123456789abcdef'>filler text</item>");
	g_string_append(s, "</blob></metadata><memory unit='MiB'>64</memory></domain>");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvEvent) ev = kv_event_new(KV_EVENT_OP_START, "begin", "-");
	g_assert_true(kv_event_parse_domain_xml(ev, s->str, s->len, &err));
	g_assert_no_error(err);
	g_assert_cmpstr(ev->name, ==, "big");
	g_assert_cmpuint(ev->memory_kib, ==, 65536);
}

/* Ten levels of ten references each: 10^9 copies of "lol" once expanded,
 * referenced in element text and in attribute values. */
static gchar *
billion_laughs(const char *body)
{
	g_autoptr(GString) s = g_string_new("<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
					    "<!ENTITY lol0 'lol'>\n");
	for (guint i = 1; i < 10; i++) {
		g_string_append_printf(s, "<!ENTITY lol%u '", i);
		for (guint j = 0; j < 10; j++)
			g_string_append_printf(s, "&lol%u;", i - 1);
		g_string_append(s, "'>\n");
	}
	g_string_append_printf(s, "]>\n%s\n", body);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
test_billion_laughs(void)
{
	static const char *const bodies[] = {
		"<domain><name>a&lol9;</name><memory>1&lol9;</memory></domain>",
		"<domain><name>a</name><memory unit='&lol9;'>1</memory></domain>",
		("<domain><name>a</name><metadata><ksmvirt:policy xmlns:ksmvirt="
		 "'http://ksmvirt.org/xmlns/policy/1.0' group='&lol9;'/></metadata></domain>"),
		"<domain><name>a</name><devices><disk><source file='/&lol9;'/></disk></devices></domain>",
	};
	for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
		g_autofree gchar *xml = billion_laughs(bodies[i]);
		g_autoptr(GError) err = NULL;
		g_autoptr(KvEvent) ev = kv_event_new(KV_EVENT_OP_START, "begin", "-");
		gint64 t0 = g_get_monotonic_time();
		g_assert_false(kv_event_parse_domain_xml(ev, xml, strlen(xml), &err));
		gint64 event_us = g_get_monotonic_time() - t0;
		g_assert_error(err, KV_EVENT_ERROR, KV_EVENT_ERROR_XML);
		g_assert_nonnull(strstr(err->message, "declares entities"));
		g_clear_error(&err);
		/* The daemon's other parse of domain XML (the disks to inspect). */
		t0 = g_get_monotonic_time();
		g_auto(GStrv) disks = kv_domain_disks_from_xml(xml, strlen(xml), &err);
		gint64 disks_us = g_get_monotonic_time() - t0;
		g_assert_null(disks);
		g_assert_nonnull(err);
		g_test_message("case %u: refused in %" G_GINT64_FORMAT " us and %" G_GINT64_FORMAT " us", i,
			       event_us, disks_us);
		/* Milliseconds, with room for sanitizers and a loaded machine. */
		g_assert_cmpint(event_us, <, 500000);
		g_assert_cmpint(disks_us, <, 500000);
	}
}

static void
test_xml_bounds(void)
{
	g_autoptr(GError) err = NULL;
	/* A DOCTYPE that declares nothing is harmless. */
	g_autoptr(KvEvent) ev = parse("<?xml version='1.0'?>\n<!DOCTYPE domain>\n"
				      "<domain><name>d&amp;t&#x41;</name></domain>",
				      &err);
	g_assert_no_error(err);
	g_assert_cmpstr(ev->name, ==, "d&tA");
	/* Over the size cap: refused without parsing. */
	gsize len = (16u << 20) + 1;
	g_autofree gchar *big = g_malloc(len);
	memset(big, ' ', len);
	memcpy(big, "<domain><name>big</name></domain>", 33);
	g_autoptr(KvEvent) e2 = kv_event_new(KV_EVENT_OP_START, "begin", "-");
	g_assert_false(kv_event_parse_domain_xml(e2, big, len, &err));
	g_assert_error(err, KV_EVENT_ERROR, KV_EVENT_ERROR_XML);
	g_assert_nonnull(strstr(err->message, "over the limit"));
	g_clear_error(&err);
	/* Nesting deeper than libxml2's default bound (XML_PARSE_HUGE lifts it). */
	g_autoptr(GString) deep = g_string_new("<domain><name>deep</name><metadata>");
	for (guint i = 0; i < 100000; i++)
		g_string_append(deep, "<a>");
	g_autoptr(KvEvent) e3 = kv_event_new(KV_EVENT_OP_START, "begin", "-");
	g_assert_false(kv_event_parse_domain_xml(e3, deep->str, deep->len, &err));
	g_assert_error(err, KV_EVENT_ERROR, KV_EVENT_ERROR_XML);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/event/ops", test_ops);
	g_test_add_func("/event/units", test_units);
	g_test_add_func("/event/parse/full", test_parse_full);
	g_test_add_func("/event/parse/backing", test_parse_backing);
	g_test_add_func("/event/parse/bad-policy", test_parse_bad_policy);
	g_test_add_func("/event/parse/owner-cells", test_parse_owner_cells);
	g_test_add_func("/event/parse/bad-group", test_parse_bad_group);
	g_test_add_func("/event/parse/domstatus", test_parse_domstatus);
	g_test_add_func("/event/parse/errors", test_parse_errors);
	g_test_add_func("/event/parse/big", test_big_xml);
	g_test_add_func("/event/parse/billion-laughs", test_billion_laughs);
	g_test_add_func("/event/parse/bounds", test_xml_bounds);
	g_test_add_func("/event/json/roundtrip", test_json_roundtrip);
	g_test_add_func("/event/json/escapes", test_json_escapes);
	g_test_add_func("/event/json/errors", test_json_errors);
	return g_test_run();
}
