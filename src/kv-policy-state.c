/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy-state.c: the policy state, made, freed and looked up (see
 * kv-policy-state.h). */
#include "kv-policy-state.h"

static void
guest_state_free(KvGuestPolicyState *g)
{
	if (g->merge_applied)
		g_hash_table_unref(g->merge_applied);
	g_free(g);
}

KvPolicyState *
kv_policy_state_new(void)
{
	KvPolicyState *st = g_new0(KvPolicyState, 1);

	st->gain_pages_per_cpu_s = -1;
	st->guests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)guest_state_free);
	st->pressed_nodes = g_array_new(FALSE, FALSE, sizeof(int));
	return st;
}

void
kv_policy_state_free(KvPolicyState *st)
{
	if (!st)
		return;
	g_hash_table_unref(st->guests);
	g_array_unref(st->pressed_nodes);
	g_free(st->ksm_blocked_error);
	g_free(st);
}

KvGuestPolicyState *
kv_policy_state_guest(KvPolicyState *st, const char *name)
{
	KvGuestPolicyState *g = g_hash_table_lookup(st->guests, name);

	if (!g) {
		g = g_new0(KvGuestPolicyState, 1);
		g_hash_table_insert(st->guests, g_strdup(name), g);
	}
	return g;
}
