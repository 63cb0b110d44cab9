/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-status.c: the status document and its text (see kv-status.h). */
#include "kv-status.h"

#include "kv-act.h"
#include "kv-escape.h"
#include "kv-json.h"

void
kv_status_add_plan(JsonBuilder *jb, const KvPlan *p)
{
	json_builder_set_member_name(jb, "decisions");
	json_builder_begin_array(jb);
	for (guint i = 0; p && i < p->summaries->len; i++) {
		const KvSummary *s = g_ptr_array_index(p->summaries, i);

		json_builder_begin_object(jb);
		kv_json_str(jb, "policy", s->policy);
		kv_json_str(jb, "decision", s->decision);
		kv_json_str(jb, "reason", s->reason);
		json_builder_end_object(jb);
	}
	json_builder_end_array(jb);
	json_builder_set_member_name(jb, "actions");
	json_builder_begin_array(jb);
	for (guint i = 0; p && i < p->actions->len; i++) {
		const KvAction *a = g_ptr_array_index(p->actions, i);
		g_autofree char *d = kv_action_describe(a);

		json_builder_begin_object(jb);
		kv_json_str(jb, "policy", a->policy);
		kv_json_str(jb, "description", d);
		if (a->kind == KV_ACTION_KSM_KNOB)
			kv_json_str(jb, "knob", kv_ksm_knob_name(a->knob));
		if (a->guest)
			kv_json_str(jb, "guest", a->guest);
		if (a->value_str)
			kv_json_str(jb, "value", a->value_str);
		else
			kv_json_u64(jb, "value", a->value);
		kv_json_u64(jb, "old_value", a->old_value);
		kv_json_str(jb, "result", kv_action_result_to_string(a->result));
		if (a->error)
			kv_json_str(jb, "error", a->error);
		json_builder_end_object(jb);
	}
	json_builder_end_array(jb);
}

