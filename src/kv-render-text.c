/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-render-text.c: the default aligned-table report. */
#include "kv-report.h"
#include "kv-table.h"
#include "kv-escape.h"
#include "kv-render-sharing.h"

#include <string.h>

static char *
knob_value(const KvKsm *k, KvKsmKnob knob)
{
	if (!kv_ksm_has(k, knob))
		return g_strdup("unsupported");
	if (knob == KV_KSM_ADVISOR_MODE)
		return g_strdup(k->advisor_mode);
	if (kv_ksm_knob_is_signed(knob))
		return g_strdup_printf("%" G_GINT64_FORMAT, (gint64)k->value[knob]);
	return g_strdup_printf("%" G_GUINT64_FORMAT, k->value[knob]);
}

static char *
u64(guint64 v)
{
	return g_strdup_printf("%" G_GUINT64_FORMAT, v);
}

static char *
bytes(guint64 v)
{
	return kv_format_bytes(v);
}

static char *
pages_as_bytes(const KvReport *r, guint64 pages)
{
	return kv_format_bytes(pages * r->page_size);
}

static const char *
tristate(KvTristate t)
{
	return t == KV_TRISTATE_ON ? "on" : t == KV_TRISTATE_OFF ? "off" : "default";
}

static void
render_host(const KvReport *r, GString *out)
{
	g_autoptr(KvTable) t = kv_table_new(4, "lrlr");
	const KvKsm *k = r->ksm;
	g_autofree char *saved = bytes(r->saved_bytes);
	g_autofree char *ps = bytes(r->page_size);

	g_string_append_printf(out, "Host KSM (/sys/kernel/mm/ksm, page size %s)\n", ps);
	for (int i = 0; i < KV_KSM_N_KNOBS; i += 2) {
		g_autofree char *a = knob_value(k, (KvKsmKnob)i);
		g_autofree char *b = i + 1 < KV_KSM_N_KNOBS ? knob_value(k, (KvKsmKnob)(i + 1)) : NULL;

		kv_table_add_rowv(t, kv_ksm_knob_name((KvKsmKnob)i), a,
				  i + 1 < KV_KSM_N_KNOBS ? kv_ksm_knob_name((KvKsmKnob)(i + 1)) : "",
				  b ? b : "");
	}
	for (guint i = 0; k->extra_names && i < k->extra_names->len; i++)
		kv_table_add_rowv(t, k->extra_names->pdata[i], k->extra_values->pdata[i], "", "");
	kv_table_render(t, 2, out);
	g_string_append_printf(out,
			       "  saved %s ((pages_sharing + ksm_zero_pages) x page size), sharing ratio %.2f",
			       saved, r->sharing_ratio);
	if (r->ksmd_cpu_percent >= 0)
		g_string_append_printf(out, ", ksmd CPU %.1f%% over %" G_GUINT64_FORMAT " ms\n",
				       r->ksmd_cpu_percent, r->interval_ms);
	else
		g_string_append(out, ", ksmd CPU not sampled\n");
	g_string_append(out, "  /proc/vmstat:");
	if (r->vmstat.have & 1)
		g_string_append_printf(out, " ksm_swpin_copy %" G_GUINT64_FORMAT, r->vmstat.ksm_swpin_copy);
	else
		g_string_append(out, " ksm_swpin_copy unsupported");
	if (r->vmstat.have & 2)
		g_string_append_printf(out, ", cow_ksm %" G_GUINT64_FORMAT, r->vmstat.cow_ksm);
	else
		g_string_append(out, ", cow_ksm unsupported");
	g_string_append(out, "\n");
}

static void
render_guests(const KvReport *r, GString *out)
{
	g_autoptr(KvTable) t = kv_table_new(13, "lllrrrrrrrrrr");

	g_string_append_printf(out, "\nGuests (%u)\n", r->guests->len);
	if (r->guests->len == 0) {
		g_string_append(out, "  no QEMU processes\n");
		return;
	}
	kv_table_add_rowv(t, "NAME", "UUID", "OS", "PID", "RAM", "RSS", "SWAP", "RMAP", "MERGING", "ZERO",
			  "PROFIT", "SAVED", "%RAM");
	for (guint i = 0; i < r->guests->len; i++) {
		const KvGuest *g = r->guests->pdata[i];
		g_autofree char *pid = g_strdup_printf("%d", g->pid);
		g_autofree char *ram = bytes(g->ram_bytes), *rss = bytes(g->rss_bytes),
				*swap = bytes(g->swap_bytes);
		g_autofree char *rmap = NULL, *merging = NULL, *zero = NULL, *profit = NULL;
		g_autofree char *saved = bytes(g->saved_bytes);
		g_autofree char *pct = g_strdup_printf("%.1f%%", g->saved_percent);

		if (g->ksm.have & KV_KSM_STAT_RMAP_ITEMS)
			rmap = u64(g->ksm.rmap_items);
		if (g->ksm.have & KV_KSM_STAT_MERGING_PAGES)
			merging = pages_as_bytes(r, g->ksm.merging_pages);
		if (g->ksm.have & KV_KSM_STAT_ZERO_PAGES)
			zero = pages_as_bytes(r, g->ksm.zero_pages);
		if (g->ksm.have & KV_KSM_STAT_PROCESS_PROFIT) {
			gboolean neg = g->ksm.process_profit < 0;
			g_autofree char *abs = bytes(neg ? (guint64)0 - (guint64)g->ksm.process_profit
							 : (guint64)g->ksm.process_profit);

			profit = g_strdup_printf("%s%s", neg ? "-" : "", abs);
		}
		g_autofree char *os = g->os && g->os->product_name ? g_strdup(g->os->product_name)
				      : g->os                      ? kv_os_info_family(g->os)
								   : g_strdup("-");

		if (g->os && g->os->product_name && g->os->distro && !strstr(g->os->product_name, " ")) {
			/* "12.7" alone says little: "debian 12.7". */
			g_free(os);
			os = g_strdup_printf("%s %s", g->os->distro, g->os->product_name);
		}
		kv_table_add_rowv(t, g->name, g->uuid ? g->uuid : "-", os, pid, ram, rss, swap,
				  rmap ? rmap : "unsupported", merging ? merging : "unsupported",
				  zero ? zero : "unsupported", profit ? profit : "unsupported", saved, pct);
	}
	kv_table_render(t, 2, out);
}

