/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy-edit.h: an administrator's change to one guest's policy: the
 * arguments of `ksmvirt policy GUEST merge=off group=NAME cell=1:off`
 * applied to the policy the domain has, and the <ksmvirt:policy> XML that
 * is written back to its metadata.  No I/O. */
#pragma once

#include <glib.h>
#include "kv-event.h"

G_BEGIN_DECLS

/* The whole policy of a domain (every attribute kept when it is written
 * back). */
typedef struct {
	KvPolicyMerge merge;
	char *group; /* NULL: none */
	gboolean has_priority;
	int priority;
	gboolean has_min_balloon;
	guint64 min_balloon_mib;
	GArray *cells; /* KvCellMerge, ascending cell; never NULL */
} KvPolicyEdit;

/* kv_policy_edit_from_event: the policy EV read from a domain's XML. */
KvPolicyEdit *kv_policy_edit_from_event(const KvEvent *ev);
void kv_policy_edit_free(KvPolicyEdit *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvPolicyEdit, kv_policy_edit_free)

/* kv_policy_edit_apply: one argument: merge=on|off|default,
 * group=NAME (group= or group=- removes it), cell=N:on|off|default.
 * Returns FALSE with ERROR (G_OPTION_ERROR_BAD_VALUE) on anything else,
 * leaving P unchanged. */
gboolean kv_policy_edit_apply(KvPolicyEdit *p, const char *arg, GError **error);

/* kv_policy_edit_to_xml: the policy element for P (attribute values
 * escaped) as virDomainSetMetadata() takes it: without a namespace, which
 * libvirt gives it (KV_POLICY_NAMESPACE, prefix "ksmvirt"); NULL when P
 * holds nothing (the metadata is then removed). */
char *kv_policy_edit_to_xml(const KvPolicyEdit *p);

/* kv_policy_edit_describe: "merge=off group=gold cell=1:off", or "none". */
char *kv_policy_edit_describe(const KvPolicyEdit *p);

G_END_DECLS
