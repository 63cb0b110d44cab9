/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-snapshot.c: a tick's snapshot, made and freed (see kv-snapshot.h). */
#include "kv-snapshot.h"

void
kv_guest_sense_free(KvGuestSense *g)
{
	if (!g)
		return;
	g_free(g->name);
	g_free(g->uuid);
	g_free(g->cg_dir);
	kv_merge_policy_clear(&g->merge_policy);
	if (g->node_kib)
		g_array_unref(g->node_kib);
	g_free(g);
}

KvSnapshot *
kv_snapshot_new(void)
{
	KvSnapshot *s = g_new0(KvSnapshot, 1);

	s->page_size = 4096;
	s->n_numa_nodes = 1;
	s->nodes = g_array_new(FALSE, TRUE, sizeof(KvNodeSense));
	s->guests = g_ptr_array_new_with_free_func((GDestroyNotify)kv_guest_sense_free);
	s->notes = g_ptr_array_new_with_free_func(g_free);
	return s;
}

void
kv_snapshot_free(KvSnapshot *s)
{
	if (!s)
		return;
	kv_ksm_free(s->ksm);
	g_array_unref(s->nodes);
	g_ptr_array_unref(s->guests);
	g_ptr_array_unref(s->notes);
	g_free(s->hv_error);
	g_free(s);
}
