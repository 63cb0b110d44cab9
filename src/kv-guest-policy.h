/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-guest-policy.h: the policy an administrator writes for one guest in
 * its domain XML, <metadata><ksmvirt:policy merge= group= ...>, as read
 * by kv-event.c and acted on by kv-isolation.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The namespace of <ksmvirt:policy> in a domain's <metadata>. */
#define KV_POLICY_NAMESPACE "http://ksmvirt.org/xmlns/policy/1.0"

typedef enum {
	KV_POLICY_MERGE_DEFAULT = 0, /* no policy, or no merge attribute */
	KV_POLICY_MERGE_ON,
	KV_POLICY_MERGE_OFF,
} KvPolicyMerge;

/* <ksmvirt:node cell="N" merge="on|off"/> inside the policy: the merge
 * setting of one guest NUMA cell's memory backend. */
typedef struct {
	guint cell;
	KvPolicyMerge merge;
} KvCellMerge;

/* At most this many <ksmvirt:node> elements are read. */
#define KV_POLICY_MAX_CELLS 64
/* A group or owner name longer than this (bytes) is ignored. */
#define KV_POLICY_MAX_NAME 256

/* One guest's merge policy, from its live domain XML. */
typedef struct {
	KvPolicyMerge merge;
	char *group;   /* group= of its policy, or NULL */
	char *owner;   /* its owner by [isolation] owner-*, or NULL */
	GArray *cells; /* KvCellMerge; NULL when the policy names none */
	guint n_cells; /* the guest's NUMA cells; 0: none */
	gboolean nosharepages;
	char *error; /* a bad policy attribute, ignored; or NULL */
} KvMergePolicy;

/* kv_merge_policy_clear: frees P's members and zeroes it. */
void kv_merge_policy_clear(KvMergePolicy *p);
/* kv_merge_policy_copy: DST (zeroed or cleared) becomes a copy of SRC. */
void kv_merge_policy_copy(KvMergePolicy *dst, const KvMergePolicy *src);
/* kv_merge_policy_backend: the QEMU memory backend id libvirt gives guest
 * cell CELL ("ram-node1"); a new string. */
char *kv_merge_policy_backend(guint cell);

G_END_DECLS
