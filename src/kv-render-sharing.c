/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-render-sharing.c: who shares KSM frames with whom, as tables (text,
 * HTML), a JSON member and Prometheus gauges per group pair. */
#include "kv-render-sharing.h"
#include "kv-escape.h"
#include "kv-json.h"
#include "kv-table.h"

#define TEXT_PAIRS_MAX 40  /* rows of a pair list in the text report */
#define HTML_PAIRS_MAX 500 /* and in the HTML page */

/* The rows of a table: the guests, or the groups. */
typedef struct {
	const KvReport *r;
	const KvSharing *s;
	gboolean groups;
} View;

typedef struct {
	guint a, b;
	guint64 frames;
	gboolean cross;
} Pair;

static guint
view_len(const View *v)
{
	return v->groups ? v->s->groups->len : v->s->n_guests;
}

static guint64
view_frames(const View *v, guint a, guint b)
{
	return v->groups ? kv_sharing_group_frames(v->s, a, b) : kv_sharing_guest_frames(v->s, a, b);
}

static gboolean
view_cross(const View *v, guint a, guint b)
{
	return v->groups ? a != b : kv_sharing_cross_group(v->s, a, b);
}

static const char *
group_label(const char *group)
{
	return group ? group : "(none)";
}

/* The group of row I: the group itself, or the guest's. */
static const char *
view_group(const View *v, guint i)
{
	const KvSharing *s = v->s;

	return group_label(s->groups->pdata[v->groups ? i : s->guest_group[i]]);
}

static const char *
view_name(const View *v, guint i)
{
	return v->groups ? view_group(v, i) : ((const KvGuest *)v->r->guests->pdata[i])->name;
}

static char *
frames_bytes(const View *v, guint64 frames)
{
	return frames ? kv_format_bytes(frames * v->r->page_size) : NULL;
}

static gint
cmp_pair(gconstpointer pa, gconstpointer pb)
{
	const Pair *x = pa, *y = pb;

	if (x->cross != y->cross)
		return x->cross ? -1 : 1;
	if (x->frames != y->frames)
		return x->frames < y->frames ? 1 : -1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return (x->b > y->b) - (x->b < y->b);
}

/* The pairs of different rows that share, across groups first, then the
 * largest. */
static GArray *
view_pairs(const View *v)
{
	GArray *pairs = g_array_new(FALSE, FALSE, sizeof(Pair));

	for (guint a = 0; a < view_len(v); a++) {
		for (guint b = a + 1; b < view_len(v); b++) {
			Pair p = { a, b, view_frames(v, a, b), view_cross(v, a, b) };

			if (p.frames)
				g_array_append_val(pairs, p);
		}
	}
	g_array_sort(pairs, cmp_pair);
	return pairs;
}

/* A matrix: a row per guest (#, name, pid, group) or group (name, guests),
 * a column per guest (#N) or group (its name). */
static void
text_matrix(const View *v, GString *out)
{
	guint n = view_len(v), lead = v->groups ? 2 : 4;
	g_autoptr(GPtrArray) hdr = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) align = g_string_new(v->groups ? "lr" : "rlrl");
	g_autoptr(KvTable) t = NULL;

	if (v->groups) {
		g_ptr_array_add(hdr, g_strdup("GROUP"));
		g_ptr_array_add(hdr, g_strdup("GUESTS"));
	} else {
		g_ptr_array_add(hdr, g_strdup("#"));
		g_ptr_array_add(hdr, g_strdup("GUEST"));
		g_ptr_array_add(hdr, g_strdup("PID"));
		g_ptr_array_add(hdr, g_strdup("GROUP"));
	}
	for (guint i = 0; i < n; i++) {
		g_ptr_array_add(hdr, v->groups ? g_strdup(view_group(v, i)) : g_strdup_printf("#%u", i + 1));
		g_string_append_c(align, 'r');
	}
	t = kv_table_new(lead + n, align->str);
	kv_table_add_row(t, (const char *const *)hdr->pdata);
	for (guint a = 0; a < n; a++) {
		g_autoptr(GPtrArray) row = g_ptr_array_new_with_free_func(g_free);

		if (v->groups) {
			g_ptr_array_add(row, g_strdup(view_group(v, a)));
			g_ptr_array_add(row, g_strdup_printf("%u", v->s->group_guests[a]));
		} else {
			const KvGuest *g = v->r->guests->pdata[a];

			g_ptr_array_add(row, g_strdup_printf("#%u", a + 1));
			g_ptr_array_add(row, g_strdup(g->name));
			g_ptr_array_add(row, g_strdup_printf("%d", g->pid));
			g_ptr_array_add(row, g_strdup(view_group(v, a)));
		}
		for (guint b = 0; b < n; b++)
			g_ptr_array_add(row, frames_bytes(v, view_frames(v, a, b)));
		kv_table_add_row(t, (const char *const *)row->pdata);
	}
	kv_table_render(t, 2, out);
}

