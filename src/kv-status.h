/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-status.h: ksmvirtd's status document (schema ksmvirt-status/1): its
 * JSON on the control socket and its text for a terminal. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "kv-policy.h"

G_BEGIN_DECLS

#define KV_STATUS_SCHEMA "ksmvirt-status/1"

/* kv_status_add_plan: the members "decisions" and "actions" of PLAN (may
 * be NULL: both empty) into the object JB is building. */
void kv_status_add_plan(JsonBuilder *jb, const KvPlan *plan);

/* kv_status_render_text: the text form of a status document.  Returns
 * NULL with ERROR when JSON is not one. */
char *kv_status_render_text(const char *json, GError **error);

G_END_DECLS
