/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-render-json.c: the --json report (schema "ksmvirt-report/1",
 * documented in doc/report-json.md). */
#include "kv-report.h"
#include "kv-escape.h"
#include "kv-json.h"
#include "kv-render-sharing.h"

static void
census_counts(JsonBuilder *b, const KvReport *r, const KvCensus *c)
{
	json_builder_begin_object(b);
	kv_json_u64(b, "pages", c->pages);
	kv_json_u64(b, "present_pages", c->present);
	kv_json_u64(b, "swapped_pages", c->swapped);
	kv_json_u64(b, "merged_pages", c->total.merged);
	kv_json_u64(b, "zero_pages", c->total.zero);
	kv_json_u64(b, "private_pages", c->total.private_);
	json_builder_set_member_name(b, "host_nodes");
	json_builder_begin_array(b);
	for (guint i = 0; i < c->per_node->len; i++) {
		const KvCensusCount *cc = &g_array_index(c->per_node, KvCensusCount, i);

		if (i == r->topo->nodes->len && cc->merged + cc->zero + cc->private_ == 0)
			continue;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "node");
		if (i < r->topo->nodes->len)
			json_builder_add_int_value(b, g_array_index(r->topo->nodes, KvNumaNode, i).id);
		else
			json_builder_add_null_value(b);
		kv_json_u64(b, "merged_pages", cc->merged);
		kv_json_u64(b, "zero_pages", cc->zero);
		kv_json_u64(b, "private_pages", cc->private_);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
}

static const char *
tristate(KvTristate t)
{
	return t == KV_TRISTATE_ON ? "on" : t == KV_TRISTATE_OFF ? "off" : "default";
}

static void
ksm_stat(JsonBuilder *b, const KvKsmStat *k)
{
	json_builder_begin_object(b);
	if (k->have & KV_KSM_STAT_RMAP_ITEMS)
		kv_json_u64(b, "ksm_rmap_items", k->rmap_items);
	if (k->have & KV_KSM_STAT_MERGING_PAGES)
		kv_json_u64(b, "ksm_merging_pages", k->merging_pages);
	if (k->have & KV_KSM_STAT_ZERO_PAGES)
		kv_json_u64(b, "ksm_zero_pages", k->zero_pages);
	if (k->have & KV_KSM_STAT_PROCESS_PROFIT) {
		json_builder_set_member_name(b, "ksm_process_profit");
		json_builder_add_int_value(b, k->process_profit);
	}
	if (k->have & KV_KSM_STAT_MERGEABLE) {
		json_builder_set_member_name(b, "ksm_mergeable");
		json_builder_add_boolean_value(b, k->mergeable);
	}
	if (k->have & KV_KSM_STAT_MERGE_ANY) {
		json_builder_set_member_name(b, "ksm_merge_any");
		json_builder_add_boolean_value(b, k->merge_any);
	}
	json_builder_end_object(b);
}