/* A list of the pairs that share, at most TEXT_PAIRS_MAX. */
static void
text_pairs(const View *v, GString *out)
{
	g_autoptr(GArray) pairs = view_pairs(v);
	g_autoptr(KvTable) t = v->groups ? kv_table_new(5, "llrrl") : kv_table_new(7, "lllllrl");

	if (v->groups)
		kv_table_add_rowv(t, "GROUP", "GROUP", "SHARED", "FRAMES", "ACROSS GROUPS");
	else
		kv_table_add_rowv(t, "GUEST", "GROUP", "GUEST", "GROUP", "SHARED", "FRAMES", "ACROSS GROUPS");
	for (guint i = 0; i < pairs->len && i < TEXT_PAIRS_MAX; i++) {
		const Pair *p = &g_array_index(pairs, Pair, i);
		g_autofree char *size = frames_bytes(v, p->frames);
		g_autofree char *frames = g_strdup_printf("%" G_GUINT64_FORMAT, p->frames);
		g_autofree char *a = NULL, *b = NULL;

		if (v->groups) {
			kv_table_add_rowv(t, view_group(v, p->a), view_group(v, p->b), size, frames,
					  p->cross ? "yes" : "no");
			continue;
		}
		a = g_strdup_printf("%s (pid %d)", view_name(v, p->a),
				    ((const KvGuest *)v->r->guests->pdata[p->a])->pid);
		b = g_strdup_printf("%s (pid %d)", view_name(v, p->b),
				    ((const KvGuest *)v->r->guests->pdata[p->b])->pid);
		kv_table_add_rowv(t, a, view_group(v, p->a), b, view_group(v, p->b), size, frames,
				  p->cross ? "yes" : "no");
	}
	if (pairs->len == 0) {
		g_string_append(out, "  no two share a frame\n");
		return;
	}
	kv_table_render(t, 2, out);
	if (pairs->len > TEXT_PAIRS_MAX)
		g_string_append_printf(out, "  ... and %u more pairs (--json lists them all)\n",
				       pairs->len - TEXT_PAIRS_MAX);
}

void
kv_render_sharing_text(const KvReport *r, GString *out)
{
	const KvSharing *s = r->sharing;
	View guests = { r, s, FALSE }, groups = { r, s, TRUE };
	g_autofree char *all = kv_format_bytes(s->frames * r->page_size);
	g_autofree char *cross = kv_format_bytes(s->cross_group_frames * r->page_size);

	g_string_append(out, "\nKSM frames shared between guests (census: each frame once per pair; "
			     "the diagonal: every KSM frame the guest maps)\n");
	if (s->n_guests == 0)
		g_string_append(out, "  no guests\n");
	else if (s->n_guests <= KV_SHARING_MATRIX_MAX)
		text_matrix(&guests, out);
	else
		text_pairs(&guests, out);
	g_string_append(out, "\nKSM frames shared between groups (each frame once per pair of groups)\n");
	if (s->groups->len == 0)
		g_string_append(out, "  no guests\n");
	else if (s->groups->len <= KV_SHARING_MATRIX_MAX)
		text_matrix(&groups, out);
	else
		text_pairs(&groups, out);
	g_string_append_printf(out,
			       "  %" G_GUINT64_FORMAT " distinct KSM frames (%s) in guest RAM, %" G_GUINT64_FORMAT
			       " (%s) mapped by guests of different groups; %" G_GUINT64_FORMAT
			       " distinct sets of guests\n",
			       s->frames, all, s->cross_group_frames, cross, s->guest_sets);
}

static void
json_group(JsonBuilder *b, const char *group)
{
	if (group)
		json_builder_add_string_value(b, group);
	else
		json_builder_add_null_value(b);
}

