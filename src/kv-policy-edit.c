/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy-edit.c: a change to one guest's policy (see kv-policy-edit.h). */
#include "kv-policy-edit.h"

#include <string.h>

KvPolicyEdit *
kv_policy_edit_from_event(const KvEvent *ev)
{
	KvPolicyEdit *p = g_new0(KvPolicyEdit, 1);

	p->merge = ev->merge;
	p->group = g_strdup(ev->group);
	p->has_priority = ev->has_priority;
	p->priority = ev->priority;
	p->has_min_balloon = ev->has_min_balloon;
	p->min_balloon_mib = ev->min_balloon_mib;
	p->cells = g_array_new(FALSE, FALSE, sizeof(KvCellMerge));
	for (guint i = 0; i < ev->cell_merge->len; i++) {
		const KvCellMerge *c = &g_array_index(ev->cell_merge, KvCellMerge, i);
		KvCellMerge copy = *c;
		gboolean dup = FALSE;

		for (guint j = 0; j < p->cells->len && !dup; j++)
			dup = g_array_index(p->cells, KvCellMerge, j).cell == c->cell;
		if (!dup && c->merge != KV_POLICY_MERGE_DEFAULT)
			g_array_append_val(p->cells, copy);
	}
	return p;
}

void
kv_policy_edit_free(KvPolicyEdit *p)
{
	if (!p)
		return;
	g_free(p->group);
	g_array_unref(p->cells);
	g_free(p);
}

static gboolean
parse_merge(const char *v, KvPolicyMerge *out)
{
	if (!strcmp(v, "on"))
		*out = KV_POLICY_MERGE_ON;
	else if (!strcmp(v, "off"))
		*out = KV_POLICY_MERGE_OFF;
	else if (!strcmp(v, "default"))
		*out = KV_POLICY_MERGE_DEFAULT;
	else
		return FALSE;
	return TRUE;
}

/* A group name: UTF-8, 1 to KV_POLICY_MAX_NAME bytes, no control
 * characters (XML cannot hold most of them). */
static gboolean
valid_group(const char *v)
{
	gsize len = strlen(v);

	if (len == 0 || len > KV_POLICY_MAX_NAME || !g_utf8_validate(v, (gssize)len, NULL))
		return FALSE;
	for (const char *c = v; *c; c = g_utf8_next_char(c))
		if (g_unichar_iscntrl(g_utf8_get_char(c)))
			return FALSE;
	return TRUE;
}

static gint
cell_cmp(gconstpointer a, gconstpointer b)
{
	guint x = ((const KvCellMerge *)a)->cell, y = ((const KvCellMerge *)b)->cell;

	return x < y ? -1 : x > y;
}

static gboolean
apply_cell(KvPolicyEdit *p, const char *v)
{
	const char *colon = strchr(v, ':');
	g_autofree char *num = colon ? g_strndup(v, (gsize)(colon - v)) : NULL;
	guint64 cell;
	KvPolicyMerge m;

	if (!colon || !g_ascii_string_to_unsigned(num, 10, 0, 4095, &cell, NULL) || !parse_merge(colon + 1, &m))
		return FALSE;
	for (guint i = 0; i < p->cells->len; i++)
		if (g_array_index(p->cells, KvCellMerge, i).cell == cell) {
			g_array_remove_index(p->cells, i);
			break;
		}
	if (m != KV_POLICY_MERGE_DEFAULT) {
		if (p->cells->len >= KV_POLICY_MAX_CELLS)
			return FALSE;
		g_array_append_val(p->cells, ((KvCellMerge){ (guint)cell, m }));
		g_array_sort(p->cells, cell_cmp);
	}
	return TRUE;
}

gboolean
kv_policy_edit_apply(KvPolicyEdit *p, const char *arg, GError **error)
{
	const char *eq = strchr(arg, '=');
	g_autofree char *key = eq ? g_strndup(arg, (gsize)(eq - arg)) : NULL;
	const char *v = eq ? eq + 1 : NULL;
	const char *want = NULL;

	if (!key)
		want = "KEY=VALUE";
	else if (!strcmp(key, "merge")) {
		if (parse_merge(v, &p->merge))
			return TRUE;
		want = "merge=on, merge=off or merge=default";
	} else if (!strcmp(key, "group")) {
		if (!v[0] || !strcmp(v, "-")) {
			g_clear_pointer(&p->group, g_free);
			return TRUE;
		}
		if (valid_group(v)) {
			g_free(p->group);
			p->group = g_strdup(v);
			return TRUE;
		}
		want = "group=NAME (1 to 256 bytes of UTF-8 without control characters) or group=-";
	} else if (!strcmp(key, "cell")) {
		if (apply_cell(p, v))
			return TRUE;
		want = "cell=N:on, cell=N:off or cell=N:default (N from 0 to 4095, at most 64 cells)";
	} else {
		want = "merge=, group= or cell=";
	}
	{
		g_autofree char *shown = g_utf8_make_valid(arg, -1);

		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "'%s': expected %s", shown, want);
	}
	return FALSE;
}

static const char *
merge_name(KvPolicyMerge m)
{
	return m == KV_POLICY_MERGE_ON ? "on" : m == KV_POLICY_MERGE_OFF ? "off" : "default";
}

char *
kv_policy_edit_to_xml(const KvPolicyEdit *p)
{
	GString *s;

	if (p->merge == KV_POLICY_MERGE_DEFAULT && !p->group && !p->has_priority && !p->has_min_balloon &&
	    !p->cells->len)
		return NULL;
	s = g_string_new("<policy");
	if (p->merge != KV_POLICY_MERGE_DEFAULT)
		g_string_append_printf(s, " merge=\"%s\"", merge_name(p->merge));
	if (p->group) {
		g_autofree char *g = g_markup_escape_text(p->group, -1);

		g_string_append_printf(s, " group=\"%s\"", g);
	}
	if (p->has_priority)
		g_string_append_printf(s, " priority=\"%d\"", p->priority);
	if (p->has_min_balloon)
		g_string_append_printf(s, " min-balloon-mib=\"%" G_GUINT64_FORMAT "\"", p->min_balloon_mib);
	if (!p->cells->len) {
		g_string_append(s, "/>");
		return g_string_free(s, FALSE);
	}
	g_string_append(s, ">");
	for (guint i = 0; i < p->cells->len; i++) {
		const KvCellMerge *c = &g_array_index(p->cells, KvCellMerge, i);

		g_string_append_printf(s, "<node cell=\"%u\" merge=\"%s\"/>", c->cell, merge_name(c->merge));
	}
	g_string_append(s, "</policy>");
	return g_string_free(s, FALSE);
}

char *
kv_policy_edit_describe(const KvPolicyEdit *p)
{
	GString *s = g_string_new(NULL);

	if (p->merge != KV_POLICY_MERGE_DEFAULT)
		g_string_append_printf(s, " merge=%s", merge_name(p->merge));
	if (p->group)
		g_string_append_printf(s, " group=%s", p->group);
	if (p->has_priority)
		g_string_append_printf(s, " priority=%d", p->priority);
	if (p->has_min_balloon)
		g_string_append_printf(s, " min-balloon-mib=%" G_GUINT64_FORMAT, p->min_balloon_mib);
	for (guint i = 0; i < p->cells->len; i++) {
		const KvCellMerge *c = &g_array_index(p->cells, KvCellMerge, i);

		g_string_append_printf(s, " cell=%u:%s", c->cell, merge_name(c->merge));
	}
	if (!s->len)
		g_string_append(s, " none");
	return g_string_free(g_string_erase(s, 0, 1), FALSE);
}
