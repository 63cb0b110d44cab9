/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-sharing.h: who shares KSM frames with whom.
 *
 * The model of the sharing audit.  Given the KSM frames (PFNs flagged
 * KPF_KSM in /proc/kpageflags) each guest's RAM maps, it counts for every
 * pair of guests the distinct frames both map, and for every pair of
 * groups the same: a frame mapped by guests of groups A and B counts once
 * for (A, B), however many guests or pages of each map it.  The diagonal
 * (A, A) counts every KSM frame A maps; "alone" counts those no other
 * guest (group) maps, that is the frames A shares only within itself (or
 * with processes outside the audit).
 *
 * Cost: the (frame, guest) entries are radix-sorted by frame, each frame
 * is reduced to the set of guests that map it (a bitset), identical sets
 * are counted in a hash, and pairs are expanded once per distinct set,
 * never per frame: a frame all of 100 guests map costs 100 entries, not
 * 4950 pair updates.
 *
 * Pure: no I/O.  The census (kv-census.h) hands over the frames.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	guint n_guests;
	guint64 *guest_frames;       /* n_guests x n_guests, symmetric */
	guint64 *guest_alone_frames; /* per guest: frames no other guest maps */
	/* Groups: the distinct names of the guests' groups, sorted, the
	 * unnamed one (guests in no group) first as NULL. */
	GPtrArray *groups;           /* char*, NULL for no group */
	guint *guest_group;          /* per guest: index into groups */
	guint *group_guests;         /* per group: its number of guests */
	guint64 *group_frames;       /* groups->len x groups->len, symmetric */
	guint64 *group_alone_frames; /* per group: frames no other group maps */
	guint64 frames;              /* distinct KSM frames any guest maps */
	guint64 cross_group_frames;  /* of which guests of 2+ groups map */
	guint64 guest_sets;          /* distinct sets of guests mapping a frame */
} KvSharing;

void kv_sharing_free(KvSharing *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvSharing, kv_sharing_free)

/* kv_sharing_guest_frames: distinct KSM frames guests A and B both map
 * (A == B: all that A maps). */
guint64 kv_sharing_guest_frames(const KvSharing *s, guint a, guint b);

/* kv_sharing_group_frames: the same for groups (indices into s->groups). */
guint64 kv_sharing_group_frames(const KvSharing *s, guint a, guint b);

/* kv_sharing_cross_group: TRUE when guests A and B are in different
 * groups (no group counts as a group of its own). */
gboolean kv_sharing_cross_group(const KvSharing *s, guint a, guint b);

typedef struct KvSharingBuilder KvSharingBuilder;

/* kv_sharing_builder_new: collects the frames of N_GUESTS guests,
 * numbered 0 to N_GUESTS - 1.  Never NULL. */
KvSharingBuilder *kv_sharing_builder_new(guint n_guests);
void kv_sharing_builder_free(KvSharingBuilder *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvSharingBuilder, kv_sharing_builder_free)

/* kv_sharing_builder_add: guest GUEST (< n_guests) maps the KSM frames
 * PFNS[0 .. N_PFNS), in any order, repeats allowed (a frame that several
 * pages of the guest map).  May be called several times per guest. */
void kv_sharing_builder_add(KvSharingBuilder *b, guint guest, const guint64 *pfns, gsize n_pfns);

/* kv_sharing_builder_finish: the model from what B collected.  GROUPS:
 * n_guests group names, an entry NULL for a guest in no group; GROUPS
 * NULL: no guest is in a group.  B is left empty.  Never NULL. */
KvSharing *kv_sharing_builder_finish(KvSharingBuilder *b, const char *const *groups);

G_END_DECLS