char *
kv_render_json(const KvReport *r)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	const KvKsm *k = r->ksm;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "schema");
	json_builder_add_string_value(b, KV_REPORT_SCHEMA);

	json_builder_set_member_name(b, "host");
	json_builder_begin_object(b);
	kv_json_u64(b, "page_size", r->page_size);
	json_builder_set_member_name(b, "ksm");
	json_builder_begin_object(b);
	for (int i = 0; i < KV_KSM_N_KNOBS; i++) {
		json_builder_set_member_name(b, kv_ksm_knob_name((KvKsmKnob)i));
		if (!kv_ksm_has(k, (KvKsmKnob)i))
			json_builder_add_string_value(b, "unsupported");
		else if (i == KV_KSM_ADVISOR_MODE)
			json_builder_add_string_value(b, k->advisor_mode);
		else if (kv_ksm_knob_is_signed((KvKsmKnob)i))
			json_builder_add_int_value(b, (gint64)k->value[i]);
		else
			kv_json_add_u64(b, k->value[i]);
	}
	json_builder_end_object(b);
	if (k->extra_names && k->extra_names->len) {
		json_builder_set_member_name(b, "ksm_other_files");
		json_builder_begin_object(b);
		for (guint i = 0; i < k->extra_names->len; i++) {
			json_builder_set_member_name(b, k->extra_names->pdata[i]);
			json_builder_add_string_value(b, k->extra_values->pdata[i]);
		}
		json_builder_end_object(b);
	}
	kv_json_u64(b, "saved_bytes", r->saved_bytes);
	json_builder_set_member_name(b, "sharing_ratio");
	json_builder_add_double_value(b, r->sharing_ratio);
	json_builder_set_member_name(b, "ksmd_cpu_percent");
	if (r->ksmd_cpu_percent >= 0)
		json_builder_add_double_value(b, r->ksmd_cpu_percent);
	else
		json_builder_add_null_value(b);
	kv_json_u64(b, "interval_ms", r->interval_ms);
	json_builder_set_member_name(b, "vmstat");
	json_builder_begin_object(b);
	if (r->vmstat.have & 1)
		kv_json_u64(b, "ksm_swpin_copy", r->vmstat.ksm_swpin_copy);
	if (r->vmstat.have & 2)
		kv_json_u64(b, "cow_ksm", r->vmstat.cow_ksm);
	if (r->vmstat.have & 4)
		kv_json_u64(b, "pswpin", r->vmstat.pswpin);
	if (r->vmstat.have & 8)
		kv_json_u64(b, "pswpout", r->vmstat.pswpout);
	json_builder_end_object(b);
	if (r->meminfo.have & 1)
		kv_json_u64(b, "mem_total_bytes", r->meminfo.mem_total_kib * 1024);
	if (r->meminfo.have & 4)
		kv_json_u64(b, "mem_available_bytes", r->meminfo.mem_available_kib * 1024);
	json_builder_end_object(b);

	json_builder_set_member_name(b, "guests");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->guests->len; i++) {
		const KvGuest *g = r->guests->pdata[i];

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, g->name);
		json_builder_set_member_name(b, "uuid");
		if (g->uuid)
			json_builder_add_string_value(b, g->uuid);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "source");
		json_builder_add_string_value(b, g->source);
		json_builder_set_member_name(b, "pid");
		json_builder_add_int_value(b, g->pid);
		kv_json_u64(b, "ram_bytes", g->ram_bytes);
		kv_json_u64(b, "rss_bytes", g->rss_bytes);
		kv_json_u64(b, "swap_bytes", g->swap_bytes);
		json_builder_set_member_name(b, "ksm_stat");
		ksm_stat(b, &g->ksm);
		json_builder_set_member_name(b, "os");
		if (g->os)
			kv_os_info_build_json(b, g->os, TRUE);
		else
			json_builder_add_null_value(b);
		kv_json_u64(b, "saved_bytes", g->saved_bytes);
		json_builder_set_member_name(b, "saved_method");
		json_builder_add_string_value(b, g->saved_method ? g->saved_method : "estimate");
		kv_json_u64(b, "zero_page_saved_bytes", MIN(g->ksm.zero_pages * r->page_size, g->saved_bytes));
		json_builder_set_member_name(b, "saved_percent");
		json_builder_add_double_value(b, g->saved_percent);
		json_builder_set_member_name(b, "merging_disabled");
		json_builder_add_boolean_value(b, g->merging_disabled);
		if (g->group)
			kv_json_str(b, "group", g->group);
		json_builder_set_member_name(b, "nodes");
		json_builder_begin_array(b);
		for (guint j = 0; j < g->nodes->len; j++) {
			const KvGuestNode *n = g->nodes->pdata[j];

			json_builder_begin_object(b);
			json_builder_set_member_name(b, "guest_node");
			if (n->guest_node >= 0)
				json_builder_add_int_value(b, n->guest_node);
			else
				json_builder_add_null_value(b);
			json_builder_set_member_name(b, "backend");
			json_builder_add_string_value(b, n->backend_id);
			kv_json_u64(b, "size_bytes", n->size_bytes);
			json_builder_set_member_name(b, "merge");
			json_builder_add_string_value(b, tristate(n->merge_configured));
			json_builder_set_member_name(b, "found");
			json_builder_add_boolean_value(b, n->found);
			if (n->found) {
				kv_json_u64(b, "rss_bytes", n->rss_bytes);
				kv_json_u64(b, "swap_bytes", n->swap_bytes);
				json_builder_set_member_name(b, "ksm_bytes");
				if (n->have_ksm)
					json_builder_add_int_value(b, (gint64)n->ksm_bytes);
				else
					json_builder_add_string_value(b, "unsupported");
				json_builder_set_member_name(b, "mergeable");
				json_builder_add_boolean_value(b, n->mergeable);
				json_builder_set_member_name(b, "dontfork");
				json_builder_add_boolean_value(b, n->dontfork);
			}
			json_builder_set_member_name(b, "unmergeable_reason");
			if (n->unmergeable_reason)
				json_builder_add_string_value(b, n->unmergeable_reason);
			else
				json_builder_add_null_value(b);
			if (n->census) {
				json_builder_set_member_name(b, "census");
				census_counts(b, r, n->census);
			}
			if (n->have_qmp) {
				json_builder_set_member_name(b, "qmp");
				json_builder_begin_object(b);
				if (n->qmp_have_mergeable) {
					json_builder_set_member_name(b, "ksm_mergeable");
					json_builder_add_boolean_value(b, n->qmp_mergeable);
				}
				if (n->qmp_have_merged)
					kv_json_u64(b, "ksm_merged_bytes", n->qmp_merged_bytes);
				if (n->qmp_have_swapped)
					kv_json_u64(b, "swapped_bytes", n->qmp_swapped_bytes);
				json_builder_end_object(b);
			}
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		if (g->census) {
			json_builder_set_member_name(b, "census");
			census_counts(b, r, g->census);
		}
		json_builder_set_member_name(b, "warnings");
		json_builder_begin_array(b);
		for (guint j = 0; j < g->warnings->len; j++)
			json_builder_add_string_value(b, g->warnings->pdata[j]);
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);

	json_builder_set_member_name(b, "other");
	json_builder_begin_object(b);
	kv_json_u64(b, "processes", r->other.processes);
	kv_json_u64(b, "ksm_merging_pages", r->other.merging_pages);
	kv_json_u64(b, "ksm_zero_pages", r->other.zero_pages);
	kv_json_u64(b, "ksm_rmap_items", r->other.rmap_items);
	kv_json_u64(b, "saved_bytes", r->other.saved_bytes);
	json_builder_end_object(b);

	json_builder_set_member_name(b, "os_families");
	json_builder_begin_array(b);
	for (guint i = 0; r->families && i < r->families->len; i++) {
		const KvOsFamily *f = r->families->pdata[i];

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "family");
		json_builder_add_string_value(b, f->family);
		kv_json_u64(b, "guests", f->guests);
		kv_json_u64(b, "saved_bytes", f->saved_bytes);
		kv_json_u64(b, "zero_page_saved_bytes", f->zero_page_bytes);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);

	if (r->topo) {
		json_builder_set_member_name(b, "host_nodes");
		json_builder_begin_array(b);
		for (guint i = 0; i < r->topo->nodes->len; i++) {
			const KvNumaNode *n = &g_array_index(r->topo->nodes, KvNumaNode, i);
			const KvCensusCount *cc = &g_array_index(r->census_total->per_node, KvCensusCount, i);

			json_builder_begin_object(b);
			json_builder_set_member_name(b, "node");
			json_builder_add_int_value(b, n->id);
			kv_json_u64(b, "mem_total_bytes", n->mem_total_kib * 1024);
			kv_json_u64(b, "mem_free_bytes", n->mem_free_kib * 1024);
			kv_json_u64(b, "guest_merged_pages", cc->merged);
			kv_json_u64(b, "guest_zero_pages", cc->zero);
			kv_json_u64(b, "guest_private_pages", cc->private_);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		json_builder_set_member_name(b, "census_ranges_source");
		json_builder_add_string_value(b, r->topo->source);
	}
	if (r->sharing)
		kv_render_sharing_json(r, b);
	json_builder_set_member_name(b, "notes");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->notes->len; i++)
		json_builder_add_string_value(b, r->notes->pdata[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	json_generator_set_indent(gen, 2);
	{
		g_autofree char *s = json_generator_to_data(gen, NULL);
		g_autofree char *valid = kv_escape_json_text(s);

		return g_strconcat(valid, "\n", NULL);
	}
}
