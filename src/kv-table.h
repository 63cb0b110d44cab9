/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-table.h: aligned text tables for the terminal renderer. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct KvTable KvTable;

/* kv_table_new: N_COLS columns; ALIGN is a string of 'l'/'r' per column. */
KvTable *kv_table_new(guint n_cols, const char *align);
void kv_table_free(KvTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvTable, kv_table_free)

/* kv_table_set_layout: columns GAP spaces apart (2 by default), each at
 * least MIN_WIDTHS[i] characters wide (N_COLS entries, 0: no minimum). */
void kv_table_set_layout(KvTable *t, guint gap, const guint *min_widths);
/* kv_table_add_row: appends a row of N_COLS cells (copied; NULL is "-").
 * Cells are shown escaped for the terminal (kv_escape_term). */
void kv_table_add_row(KvTable *t, const char *const *cells);
/* kv_table_add_rowv: the same with a NULL-free varargs list of N_COLS. */
void kv_table_add_rowv(KvTable *t, ...);
/* kv_table_render: appends the table, INDENT spaces in, to OUT. */
void kv_table_render(const KvTable *t, guint indent, GString *out);

G_END_DECLS
