/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-render-html.c: one self-contained HTML page with SVG bar charts. */
#include "kv-report.h"
#include "kv-escape.h"
#include "kv-render-sharing.h"

#include <string.h>

#define BAR_W 520
#define ROW_H 26
#define LABEL_W 220

/* A string from outside, in HTML or SVG text or a quoted attribute. */
static void
esc(GString *out, const char *s)
{
	g_autofree char *e = kv_escape_html(s);

	g_string_append(out, e);
}

typedef struct {
	const char *label;
	guint64 parts[3];
	guint64 total; /* scale reference of the row (0: use the max) */
} Bar;

static const char *colours[3] = { "#2a9d8f", "#e9c46a", "#8ab4f8" };

/* A horizontal stacked bar chart: each row stacks up to three parts. */
static void
svg_bars(GString *out, const Bar *bars, guint n, const char *const *part_names, guint n_parts)
{
	guint64 max = 1;
	guint height = (n + 1) * ROW_H + 10;

	for (guint i = 0; i < n; i++) {
		guint64 sum = bars[i].total;

		if (!sum)
			for (guint p = 0; p < n_parts; p++)
				sum += bars[i].parts[p];
		max = MAX(max, sum);
	}
	g_string_append_printf(out,
			       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
			       "role=\"img\" font-family=\"sans-serif\" font-size=\"12\">\n",
			       LABEL_W + BAR_W + 120, height);
	for (guint p = 0; p < n_parts; p++) {
		g_string_append_printf(out,
				       "<rect x=\"%u\" y=\"4\" width=\"12\" height=\"12\" fill=\"%s\"/>"
				       "<text x=\"%u\" y=\"14\">",
				       LABEL_W + p * 140, colours[p], LABEL_W + p * 140 + 16);
		esc(out, part_names[p]);
		g_string_append(out, "</text>\n");
	}
	for (guint i = 0; i < n; i++) {
		double x = LABEL_W;
		guint y = (i + 1) * ROW_H;
		guint64 sum = 0;
		g_autofree char *total = NULL;

		g_string_append_printf(out, "<text x=\"%d\" y=\"%u\" text-anchor=\"end\">", LABEL_W - 8, y + 15);
		esc(out, bars[i].label);
		g_string_append(out, "</text>\n");
		if (bars[i].total)
			g_string_append_printf(out,
					       "<rect x=\"%d\" y=\"%u\" width=\"%.1f\" height=\"18\" fill=\"#eee\"/>\n",
					       LABEL_W, y, (double)bars[i].total * BAR_W / (double)max);
		for (guint p = 0; p < n_parts; p++) {
			double w = (double)bars[i].parts[p] * BAR_W / (double)max;
			g_autofree char *v = kv_format_bytes(bars[i].parts[p]);

			sum += bars[i].parts[p];
			if (w <= 0)
				continue;
			g_string_append_printf(out,
					       "<rect x=\"%.1f\" y=\"%u\" width=\"%.1f\" height=\"18\" fill=\"%s\">"
					       "<title>",
					       x, y, w, colours[p]);
			esc(out, part_names[p]);
			g_string_append_printf(out, ": %s</title></rect>\n", v);
			x += w;
		}
		total = kv_format_bytes(sum);
		g_string_append_printf(out, "<text x=\"%.1f\" y=\"%u\">%s</text>\n",
				       MAX(x, (double)LABEL_W + (bars[i].total ? (double)bars[i].total *
											 BAR_W / (double)max
									       : 0)) +
					       6,
				       y + 15, total);
	}
	g_string_append(out, "</svg>\n");
}

#define LINE_W 640
#define LINE_H 160

/* One line chart of Y over time, with its range and the time span. */
static void
svg_line(GString *out, const char *title, const KvHistoryPoint *pts, guint n,
	 double (*y_of)(const KvHistoryPoint *, gsize), gsize page_size, const char *unit)
{
	double t0 = pts[0].time_s, t1 = pts[n - 1].time_s, ymax = 0;
	g_autoptr(GString) path = g_string_new(NULL);

	for (guint i = 0; i < n; i++)
		ymax = MAX(ymax, y_of(&pts[i], page_size));
	if (ymax <= 0)
		ymax = 1;
	if (t1 <= t0)
		t1 = t0 + 1;
	for (guint i = 0; i < n; i++) {
		double x = 50 + (pts[i].time_s - t0) * (LINE_W - 60) / (t1 - t0);
		double y = 10 + (LINE_H - 30) * (1 - y_of(&pts[i], page_size) / ymax);

		g_string_append_printf(path, "%s%.1f,%.1f", i ? " L" : "M", x, y);
	}
	g_string_append(out, "<h3>");
	esc(out, title);
	g_string_append_printf(out,
			       "</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
			       "role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n"
			       "<line x1=\"50\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n"
			       "<line x1=\"50\" y1=\"10\" x2=\"50\" y2=\"%d\" stroke=\"#999\"/>\n"
			       "<text x=\"46\" y=\"14\" text-anchor=\"end\">%.4g</text>"
			       "<text x=\"46\" y=\"%d\" text-anchor=\"end\">0</text>\n"
			       "<text x=\"50\" y=\"%d\">0 s</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f s</text>\n"
			       "<text x=\"56\" y=\"22\">%s</text>\n"
			       "<path d=\"%s\" fill=\"none\" stroke=\"#2a9d8f\" stroke-width=\"2\"/>\n</svg>\n",
			       LINE_W, LINE_H, LINE_H - 20, LINE_W - 10, LINE_H - 20, LINE_H - 20, ymax,
			       LINE_H - 20, LINE_H - 6, LINE_W - 10, LINE_H - 6, t1 - t0, unit, path->str);
}

