/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-table.c: aligned text tables. */
#include "kv-table.h"
#include "kv-escape.h"

#include <stdarg.h>
#include <string.h>

struct KvTable {
	guint n_cols;
	char *align;
	guint gap;
	guint *min_width; /* NULL: no minimum */
	GPtrArray *rows;  /* GStrv */
};

KvTable *
kv_table_new(guint n_cols, const char *align)
{
	KvTable *t = g_new0(KvTable, 1);

	t->n_cols = n_cols;
	t->align = g_strdup(align);
	t->gap = 2;
	t->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	return t;
}

void
kv_table_free(KvTable *t)
{
	if (!t)
		return;
	g_ptr_array_unref(t->rows);
	g_free(t->align);
	g_free(t->min_width);
	g_free(t);
}

void
kv_table_set_layout(KvTable *t, guint gap, const guint *min_widths)
{
	t->gap = gap;
	g_free(t->min_width);
	t->min_width = min_widths ? g_memdup2(min_widths, t->n_cols * sizeof(guint)) : NULL;
}

void
kv_table_add_row(KvTable *t, const char *const *cells)
{
	char **row = g_new0(char *, t->n_cols + 1);

	for (guint i = 0; i < t->n_cols; i++)
		row[i] = kv_escape_term(cells[i] ? cells[i] : "-");
	g_ptr_array_add(t->rows, row);
}

void
kv_table_add_rowv(KvTable *t, ...)
{
	g_autofree const char **cells = g_new0(const char *, t->n_cols);
	va_list ap;

	va_start(ap, t);
	for (guint i = 0; i < t->n_cols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	kv_table_add_row(t, cells);
}

void
kv_table_render(const KvTable *t, guint indent, GString *out)
{
	g_autofree glong *width = g_new0(glong, t->n_cols);

	for (guint c = 0; t->min_width && c < t->n_cols; c++)
		width[c] = t->min_width[c];
	for (guint r = 0; r < t->rows->len; r++) {
		char **row = t->rows->pdata[r];

		for (guint c = 0; c < t->n_cols; c++)
			width[c] = MAX(width[c], g_utf8_strlen(row[c], -1));
	}
	for (guint r = 0; r < t->rows->len; r++) {
		char **row = t->rows->pdata[r];
		GString *line = g_string_new(NULL);

		g_string_append_printf(line, "%*s", (int)indent, "");
		for (guint c = 0; c < t->n_cols; c++) {
			glong pad = width[c] - g_utf8_strlen(row[c], -1);
			gboolean right = t->align[c] == 'r';

			if (c > 0)
				g_string_append_printf(line, "%*s", (int)t->gap, "");
			if (right)
				g_string_append_printf(line, "%*s", (int)pad, "");
			g_string_append(line, row[c]);
			if (!right && c + 1 < t->n_cols)
				g_string_append_printf(line, "%*s", (int)pad, "");
		}
		while (line->len && line->str[line->len - 1] == ' ')
			g_string_truncate(line, line->len - 1);
		g_string_append_c(line, '\n');
		g_string_append(out, line->str);
		g_string_free(line, TRUE);
	}
}