char *
kv_status_render_text(const char *json, GError **error)
{
	g_autofree char *valid = kv_escape_json_text(json);
	g_autoptr(JsonNode) root = kv_json_parse(valid, -1, 0, 0, error);
	JsonObject *o, *host, *ksm;
	JsonArray *guests, *dec, *acts, *notes, *nodes;
	GString *t;

	if (!root)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(root) ||
	    g_strcmp0(kv_json_get_str(json_node_get_object(root), "schema", NULL), KV_STATUS_SCHEMA) != 0) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "not a %s document", KV_STATUS_SCHEMA);
		return NULL;
	}
	o = json_node_get_object(root);
	host = kv_json_get_object(o, "host");
	ksm = kv_json_get_object(o, "ksm");
	t = g_string_new(NULL);
	g_string_append_printf(t, "tick %" G_GINT64_FORMAT " every %.1f s%s%s", kv_json_get_int(o, "tick", 0),
			       kv_json_get_int(o, "tick_ms", 0) / 1000.0,
			       kv_json_get_bool(o, "dry_run", FALSE) ? ", dry run" : "",
			       kv_json_get_bool(o, "libvirt", FALSE) ? ", libvirt connected" : "");
	if (kv_json_get_str(o, "libvirt_error", NULL)) {
		g_autofree char *why = kv_escape_term(kv_json_get_str(o, "libvirt_error", NULL));

		g_string_append_printf(t, ", libvirt disconnected for %.0f s: %s",
				       MAX(0.0, kv_json_get_double(o, "time", 0) -
					   kv_json_get_double(o, "libvirt_down_since", 0)),
				       why);
	}
	g_string_append_c(t, '\n');
	if (host) {
		g_string_append_printf(t, "host: MemAvailable %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " MiB",
				       kv_json_get_int(host, "mem_available_kib", 0) / 1024,
				       kv_json_get_int(host, "mem_total_kib", 0) / 1024);
		if (json_object_has_member(host, "psi_some_avg10"))
			g_string_append_printf(t, ", PSI some %.1f%% full %.1f%%",
					       kv_json_get_double(host, "psi_some_avg10", 0),
					       kv_json_get_double(host, "psi_full_avg10", 0));
		if (json_object_has_member(host, "gain_pages_per_cpu_s"))
			g_string_append_printf(t, ", KSM gain %.0f pages/CPU-s",
					       kv_json_get_double(host, "gain_pages_per_cpu_s", 0));
		g_string_append_c(t, '\n');
		nodes = kv_json_get_array(host, "nodes");
		for (guint i = 0; nodes && json_array_get_length(nodes) > 1 && i < json_array_get_length(nodes); i++) {
			JsonObject *n = kv_json_array_object(nodes, i);
			gint64 total = kv_json_get_int(n, "mem_total_kib", 0);

			g_string_append_printf(t, "%snode %" G_GINT64_FORMAT " %.0f%% free%s", i ? ", " : "nodes: ",
					       kv_json_get_int(n, "id", -1),
					       total > 0 ? 100.0 * (double)kv_json_get_int(n, "mem_free_kib", 0) / (double)total : 0.0,
					       kv_json_get_bool(n, "under_pressure", FALSE) ?
					       " (under pressure)" : "");
			if (i + 1 == json_array_get_length(nodes))
				g_string_append_c(t, '\n');
		}
	}
	if (ksm)
		g_string_append_printf(t, "ksm: run %" G_GINT64_FORMAT ", pages_to_scan %" G_GINT64_FORMAT
				       ", sleep %" G_GINT64_FORMAT " ms, shared %" G_GINT64_FORMAT
				       ", sharing %" G_GINT64_FORMAT ", merge_across_nodes %" G_GINT64_FORMAT "\n",
				       kv_json_get_int(ksm, "run", -1), kv_json_get_int(ksm, "pages_to_scan", -1),
				       kv_json_get_int(ksm, "sleep_millisecs", -1), kv_json_get_int(ksm, "pages_shared", -1),
				       kv_json_get_int(ksm, "pages_sharing", -1),
				       kv_json_get_int(ksm, "merge_across_nodes", -1));
	guests = kv_json_get_array(o, "guests");
	g_string_append_printf(t, "\n%-24s %7s %9s %9s %9s %5s %11s %11s\n", "GUEST", "PID", "RAM MiB",
			       "RSS MiB", "MERGED", "PRIO", "BALLOON MiB", "LIMIT MiB");
	for (guint i = 0; guests && i < json_array_get_length(guests); i++) {
		JsonObject *g = kv_json_array_object(guests, i);
		JsonObject *bal = kv_json_get_object(g, "balloon"), *cg = kv_json_get_object(g, "cgroup");
		g_autofree char *bs = bal ? g_strdup_printf("%" G_GINT64_FORMAT "%s",
							   kv_json_get_int(bal, "actual_kib", 0) / 1024,
							   kv_json_get_bool(bal, "driver", FALSE) ? "" : "*") :
				      g_strdup("-");
		g_autofree char *ls = !cg ? g_strdup("-") : kv_json_get_int(cg, "limit_bytes", -1) < 0 ?
				      g_strdup("max") : g_strdup_printf("%" G_GINT64_FORMAT,
									  kv_json_get_int(cg, "limit_bytes", 0) >> 20);
		g_autofree char *name = kv_escape_term(kv_json_get_str(g, "name", NULL) ? kv_json_get_str(g, "name", NULL) : "?");

		g_string_append_printf(t, "%-24s %7" G_GINT64_FORMAT " %9" G_GINT64_FORMAT " %9" G_GINT64_FORMAT
				       " %9" G_GINT64_FORMAT " %5" G_GINT64_FORMAT " %11s %11s\n",
				       name, kv_json_get_int(g, "pid", 0),
				       kv_json_get_int(g, "ram_kib", 0) / 1024, kv_json_get_int(g, "rss_kib", 0) / 1024,
				       kv_json_get_int(g, "merging_pages", 0), kv_json_get_int(g, "priority", 0), bs, ls);
	}
	if (!guests || json_array_get_length(guests) == 0)
		g_string_append(t, "(no guests)\n");
	dec = kv_json_get_array(o, "decisions");
	g_string_append(t, "\nDecisions:\n");
	for (guint i = 0; dec && i < json_array_get_length(dec); i++) {
		JsonObject *d = kv_json_array_object(dec, i);
		g_autofree char *policy = kv_escape_term(kv_json_get_str(d, "policy", NULL));
		g_autofree char *decision = kv_escape_term(kv_json_get_str(d, "decision", NULL));
		g_autofree char *reason = kv_escape_term(kv_json_get_str(d, "reason", NULL));

		g_string_append_printf(t, "  %-8s %-12s %s\n", policy, decision, reason);
	}
	acts = kv_json_get_array(o, "actions");
	g_string_append(t, "\nActions:\n");
	for (guint i = 0; acts && i < json_array_get_length(acts); i++) {
		JsonObject *a = kv_json_array_object(acts, i);
		g_autofree char *result = kv_escape_term(kv_json_get_str(a, "result", NULL));
		g_autofree char *what = kv_escape_term(kv_json_get_str(a, "description", NULL));
		g_autofree char *why = kv_escape_term(kv_json_get_str(a, "error", NULL));

		g_string_append_printf(t, "  [%s] %s%s%s\n", result, what, kv_json_get_str(a, "error", NULL) ? ": " : "", why);
	}
	if (!acts || json_array_get_length(acts) == 0)
		g_string_append(t, "  (none: every knob already has the wanted value)\n");
	acts = kv_json_get_array(o, "recent_actions");
	if (acts && json_array_get_length(acts) > 0) {
		guint n = json_array_get_length(acts), from = n > 10 ? n - 10 : 0;

		g_string_append(t, "\nRecent changes:\n");
		for (guint i = from; i < n; i++) {
			g_autofree char *line = kv_escape_term(kv_json_array_str(acts, i));

			g_string_append_printf(t, "  %s\n", line);
		}
	}
	notes = kv_json_get_array(o, "notes");
	for (guint i = 0; notes && i < json_array_get_length(notes); i++) {
		g_autofree char *note = kv_escape_term(kv_json_array_str(notes, i));

		g_string_append_printf(t, "note: %s\n", note);
	}
	return g_string_free(t, FALSE);
}