void
kv_render_sharing_json(const KvReport *r, JsonBuilder *b)
{
	const KvSharing *s = r->sharing;

	json_builder_set_member_name(b, "sharing");
	json_builder_begin_object(b);
	kv_json_u64(b, "frames", s->frames);
	kv_json_u64(b, "cross_group_frames", s->cross_group_frames);
	kv_json_u64(b, "guest_sets", s->guest_sets);
	json_builder_set_member_name(b, "guests");
	json_builder_begin_array(b);
	for (guint i = 0; i < s->n_guests; i++) {
		const KvGuest *g = r->guests->pdata[i];

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "pid");
		json_builder_add_int_value(b, g->pid);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, g->name);
		json_builder_set_member_name(b, "group");
		json_group(b, g->group);
		kv_json_u64(b, "ksm_frames", kv_sharing_guest_frames(s, i, i));
		kv_json_u64(b, "alone_frames", s->guest_alone_frames[i]);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "guest_pairs");
	json_builder_begin_array(b);
	for (guint a = 0; a < s->n_guests; a++) {
		for (guint c = a; c < s->n_guests; c++) {
			guint64 frames = kv_sharing_guest_frames(s, a, c);

			if (!frames)
				continue;
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "pids");
			json_builder_begin_array(b);
			json_builder_add_int_value(b, ((const KvGuest *)r->guests->pdata[a])->pid);
			json_builder_add_int_value(b, ((const KvGuest *)r->guests->pdata[c])->pid);
			json_builder_end_array(b);
			kv_json_u64(b, "frames", frames);
			kv_json_u64(b, "bytes", frames * r->page_size);
			json_builder_set_member_name(b, "cross_group");
			json_builder_add_boolean_value(b, kv_sharing_cross_group(s, a, c));
			json_builder_end_object(b);
		}
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "groups");
	json_builder_begin_array(b);
	for (guint i = 0; i < s->groups->len; i++) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "group");
		json_group(b, s->groups->pdata[i]);
		kv_json_u64(b, "guests", s->group_guests[i]);
		kv_json_u64(b, "ksm_frames", kv_sharing_group_frames(s, i, i));
		kv_json_u64(b, "alone_frames", s->group_alone_frames[i]);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "group_pairs");
	json_builder_begin_array(b);
	for (guint a = 0; a < s->groups->len; a++) {
		for (guint c = a; c < s->groups->len; c++) {
			guint64 frames = kv_sharing_group_frames(s, a, c);

			if (!frames)
				continue;
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "groups");
			json_builder_begin_array(b);
			json_group(b, s->groups->pdata[a]);
			json_group(b, s->groups->pdata[c]);
			json_builder_end_array(b);
			kv_json_u64(b, "frames", frames);
			kv_json_u64(b, "bytes", frames * r->page_size);
			json_builder_end_object(b);
		}
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
}

void
kv_render_sharing_prometheus(const KvReport *r, GString *out)
{
	const KvSharing *s = r->sharing;

	g_string_append(out, "# HELP ksmvirt_group_shared_bytes KSM frames that guests of both groups map "
			     "(census; group_a == group_b: all the group maps; \"\": no group).\n"
			     "# TYPE ksmvirt_group_shared_bytes gauge\n");
	for (guint a = 0; a < s->groups->len; a++) {
		g_autofree char *la = kv_escape_prom_label(s->groups->pdata[a]);

		for (guint b = a; b < s->groups->len; b++) {
			g_autofree char *lb = kv_escape_prom_label(s->groups->pdata[b]);

			g_string_append_printf(out,
					       "ksmvirt_group_shared_bytes{group_a=\"%s\",group_b=\"%s\"} %" G_GUINT64_FORMAT
					       "\n",
					       la, lb, kv_sharing_group_frames(s, a, b) * r->page_size);
		}
	}
	g_string_append_printf(out,
			       "# HELP ksmvirt_cross_group_shared_bytes KSM frames in guest RAM that guests of "
			       "different groups map (census).\n"
			       "# TYPE ksmvirt_cross_group_shared_bytes gauge\n"
			       "ksmvirt_cross_group_shared_bytes %" G_GUINT64_FORMAT "\n",
			       s->cross_group_frames * r->page_size);
}

static void
html_text(GString *out, const char *s)
{
	g_autofree char *e = kv_escape_html(s);

	g_string_append(out, e);
}

/* A cell: the size shared, marked when it crosses groups. */
static void
html_cell(const View *v, guint a, guint b, GString *out)
{
	g_autofree char *size = frames_bytes(v, view_frames(v, a, b));
	gboolean mark = size && a != b && view_cross(v, a, b);

	g_string_append_printf(out, "<td%s>", mark ? " style=\"background:#f4cccc\"" : "");
	g_string_append(out, size ? size : "-");
	g_string_append(out, "</td>");
}