static double
y_saved_mib(const KvHistoryPoint *p, gsize page_size)
{
	return (double)(p->pages_sharing + p->ksm_zero_pages) * (double)page_size / (1 << 20);
}

static double
y_scan(const KvHistoryPoint *p, gsize page_size)
{
	return p->ksm_run == 1 ? (double)p->pages_to_scan : 0;
}

static double
y_avail_pct(const KvHistoryPoint *p, gsize page_size)
{
	return p->mem_total_kib ? 100.0 * (double)p->mem_available_kib / (double)p->mem_total_kib : 0;
}

char *
kv_render_html(const KvReport *r)
{
	GString *out = g_string_new(NULL);
	g_autofree char *saved = kv_format_bytes(r->saved_bytes);
	g_autofree Bar *bars = g_new0(Bar, r->guests->len + 1);
	g_autofree char *text = kv_render_text(r);
	g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func(g_free);
	const char *saved_parts[] = { "saved (merged)", "saved (zero pages)", "" };

	g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
			     "<title>ksmvirt report</title>\n<style>body{font-family:sans-serif;margin:2em}"
			     "pre{background:#f6f6f6;padding:1em;overflow:auto}h2{margin-top:1.5em}</style>\n"
			     "</head><body>\n<h1>ksmvirt report</h1>\n");
	g_string_append_printf(out, "<p>Host saves <b>%s</b> with KSM (sharing ratio %.2f, schema %s).</p>\n",
			       saved, r->sharing_ratio, KV_REPORT_SCHEMA);

	g_string_append(out,
			"<h2>Savings per guest</h2>\n<p>Grey: guest RAM; colour: its share of the savings.</p>\n");
	for (guint i = 0; i < r->guests->len; i++) {
		const KvGuest *g = r->guests->pdata[i];
		guint64 zero = g->ksm.zero_pages * r->page_size;

		bars[i].label = g->name;
		bars[i].parts[0] = g->saved_bytes > zero ? g->saved_bytes - zero : 0;
		bars[i].parts[1] = MIN(zero, g->saved_bytes);
		bars[i].total = g->ram_bytes;
	}
	bars[r->guests->len].label = "other processes";
	bars[r->guests->len].parts[0] = r->other.saved_bytes;
	svg_bars(out, bars, r->guests->len + 1, saved_parts, 2);

	if (r->topo) {
		guint n = r->topo->nodes->len;
		g_autofree Bar *nb = g_new0(Bar, n);
		const char *parts[] = { "merged", "private", "zero page" };

		g_string_append(out, "<h2>Guest memory per host NUMA node</h2>\n");
		for (guint i = 0; i < n; i++) {
			const KvCensusCount *cc = &g_array_index(r->census_total->per_node, KvCensusCount, i);
			char *l = g_strdup_printf("node %d", g_array_index(r->topo->nodes, KvNumaNode, i).id);

			g_ptr_array_add(labels, l);
			nb[i].label = l;
			nb[i].parts[0] = cc->merged * r->page_size;
			nb[i].parts[1] = cc->private_ * r->page_size;
			nb[i].parts[2] = cc->zero * r->page_size;
		}
		svg_bars(out, nb, n, parts, 3);
	} else {
		guint total = 0;
		g_autofree Bar *nb = NULL;
		const char *parts[] = { "KSM-merged", "resident, not merged", "swapped" };

		for (guint i = 0; i < r->guests->len; i++)
			total += ((KvGuest *)r->guests->pdata[i])->nodes->len;
		nb = g_new0(Bar, total + 1);
		total = 0;
		for (guint i = 0; i < r->guests->len; i++) {
			const KvGuest *g = r->guests->pdata[i];

			for (guint j = 0; j < g->nodes->len; j++) {
				const KvGuestNode *gn = g->nodes->pdata[j];
				char *l = gn->guest_node >= 0
						  ? g_strdup_printf("%s node %d", g->name, gn->guest_node)
						  : g_strdup(g->name);

				g_ptr_array_add(labels, l);
				nb[total].label = l;
				nb[total].parts[0] = gn->ksm_bytes;
				nb[total].parts[1] =
					gn->rss_bytes > gn->ksm_bytes ? gn->rss_bytes - gn->ksm_bytes : 0;
				nb[total].parts[2] = gn->swap_bytes;
				nb[total].total = gn->size_bytes;
				total++;
			}
		}
		if (total) {
			g_string_append(out, "<h2>Guest RAM per guest NUMA node</h2>\n");
			svg_bars(out, nb, total, parts, 3);
		}
	}
	if (r->sharing)
		kv_render_sharing_html(r, out);
	if (r->history && r->history->len >= 2) {
		const KvHistoryPoint *pts = (const KvHistoryPoint *)(gpointer)r->history->data;

		g_string_append_printf(out, "<h2>History (ksmvirtd, %u ticks)</h2>\n", r->history->len);
		svg_line(out, "Saved by KSM", pts, r->history->len, y_saved_mib, r->page_size, "MiB");
		svg_line(out, "Scan rate (pages_to_scan while KSM runs)", pts, r->history->len, y_scan,
			 r->page_size, "pages");
		svg_line(out, "MemAvailable", pts, r->history->len, y_avail_pct, r->page_size, "% of MemTotal");
	}
	g_string_append(out, "<h2>Details</h2>\n<pre>");
	{
		/* The text report escaped its strings for the terminal already. */
		g_autofree char *pre = kv_escape_html_pre(text);

		g_string_append(out, pre);
	}
	g_string_append(out, "</pre>\n</body></html>\n");
	return g_string_free(out, FALSE);
}
