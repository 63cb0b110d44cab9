/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-render-advise.c: the NUMA placement advice as a text table and as
 * JSON (schema "ksmvirt-advise/1"). */
#include "kv-advise.h"
#include "kv-escape.h"
#include "kv-json.h"
#include "kv-table.h"

char *
kv_render_advise_text(const KvAdvice *a, gboolean applying)
{
	g_autoptr(KvTable) t = kv_table_new(5, "llrrr");
	g_autoptr(GString) out = g_string_new("NUMA placement advice (KSM merges within a node when "
					      "merge_across_nodes=0)\n");
	guint64 gain_bytes =
		a->saved_proposed_bytes > a->saved_now_bytes ? a->saved_proposed_bytes - a->saved_now_bytes : 0;
	g_autofree char *now = kv_format_bytes(a->saved_now_bytes);
	g_autofree char *proposed = kv_format_bytes(a->saved_proposed_bytes);
	g_autofree char *gain = kv_format_bytes(gain_bytes);

	kv_table_add_rowv(t, "GUEST", "OS FAMILY", "RAM", "NODE NOW", "PROPOSED");
	for (guint i = 0; i < a->guests->len; i++) {
		const KvAdvicePlacement *p = &g_array_index(a->guests, KvAdvicePlacement, i);
		g_autofree char *ram = kv_format_bytes(p->ram_bytes);
		g_autofree char *n1 = p->node_now >= 0 ? g_strdup_printf("%d", p->node_now) : g_strdup("?");
		g_autofree char *n2 = g_strdup_printf("%d%s", p->node_proposed, kv_advice_moves(p) ? " *" : "");

		kv_table_add_rowv(t, p->name, p->family, ram, n1, n2);
	}
	kv_table_render(t, 2, out);
	g_string_append_printf(out, "Expected KSM savings: now %s, proposed %s, gain %s (* = moves)\n", now,
			       proposed, gain);
	if (a->merge_across_nodes == 1)
		g_string_append(out, "note: merge_across_nodes is 1: pages merge across nodes now, so placement "
				     "changes\n      no savings until it is set to 0 (which needs everything unmerged "
				     "first).\n");
	if (!applying)
		g_string_append(out, "Nothing changed (use --apply to pin guests with libvirt's numatune).\n");
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* One guest: {"name", "family", "node_now" (null: unknown), "node_proposed"}. */
static void
placement_json(JsonBuilder *b, const KvAdvicePlacement *p)
{
	JsonNode *now = json_node_new(JSON_NODE_NULL);

	if (p->node_now >= 0)
		json_node_init_int(now, p->node_now);
	json_builder_begin_object(b);
	kv_json_str(b, "name", p->name);
	kv_json_str(b, "family", p->family);
	json_builder_set_member_name(b, "node_now");
	json_builder_add_value(b, now);
	kv_json_i64(b, "node_proposed", p->node_proposed);
	json_builder_end_object(b);
}

char *
kv_render_advise_json(const KvAdvice *a)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree char *text = NULL, *valid = NULL;

	json_builder_begin_object(b);
	kv_json_str(b, "schema", "ksmvirt-advise/1");
	kv_json_i64(b, "merge_across_nodes", a->merge_across_nodes);
	kv_json_u64(b, "expected_saved_bytes_now", a->saved_now_bytes);
	kv_json_u64(b, "expected_saved_bytes_proposed", a->saved_proposed_bytes);
	json_builder_set_member_name(b, "guests");
	json_builder_begin_array(b);
	for (guint i = 0; i < a->guests->len; i++)
		placement_json(b, &g_array_index(a->guests, KvAdvicePlacement, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	text = kv_json_to_string(b, TRUE);
	/* Guest names are copied as they are: make the text UTF-8. */
	valid = kv_escape_json_text(text);
	return g_strconcat(valid, "\n", NULL);
}