static void
html_matrix(const View *v, GString *out)
{
	guint n = view_len(v);

	g_string_append(out, "<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">\n<tr>");
	g_string_append(out, v->groups ? "<th>group</th><th>guests</th>"
				       : "<th>#</th><th>guest</th><th>pid</th><th>group</th>");
	for (guint i = 0; i < n; i++) {
		g_string_append(out, "<th>");
		if (v->groups)
			html_text(out, view_group(v, i));
		else
			g_string_append_printf(out, "#%u", i + 1);
		g_string_append(out, "</th>");
	}
	g_string_append(out, "</tr>\n");
	for (guint a = 0; a < n; a++) {
		g_string_append(out, "<tr>");
		if (v->groups) {
			g_string_append(out, "<th>");
			html_text(out, view_group(v, a));
			g_string_append_printf(out, "</th><td>%u</td>", v->s->group_guests[a]);
		} else {
			g_string_append_printf(out, "<th>#%u</th><td>", a + 1);
			html_text(out, view_name(v, a));
			g_string_append_printf(out, "</td><td>%d</td><td>",
					       ((const KvGuest *)v->r->guests->pdata[a])->pid);
			html_text(out, view_group(v, a));
			g_string_append(out, "</td>");
		}
		for (guint b = 0; b < n; b++)
			html_cell(v, a, b, out);
		g_string_append(out, "</tr>\n");
	}
	g_string_append(out, "</table>\n");
}

static void
html_pairs(const View *v, GString *out)
{
	g_autoptr(GArray) pairs = view_pairs(v);

	g_string_append(out, "<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">\n<tr>");
	g_string_append(out, v->groups ? "<th>group</th><th>group</th>"
				       : "<th>guest</th><th>group</th><th>guest</th><th>group</th>");
	g_string_append(out, "<th>shared</th><th>frames</th></tr>\n");
	for (guint i = 0; i < pairs->len && i < HTML_PAIRS_MAX; i++) {
		const Pair *p = &g_array_index(pairs, Pair, i);
		guint ends[2] = { p->a, p->b };

		g_string_append(out, "<tr>");
		for (guint e = 0; e < 2; e++) {
			g_string_append(out, "<td>");
			html_text(out, view_name(v, ends[e]));
			if (!v->groups) {
				g_string_append_printf(out, " (pid %d)</td><td>",
						       ((const KvGuest *)v->r->guests->pdata[ends[e]])->pid);
				html_text(out, view_group(v, ends[e]));
			}
			g_string_append(out, "</td>");
		}
		html_cell(v, p->a, p->b, out);
		g_string_append_printf(out, "<td>%" G_GUINT64_FORMAT "</td></tr>\n", p->frames);
	}
	g_string_append(out, "</table>\n");
	if (pairs->len > HTML_PAIRS_MAX)
		g_string_append_printf(out,
				       "<p>... and %u more pairs (<code>--json</code> lists them all).</p>\n",
				       pairs->len - HTML_PAIRS_MAX);
}

void
kv_render_sharing_html(const KvReport *r, GString *out)
{
	const KvSharing *s = r->sharing;
	View guests = { r, s, FALSE }, groups = { r, s, TRUE };
	g_autofree char *all = kv_format_bytes(s->frames * r->page_size);
	g_autofree char *cross = kv_format_bytes(s->cross_group_frames * r->page_size);

	g_string_append_printf(out,
			       "<h2>Who shares with whom</h2>\n<p>KSM frames both map, each frame once per pair "
			       "(the diagonal: every KSM frame one maps); red: across groups.  %" G_GUINT64_FORMAT
			       " distinct KSM frames (%s) in guest RAM, %" G_GUINT64_FORMAT
			       " (%s) mapped by guests of different groups.</p>\n",
			       s->frames, all, s->cross_group_frames, cross);
	if (s->n_guests == 0)
		return;
	g_string_append(out, "<h3>Guests</h3>\n");
	if (s->n_guests <= KV_SHARING_MATRIX_MAX)
		html_matrix(&guests, out);
	else
		html_pairs(&guests, out);
	g_string_append(out, "<h3>Groups</h3>\n");
	if (s->groups->len <= KV_SHARING_MATRIX_MAX)
		html_matrix(&groups, out);
	else
		html_pairs(&groups, out);
}
