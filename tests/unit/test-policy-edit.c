/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: `ksmvirt policy` arguments applied to a domain's policy, and
 * the XML written back read again by the domain XML parser. */
#include "kv-policy-edit.h"

#include <string.h>

static KvEvent *
parse_domain(const char *policy_xml)
{
	g_autofree char *xml = g_strdup_printf("<domain><name>g</name><metadata>%s</metadata></domain>",
					       policy_xml ? policy_xml : "");
	KvEvent *ev = kv_event_new(KV_EVENT_OP_START, "begin", "-");

	g_assert_true(kv_event_parse_domain_xml(ev, xml, strlen(xml), NULL));
	return ev;
}

static void
test_apply(void)
{
	static const struct {
		const char *before; /* policy XML, or NULL */
		const char *args[4];
		const char *after; /* kv_policy_edit_describe, or NULL: an argument is refused */
	} cases[] = {
		{ NULL, { "merge=off" }, "merge=off" },
		{ NULL, { "group=gold", "merge=on" }, "merge=on group=gold" },
		{ "<k:policy xmlns:k='" KV_POLICY_NAMESPACE "' priority='5' min-balloon-mib='256' group='a'/>",
		  { "merge=off" },
		  "merge=off group=a priority=5 min-balloon-mib=256" },
		{ "<k:policy xmlns:k='" KV_POLICY_NAMESPACE "' merge='off' group='a'/>",
		  { "merge=default", "group=-" },
		  "none" },
		{ NULL, { "cell=1:off", "cell=0:on" }, "cell=0:on cell=1:off" },
		{ "<k:policy xmlns:k='" KV_POLICY_NAMESPACE "'><k:node cell='1' merge='off'/></k:policy>",
		  { "cell=1:default" },
		  "none" },
		{ NULL, { "merge=maybe" }, NULL },
		{ NULL, { "group=a\x01" }, NULL },
		{ NULL, { "cell=1" }, NULL },
		{ NULL, { "cell=9999:off" }, NULL },
		{ NULL, { "colour=red" }, NULL },
		{ NULL, { "merge" }, NULL },
		{ NULL, { "group=\xff" }, NULL },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(KvEvent) ev = parse_domain(cases[i].before);
		g_autoptr(KvPolicyEdit) p = kv_policy_edit_from_event(ev);
		g_autofree char *desc = NULL;
		gboolean ok = TRUE;

		for (guint j = 0; j < G_N_ELEMENTS(cases[i].args) && cases[i].args[j] && ok; j++) {
			g_autoptr(GError) err = NULL;

			ok = kv_policy_edit_apply(p, cases[i].args[j], &err);
			if (!ok)
				g_assert_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
		}
		g_test_message("case %u", i);
		if (!cases[i].after) {
			g_assert_false(ok);
			continue;
		}
		g_assert_true(ok);
		desc = kv_policy_edit_describe(p);
		g_assert_cmpstr(desc, ==, cases[i].after);
	}
}

/* What is written back reads as the same policy, names escaped. */
static void
test_round_trip(void)
{
	static const char *const args[] = { "merge=off", "group=a<b>&\"c'", "cell=1:off", "cell=3:on" };
	g_autoptr(KvEvent) ev = parse_domain("<k:policy xmlns:k='" KV_POLICY_NAMESPACE "' priority='-3'/>");
	g_autoptr(KvPolicyEdit) p = kv_policy_edit_from_event(ev);
	g_autofree char *xml = NULL;
	g_autoptr(KvEvent) back = NULL;
	g_autoptr(KvPolicyEdit) again = NULL;
	g_autofree char *d1 = NULL, *d2 = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(args); i++)
		g_assert_true(kv_policy_edit_apply(p, args[i], NULL));
	xml = kv_policy_edit_to_xml(p);
	g_assert_nonnull(xml);
	g_assert_true(g_str_has_prefix(xml, "<policy "));
	{
		/* As libvirt stores it: the element in the policy namespace. */
		g_autofree char *rest =
			g_strndup(xml + strlen("<policy"), strlen(xml) - strlen("<policy</policy>"));
		g_autofree char *stored = NULL;

		g_assert_true(g_str_has_suffix(xml, "</policy>"));
		stored = g_strdup_printf("<p:policy xmlns:p='%s'%s</p:policy>", KV_POLICY_NAMESPACE, rest);
		back = parse_domain(stored);
	}
	g_assert_true(back->has_policy);
	g_assert_null(back->policy_error);
	g_assert_cmpstr(back->group, ==, "a<b>&\"c'");
	again = kv_policy_edit_from_event(back);
	d1 = kv_policy_edit_describe(p);
	d2 = kv_policy_edit_describe(again);
	g_assert_cmpstr(d1, ==, d2);
	g_assert_cmpstr(d1, ==, "merge=off group=a<b>&\"c' priority=-3 cell=1:off cell=3:on");

	/* Nothing left: no element at all. */
	g_assert_true(kv_policy_edit_apply(p, "merge=default", NULL));
	g_assert_true(kv_policy_edit_apply(p, "group=-", NULL));
	g_assert_true(kv_policy_edit_apply(p, "cell=1:default", NULL));
	g_assert_true(kv_policy_edit_apply(p, "cell=3:default", NULL));
	p->has_priority = FALSE;
	g_clear_pointer(&xml, g_free);
	xml = kv_policy_edit_to_xml(p);
	g_assert_null(xml);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/policy-edit/apply", test_apply);
	g_test_add_func("/policy-edit/round-trip", test_round_trip);
	return g_test_run();
}
