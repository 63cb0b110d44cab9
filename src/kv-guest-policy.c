/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-guest-policy.c: one guest's merge policy (see kv-guest-policy.h). */
#include "kv-guest-policy.h"

#include <string.h>

void
kv_merge_policy_clear(KvMergePolicy *p)
{
	g_free(p->group);
	g_free(p->owner);
	g_free(p->error);
	if (p->cells)
		g_array_unref(p->cells);
	memset(p, 0, sizeof(*p));
}

void
kv_merge_policy_copy(KvMergePolicy *dst, const KvMergePolicy *src)
{
	*dst = *src;
	dst->group = g_strdup(src->group);
	dst->owner = g_strdup(src->owner);
	dst->error = g_strdup(src->error);
	dst->cells = src->cells ? g_array_copy(src->cells) : NULL;
}

char *
kv_merge_policy_backend(guint cell)
{
	return g_strdup_printf("ram-node%u", cell);
}
