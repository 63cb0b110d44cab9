/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-render-prom.c: Prometheus text exposition format (version 0.0.4). */
#include "kv-report.h"
#include "kv-escape.h"
#include "kv-render-sharing.h"

#include <string.h>

static void
header(GString *out, const char *name, const char *type, const char *help)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static char *
guest_labels(const KvGuest *g)
{
	g_autofree char *name = kv_escape_prom_label(g->name);
	g_autofree char *uuid = kv_escape_prom_label(g->uuid ? g->uuid : "");

	return g_strdup_printf("name=\"%s\",uuid=\"%s\",pid=\"%d\"", name, uuid, g->pid);
}

typedef enum {
	G_RAM,
	G_RSS,
	G_SWAP,
	G_RMAP,
	G_MERGING,
	G_ZERO,
	G_PROFIT,
	G_SAVED,
	G_SAVED_RATIO,
	G_DISABLED,
	G_N
} GuestMetric;

static const struct {
	const char *name, *type, *help;
} guest_metrics[G_N] = {
	[G_RAM] = { "ksmvirt_guest_ram_bytes", "gauge", "Configured guest RAM." },
	[G_RSS] = { "ksmvirt_guest_rss_bytes", "gauge", "Resident set size of the QEMU process." },
	[G_SWAP] = { "ksmvirt_guest_swap_bytes", "gauge", "Swapped-out memory of the QEMU process (VmSwap)." },
	[G_RMAP] = { "ksmvirt_guest_ksm_rmap_items", "gauge", "KSM rmap items of the process (ksm_stat)." },
	[G_MERGING] = { "ksmvirt_guest_ksm_merging_pages", "gauge",
			"Pages of the process merged by KSM (ksm_stat)." },
	[G_ZERO] = { "ksmvirt_guest_ksm_zero_pages", "gauge", "Pages merged into the zero page (ksm_stat)." },
	[G_PROFIT] = { "ksmvirt_guest_ksm_process_profit_bytes", "gauge",
		       "Kernel's per-process KSM profit (ksm_stat)." },
	[G_SAVED] = { "ksmvirt_guest_saved_bytes", "gauge", "The guest's fair share of the memory KSM saves." },
	[G_SAVED_RATIO] = { "ksmvirt_guest_saved_ratio", "gauge", "Saved bytes over guest RAM." },
	[G_DISABLED] = { "ksmvirt_guest_merging_disabled", "gauge", "1 when no guest RAM mapping is mergeable." },
};

static gboolean
guest_value(const KvGuest *g, GuestMetric m, double *v)
{
	switch (m) {
	case G_RAM:
		*v = (double)g->ram_bytes;
		return TRUE;
	case G_RSS:
		*v = (double)g->rss_bytes;
		return TRUE;
	case G_SWAP:
		*v = (double)g->swap_bytes;
		return TRUE;
	case G_RMAP:
		*v = (double)g->ksm.rmap_items;
		return g->ksm.have & KV_KSM_STAT_RMAP_ITEMS;
	case G_MERGING:
		*v = (double)g->ksm.merging_pages;
		return g->ksm.have & KV_KSM_STAT_MERGING_PAGES;
	case G_ZERO:
		*v = (double)g->ksm.zero_pages;
		return g->ksm.have & KV_KSM_STAT_ZERO_PAGES;
	case G_PROFIT:
		*v = (double)g->ksm.process_profit;
		return g->ksm.have & KV_KSM_STAT_PROCESS_PROFIT;
	case G_SAVED:
		*v = (double)g->saved_bytes;
		return TRUE;
	case G_SAVED_RATIO:
		*v = g->saved_percent / 100.0;
		return TRUE;
	case G_DISABLED:
		*v = g->merging_disabled;
		return TRUE;
	default:
		return FALSE;
	}
}

static void
value(GString *out, const char *name, const char *labels, double v)
{
	if (v == (double)(gint64)v && v < 9.2e18 && v > -9.2e18)
		g_string_append_printf(out, "%s{%s} %" G_GINT64_FORMAT "\n", name, labels, (gint64)v);
	else
		g_string_append_printf(out, "%s{%s} %.6g\n", name, labels, v);
}

