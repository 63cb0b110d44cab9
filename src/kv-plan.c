/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-plan.c: plans and actions, made, described and freed (see kv-plan.h). */
#include "kv-plan.h"

#include <string.h>

void
kv_action_free(KvAction *a)
{
	if (!a)
		return;
	g_free(a->policy);
	g_free(a->value_str);
	g_free(a->guest);
	g_free(a->uuid);
	g_free(a->cg_file);
	g_free(a->reason);
	g_free(a->error);
	g_free(a);
}

const char *
kv_action_result_to_string(KvActionResult r)
{
	switch (r) {
	case KV_RESULT_PENDING:
		return "pending";
	case KV_RESULT_DONE:
		return "done";
	case KV_RESULT_DRY_RUN:
		return "dry-run";
	case KV_RESULT_TRANSIENT:
		return "failed-transient";
	case KV_RESULT_PERMANENT:
		return "failed-permanent";
	}
	return "unknown";
}

static char *
format_limit(guint64 bytes)
{
	if (bytes == KV_UNLIMITED)
		return g_strdup("unlimited");
	return g_strdup_printf("%" G_GUINT64_FORMAT " MiB", bytes >> 20);
}

#define MIB_KIB 1024u

char *
kv_action_describe(const KvAction *a)
{
	switch (a->kind) {
	case KV_ACTION_KSM_KNOB:
		if (a->value_str)
			return g_strdup_printf("%s: %s -> %s (%s)", a->policy, kv_ksm_knob_name(a->knob),
					       a->value_str, a->reason);
		return g_strdup_printf("%s: %s %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " (%s)", a->policy,
				       kv_ksm_knob_name(a->knob), a->old_value, a->value, a->reason);
	case KV_ACTION_BALLOON:
		return g_strdup_printf("%s: guest %s balloon %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
				       " MiB (%s)",
				       a->policy, a->guest, a->old_value / MIB_KIB, a->value / MIB_KIB,
				       a->reason);
	case KV_ACTION_CGROUP_LIMIT: {
		g_autofree char *from = format_limit(a->old_value);
		g_autofree char *to = format_limit(a->value);

		return g_strdup_printf("%s: guest %s %s %s -> %s (%s)", a->policy, a->guest,
				       a->cg_version == KV_CGROUP_V2 ? "memory.high" : "memory.limit_in_bytes",
				       from, to, a->reason);
	}
	case KV_ACTION_GUEST_MERGE:
		return g_strdup_printf("%s: guest %s %s merge %s (%s)", a->policy, a->guest,
				       a->value_str && a->value_str[0] ? a->value_str : "RAM",
				       a->value ? "on" : "off", a->reason);
	}
	return g_strdup("?");
}

static void
summary_free(KvSummary *s)
{
	g_free(s->policy);
	g_free(s->decision);
	g_free(s->reason);
	g_free(s);
}

KvPlan *
kv_plan_new(void)
{
	KvPlan *p = g_new0(KvPlan, 1);

	p->actions = g_ptr_array_new_with_free_func((GDestroyNotify)kv_action_free);
	p->summaries = g_ptr_array_new_with_free_func((GDestroyNotify)summary_free);
	return p;
}

void
kv_plan_free(KvPlan *p)
{
	if (!p)
		return;
	g_ptr_array_unref(p->actions);
	g_ptr_array_unref(p->summaries);
	g_free(p);
}

const KvSummary *
kv_plan_summary(const KvPlan *p, const char *policy)
{
	for (guint i = 0; i < p->summaries->len; i++) {
		const KvSummary *s = g_ptr_array_index(p->summaries, i);

		if (!strcmp(s->policy, policy))
			return s;
	}
	return NULL;
}

void
kv_plan_summarize(KvPlan *p, const char *policy, const char *decision, const char *fmt, ...)
{
	KvSummary *s = g_new0(KvSummary, 1);
	va_list ap;

	va_start(ap, fmt);
	s->reason = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	s->policy = g_strdup(policy);
	s->decision = g_strdup(decision);
	g_ptr_array_add(p->summaries, s);
}

KvAction *
kv_plan_add_ksm(KvPlan *p, const char *policy, const KvKsm *ksm, KvKsmKnob knob, guint64 value, const char *reason)
{
	KvAction *a = g_new0(KvAction, 1);

	a->kind = KV_ACTION_KSM_KNOB;
	a->policy = g_strdup(policy);
	a->knob = knob;
	a->old_value = ksm->value[knob];
	a->value = value;
	a->reason = g_strdup(reason);
	g_ptr_array_add(p->actions, a);
	return a;
}

KvAction *
kv_plan_add_guest(KvPlan *p, KvActionKind kind, const char *policy, const KvGuestSense *g, guint64 old_value,
		  guint64 value, char *reason)
{
	KvAction *a = g_new0(KvAction, 1);

	a->kind = kind;
	a->policy = g_strdup(policy);
	a->guest = g_strdup(g->name);
	a->uuid = g_strdup(g->uuid);
	a->old_value = old_value;
	a->value = value;
	a->reason = reason;
	g_ptr_array_add(p->actions, a);
	return a;
}