static void
render_guest_nodes(const KvReport *r, GString *out)
{
	g_autoptr(KvTable) t = NULL;
	gboolean any = FALSE, qmp = FALSE;

	for (guint i = 0; i < r->guests->len; i++) {
		const KvGuest *g = r->guests->pdata[i];

		for (guint j = 0; j < g->nodes->len; j++)
			qmp |= ((KvGuestNode *)g->nodes->pdata[j])->have_qmp;
	}
	/* The QMP columns appear only when some QEMU answered query-memdev. */
	t = qmp ? kv_table_new(12, "llrrrrllllrl") : kv_table_new(10, "llrrrrllll");
	if (qmp)
		kv_table_add_rowv(t, "GUEST", "NODE", "SIZE", "RSS", "SWAP", "KSM", "MERGE", "MG", "DC",
				  "NOTE", "QMP KSM", "QMP MG");
	else
		kv_table_add_rowv(t, "GUEST", "NODE", "SIZE", "RSS", "SWAP", "KSM", "MERGE", "MG", "DC", "NOTE");
	for (guint i = 0; i < r->guests->len; i++) {
		const KvGuest *g = r->guests->pdata[i];

		for (guint j = 0; j < g->nodes->len; j++) {
			const KvGuestNode *n = g->nodes->pdata[j];
			g_autofree char *label =
				n->guest_node >= 0 ? g_strdup_printf("%d (%s)", n->guest_node, n->backend_id)
						   : g_strdup(n->backend_id);
			g_autofree char *size = bytes(n->size_bytes);
			g_autofree char *rss = n->found ? bytes(n->rss_bytes) : NULL;
			g_autofree char *swap = n->found ? bytes(n->swap_bytes) : NULL;
			g_autofree char *ksm = n->found && n->have_ksm ? bytes(n->ksm_bytes) : NULL;
			const char *note = !n->found               ? "mapping not found"
					   : n->unmergeable_reason ? n->unmergeable_reason
					   : !n->mergeable         ? "merging disabled"
								   : "";

			g_autofree char *qksm = n->have_qmp && n->qmp_have_merged ? bytes(n->qmp_merged_bytes)
										  : NULL;
			const char *qmg = !n->have_qmp || !n->qmp_have_mergeable ? "-"
					  : n->qmp_mergeable                     ? "yes"
										 : "NO";

			any = TRUE;
			kv_table_add_rowv(t, g->name, label, size, rss, swap,
					  ksm ? ksm : (n->found ? "unsupported" : "-"),
					  tristate(n->merge_configured),
					  n->found ? (n->mergeable ? "yes" : "NO") : "-",
					  n->found ? (n->dontfork ? "yes" : "NO") : "-", note, qksm, qmg);
		}
	}
	if (!any)
		return;
	g_string_append(out, "\nGuest RAM per guest NUMA node (from /proc/PID/smaps)\n");
	kv_table_render(t, 2, out);
}