char *
kv_render_prometheus(const KvReport *r)
{
	GString *out = g_string_new(NULL);
	g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func(g_free);

	for (int i = 0; i < KV_KSM_N_KNOBS; i++) {
		g_autofree char *name = NULL;

		if (!kv_ksm_has(r->ksm, (KvKsmKnob)i) || i == KV_KSM_ADVISOR_MODE)
			continue;
		name = g_strdup_printf("ksmvirt_ksm_%s", kv_ksm_knob_name((KvKsmKnob)i));
		header(out, name, "gauge", "Value of /sys/kernel/mm/ksm file of the same name.");
		if (kv_ksm_knob_is_signed((KvKsmKnob)i))
			g_string_append_printf(out, "%s %" G_GINT64_FORMAT "\n", name, (gint64)r->ksm->value[i]);
		else
			g_string_append_printf(out, "%s %" G_GUINT64_FORMAT "\n", name, r->ksm->value[i]);
	}
	if (r->ksm->advisor_mode) {
		g_autofree char *mode = kv_escape_prom_label(r->ksm->advisor_mode);

		header(out, "ksmvirt_ksm_advisor_mode_info", "gauge", "The KSM advisor mode in force.");
		g_string_append_printf(out, "ksmvirt_ksm_advisor_mode_info{mode=\"%s\"} 1\n", mode);
	}
	header(out, "ksmvirt_host_saved_bytes", "gauge", "(pages_sharing + ksm_zero_pages) x page size.");
	g_string_append_printf(out, "ksmvirt_host_saved_bytes %" G_GUINT64_FORMAT "\n", r->saved_bytes);
	header(out, "ksmvirt_host_sharing_ratio", "gauge", "pages_sharing / pages_shared.");
	g_string_append_printf(out, "ksmvirt_host_sharing_ratio %.6g\n", r->sharing_ratio);
	if (r->ksmd_cpu_percent >= 0) {
		header(out, "ksmvirt_ksmd_cpu_ratio", "gauge",
		       "ksmd CPU time over the sampling interval (1 = one core).");
		g_string_append_printf(out, "ksmvirt_ksmd_cpu_ratio %.6g\n", r->ksmd_cpu_percent / 100.0);
	}
	if (r->vmstat.have & 1) {
		header(out, "ksmvirt_vmstat_ksm_swpin_copy_total", "counter",
		       "KSM pages copied at swap-in (/proc/vmstat).");
		g_string_append_printf(out, "ksmvirt_vmstat_ksm_swpin_copy_total %" G_GUINT64_FORMAT "\n",
				       r->vmstat.ksm_swpin_copy);
	}
	if (r->vmstat.have & 2) {
		header(out, "ksmvirt_vmstat_cow_ksm_total", "counter",
		       "Copy-on-write faults on KSM pages (/proc/vmstat).");
		g_string_append_printf(out, "ksmvirt_vmstat_cow_ksm_total %" G_GUINT64_FORMAT "\n",
				       r->vmstat.cow_ksm);
	}

	for (guint i = 0; i < r->guests->len; i++)
		g_ptr_array_add(labels, guest_labels(r->guests->pdata[i]));
	for (int m = 0; m < G_N && r->guests->len; m++) {
		header(out, guest_metrics[m].name, guest_metrics[m].type, guest_metrics[m].help);
		for (guint i = 0; i < r->guests->len; i++) {
			double v;

			if (guest_value(r->guests->pdata[i], (GuestMetric)m, &v))
				value(out, guest_metrics[m].name, labels->pdata[i], v);
		}
	}

	if (r->guests->len) {
		header(out, "ksmvirt_guest_os_info", "gauge",
		       "The guest's operating system (libguestfs inspection); 1.");
		for (guint i = 0; i < r->guests->len; i++) {
			const KvGuest *g = r->guests->pdata[i];
			g_autofree char *family = kv_os_info_family(g->os);
			g_autofree char *fam = kv_escape_prom_label(family);
			g_autofree char *type = kv_escape_prom_label(g->os ? g->os->type : "unknown");
			g_autofree char *distro =
				kv_escape_prom_label(g->os && g->os->distro ? g->os->distro : "");
			g_autofree char *l = g_strdup_printf("%s,family=\"%s\",type=\"%s\",distro=\"%s\"",
							     (char *)labels->pdata[i], fam, type, distro);

			value(out, "ksmvirt_guest_os_info", l, 1);
		}
		if (r->groups && r->groups->len) {
			header(out, "ksmvirt_guest_group_info", "gauge",
			       "The guest's merge-isolation group (ksmvirtd.conf [isolation]); 1.");
			for (guint i = 0; i < r->guests->len; i++) {
				const KvGuest *g = r->guests->pdata[i];
				g_autofree char *grp = g->group ? kv_escape_prom_label(g->group) : NULL;
				g_autofree char *l =
					grp ? g_strdup_printf("%s,group=\"%s\"", (char *)labels->pdata[i], grp)
					    : NULL;

				if (l)
					value(out, "ksmvirt_guest_group_info", l, 1);
			}
			header(out, "ksmvirt_group_saved_bytes", "gauge",
			       "Savings of the guests of one merge-isolation group.");
			for (guint i = 0; i < r->groups->len; i++) {
				const KvGroupSaving *gs = r->groups->pdata[i];
				g_autofree char *grp = kv_escape_prom_label(gs->group);
				g_autofree char *l = g_strdup_printf("group=\"%s\"", grp);

				value(out, "ksmvirt_group_saved_bytes", l, (double)gs->saved_bytes);
			}
		}
		header(out, "ksmvirt_os_family_saved_bytes", "gauge",
		       "Savings of the guests of one OS family; kind=zero_page is the part merged into the zero page.");
		for (guint i = 0; r->families && i < r->families->len; i++) {
			const KvOsFamily *f = r->families->pdata[i];
			g_autofree char *fam = kv_escape_prom_label(f->family);
			g_autofree char *l1 = g_strdup_printf("family=\"%s\",kind=\"all\"", fam);
			g_autofree char *l2 = g_strdup_printf("family=\"%s\",kind=\"zero_page\"", fam);

			value(out, "ksmvirt_os_family_saved_bytes", l1, (double)f->saved_bytes);
			value(out, "ksmvirt_os_family_saved_bytes", l2, (double)f->zero_page_bytes);
		}
	}

	if (r->guests->len) {
		static const char *node_metrics[][2] = {
			{ "ksmvirt_guest_node_size_bytes",
			  "Configured size of the guest NUMA node's memory backend." },
			{ "ksmvirt_guest_node_rss_bytes", "Resident memory of the node's mapping (smaps Rss)." },
			{ "ksmvirt_guest_node_swap_bytes", "Swapped memory of the node's mapping (smaps Swap)." },
			{ "ksmvirt_guest_node_ksm_bytes", "KSM-merged memory of the node's mapping (smaps KSM)." },
			{ "ksmvirt_guest_node_mergeable", "1 when the mapping is MADV_MERGEABLE (VmFlags mg)." },
			{ "ksmvirt_guest_node_dontfork", "1 when the mapping is MADV_DONTFORK (VmFlags dc)." },
		};

		for (guint m = 0; m < G_N_ELEMENTS(node_metrics); m++) {
			header(out, node_metrics[m][0], "gauge", node_metrics[m][1]);
			for (guint i = 0; i < r->guests->len; i++) {
				const KvGuest *g = r->guests->pdata[i];

				for (guint j = 0; j < g->nodes->len; j++) {
					const KvGuestNode *n = g->nodes->pdata[j];
					g_autofree char *be = kv_escape_prom_label(n->backend_id);
					g_autofree char *l = NULL;
					double v;

					if (m > 0 && !n->found)
						continue;
					if (m == 3 && !n->have_ksm)
						continue;
					l = g_strdup_printf("%s,guest_node=\"%d\",backend=\"%s\"",
							    (char *)labels->pdata[i], n->guest_node, be);
					v = m == 0   ? (double)n->size_bytes
					    : m == 1 ? (double)n->rss_bytes
					    : m == 2 ? (double)n->swap_bytes
					    : m == 3 ? (double)n->ksm_bytes
					    : m == 4 ? n->mergeable
						     : n->dontfork;
					value(out, node_metrics[m][0], l, v);
				}
			}
		}
	}

	if (r->topo) {
		header(out, "ksmvirt_guest_host_node_pages", "gauge",
		       "Guest RAM pages on each host NUMA node by kind (census).");
		for (guint i = 0; i < r->guests->len; i++) {
			const KvGuest *g = r->guests->pdata[i];

			for (guint n = 0; g->census && n < r->topo->nodes->len; n++) {
				const KvCensusCount *cc = &g_array_index(g->census->per_node, KvCensusCount, n);
				int id = g_array_index(r->topo->nodes, KvNumaNode, n).id;
				const char *kinds[] = { "merged", "private", "zero" };
				guint64 vals[] = { cc->merged, cc->private_, cc->zero };

				for (guint k = 0; k < 3; k++) {
					g_autofree char *l =
						g_strdup_printf("%s,host_node=\"%d\",kind=\"%s\"",
								(char *)labels->pdata[i], id, kinds[k]);

					value(out, "ksmvirt_guest_host_node_pages", l, (double)vals[k]);
				}
			}
		}
		header(out, "ksmvirt_guest_swapped_pages", "gauge", "Guest RAM pages in swap (census).");
		for (guint i = 0; i < r->guests->len; i++) {
			const KvGuest *g = r->guests->pdata[i];

			if (g->census)
				value(out, "ksmvirt_guest_swapped_pages", labels->pdata[i],
				      (double)g->census->swapped);
		}
	}

	header(out, "ksmvirt_other_processes", "gauge", "Non-QEMU processes with KSM-merged pages.");
	g_string_append_printf(out, "ksmvirt_other_processes %u\n", r->other.processes);
	header(out, "ksmvirt_other_ksm_merging_pages", "gauge", "KSM-merged pages of non-QEMU processes.");
	g_string_append_printf(out, "ksmvirt_other_ksm_merging_pages %" G_GUINT64_FORMAT "\n",
			       r->other.merging_pages);
	header(out, "ksmvirt_other_saved_bytes", "gauge", "Non-QEMU processes' share of the savings.");
	g_string_append_printf(out, "ksmvirt_other_saved_bytes %" G_GUINT64_FORMAT "\n", r->other.saved_bytes);
	if (r->sharing)
		kv_render_sharing_prometheus(r, out);
	return g_string_free(out, FALSE);
}
