/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-render-sharing.h: the sharing audit (r->sharing, kv-sharing.h) in
 * each report format; the report's renderers call these when it is there.
 */
#pragma once

#include <json-glib/json-glib.h>
#include "kv-report.h"

G_BEGIN_DECLS

/* Up to this many guests (groups) the text and HTML show a matrix; above,
 * a list of the pairs that share, those across groups first. */
#define KV_SHARING_MATRIX_MAX 12

/* kv_render_sharing_text: appends the guest and group tables to OUT. */
void kv_render_sharing_text(const KvReport *r, GString *out);

/* kv_render_sharing_json: adds the member "sharing" to the object B is
 * building (doc/report-json.md). */
void kv_render_sharing_json(const KvReport *r, JsonBuilder *b);

/* kv_render_sharing_prometheus: appends per group pair gauges to OUT
 * (never per guest: bounded by the number of groups). */
void kv_render_sharing_prometheus(const KvReport *r, GString *out);

/* kv_render_sharing_html: appends the guest and group tables to OUT. */
void kv_render_sharing_html(const KvReport *r, GString *out);

G_END_DECLS