static void
render_census(const KvReport *r, GString *out)
{
	guint n_nodes = r->topo->nodes->len;
	g_autofree char *align = NULL;
	g_autoptr(KvTable) t = NULL;
	g_autoptr(GPtrArray) hdr = g_ptr_array_new_with_free_func(g_free);
	GString *al = g_string_new("l");

	g_ptr_array_add(hdr, g_strdup("GUEST"));
	for (guint i = 0; i < n_nodes; i++) {
		int id = g_array_index(r->topo->nodes, KvNumaNode, i).id;

		g_ptr_array_add(hdr, g_strdup_printf("N%d MERGED", id));
		g_ptr_array_add(hdr, g_strdup_printf("N%d PRIVATE", id));
		g_ptr_array_add(hdr, g_strdup_printf("N%d ZERO", id));
		g_string_append(al, "rrr");
	}
	g_ptr_array_add(hdr, g_strdup("SWAPPED"));
	g_string_append_c(al, 'r');
	align = g_string_free(al, FALSE);
	t = kv_table_new(hdr->len, align);
	kv_table_add_row(t, (const char *const *)hdr->pdata);
	for (guint gi = 0; gi <= r->guests->len; gi++) {
		const KvCensus *c = gi < r->guests->len ? ((KvGuest *)r->guests->pdata[gi])->census
							: r->census_total;
		g_autoptr(GPtrArray) row = g_ptr_array_new_with_free_func(g_free);

		if (!c)
			continue;
		g_ptr_array_add(row, g_strdup(gi < r->guests->len ? ((KvGuest *)r->guests->pdata[gi])->name
								  : "all guests"));
		for (guint i = 0; i < n_nodes; i++) {
			const KvCensusCount *cc = &g_array_index(c->per_node, KvCensusCount, i);

			g_ptr_array_add(row, pages_as_bytes(r, cc->merged));
			g_ptr_array_add(row, pages_as_bytes(r, cc->private_));
			g_ptr_array_add(row, pages_as_bytes(r, cc->zero));
		}
		g_ptr_array_add(row, pages_as_bytes(r, c->swapped));
		kv_table_add_row(t, (const char *const *)row->pdata);
	}
	g_string_append_printf(out,
			       "\nGuest pages per host NUMA node (census of pagemap + kpageflags; ranges from %s)\n",
			       r->topo->source);
	kv_table_render(t, 2, out);
}

char *
kv_render_text(const KvReport *r)
{
	GString *out = g_string_new(NULL);
	guint64 guest_saved = 0;
	g_autofree char *gs = NULL, *os = NULL, *hs = NULL;

	render_host(r, out);
	render_guests(r, out);
	render_guest_nodes(r, out);
	if (r->topo)
		render_census(r, out);
	if (r->sharing)
		kv_render_sharing_text(r, out);
	for (guint i = 0; i < r->guests->len; i++)
		guest_saved += ((KvGuest *)r->guests->pdata[i])->saved_bytes;
	if (r->families && r->families->len && r->guests->len) {
		g_autoptr(KvTable) ft = kv_table_new(4, "lrrr");

		kv_table_add_rowv(ft, "OS FAMILY", "GUESTS", "SAVED", "OF WHICH ZERO PAGES");
		for (guint i = 0; i < r->families->len; i++) {
			const KvOsFamily *f = r->families->pdata[i];
			g_autofree char *n = g_strdup_printf("%u", f->guests);
			g_autofree char *sv = bytes(f->saved_bytes), *z = bytes(f->zero_page_bytes);

			kv_table_add_rowv(ft, f->family, n, sv, z);
		}
		g_string_append(out, "\nSavings by guest OS family (zero-page merges apart)\n");
		kv_table_render(ft, 2, out);
	}
	if (r->groups && r->groups->len) {
		g_autoptr(KvTable) gt = kv_table_new(3, "lrr");

		kv_table_add_rowv(gt, "GROUP", "GUESTS", "SAVED");
		for (guint i = 0; i < r->groups->len; i++) {
			const KvGroupSaving *g = r->groups->pdata[i];
			g_autofree char *n = g_strdup_printf("%u", g->guests);
			g_autofree char *sv = bytes(g->saved_bytes);
			g_autofree char *name = kv_escape_term(g->group);

			kv_table_add_rowv(gt, name, n, sv);
		}
		g_string_append(out, "\nSavings by merge-isolation group\n");
		kv_table_render(gt, 2, out);
	}
	gs = bytes(guest_saved);
	os = bytes(r->other.saved_bytes);
	hs = bytes(r->saved_bytes);
	g_string_append_printf(out,
			       "\nOther processes using KSM: %u, merging %" G_GUINT64_FORMAT
			       " pages, zero %" G_GUINT64_FORMAT " pages, saved %s\n",
			       r->other.processes, r->other.merging_pages, r->other.zero_pages, os);
	g_string_append_printf(out, "Saved: guests %s + other %s = host %s\n", gs, os, hs);
	{
		gboolean first = TRUE;

		for (guint i = 0; i < r->guests->len; i++) {
			const KvGuest *g = r->guests->pdata[i];

			for (guint j = 0; j < g->warnings->len; j++) {
				g_autofree char *name = kv_escape_term(g->name);
				g_autofree char *warning = kv_escape_term(g->warnings->pdata[j]);

				if (first)
					g_string_append(out, "\nWarnings\n");
				first = FALSE;
				g_string_append_printf(out, "  %s: %s\n", name, warning);
			}
		}
	}
	for (guint i = 0; i < r->notes->len; i++) {
		g_autofree char *note = kv_escape_term(r->notes->pdata[i]);

		g_string_append_printf(out, "note: %s\n", note);
	}
	return g_string_free(out, FALSE);
}
