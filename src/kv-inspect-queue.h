/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-inspect-queue.h: which running guest ksmvirtd inspects next.
 *
 * The daemon senses the running guests and their disks (each disk's path,
 * size and mtime make the cache key, kv_inspect_cache_key), hands them to
 * kv_inspect_queue_update(), starts at most one inspection at a time with
 * the guest kv_inspect_queue_next() names, and reports its answer with
 * kv_inspect_queue_finish().  The queue does no I/O: it answers from the
 * inspection cache it is given (a guest is inspected once per change of
 * its disks), keeps the OS map (UUID -> OS, what "ksmvirt report" reads)
 * up to date, and says per guest whether its inspection is pending,
 * running, done or unknown (with the reason).  Tested with tables in
 * tests/unit/test-inspect.c.
 */
#pragma once

#include <glib.h>

#include "kv-inspect.h"

G_BEGIN_DECLS

typedef enum {
	KV_INSPECT_PENDING, /* waits for its turn */
	KV_INSPECT_RUNNING, /* an appliance looks at its disks now */
	KV_INSPECT_DONE,    /* the OS is known */
	KV_INSPECT_UNKNOWN, /* no answer: see the reason */
} KvInspectState;

const char *kv_inspect_state_to_string(KvInspectState s);

/* A failed inspection (timeout, crash) is tried again after this long,
 * or at once when its disks change. */
#define KV_INSPECT_RETRY_S 600

/* One running guest as sensed: its disks and their cache key, or the
 * reason there is no key (no disk, a disk that cannot be stat()ed). */
typedef struct {
	char *uuid;
	char *name;
	char **disks; /* NULL-terminated; may be empty */
	char *key;    /* kv_inspect_cache_key(), or NULL */
	char *why;    /* why KEY is NULL */
} KvInspectSense;

void kv_inspect_sense_free(KvInspectSense *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvInspectSense, kv_inspect_sense_free)

typedef struct {
	char *uuid;
	char *name;
	char **disks;
	char *key;
	KvInspectState state;
	KvOsInfo *os;        /* DONE and UNKNOWN */
	gboolean from_cache; /* the answer came from the cache */
	gint64 since_us;     /* when the state began */
	gint64 retry_us;     /* UNKNOWN after a failed run: queue again then */
	double took_s;       /* how long the inspection ran (DONE/UNKNOWN, not cached) */
} KvInspectGuest;

typedef struct KvInspectQueue KvInspectQueue;

/* CACHE and OS_MAP (UUID -> KvOsInfo, kv_os_map_new) are borrowed and
 * must outlive the queue; the queue changes both. */
KvInspectQueue *kv_inspect_queue_new(KvInspectCache *cache, GHashTable *os_map);
void kv_inspect_queue_free(KvInspectQueue *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvInspectQueue, kv_inspect_queue_free)

/* kv_inspect_queue_update: SENSED (KvInspectSense) are the running
 * guests now.  New guests and guests whose disks changed are answered
 * from the cache or queued; a guest without a usable disk is unknown with
 * the reason; guests no longer running are dropped (a running inspection
 * still finishes).  Returns TRUE when the OS map changed. */
gboolean kv_inspect_queue_update(KvInspectQueue *q, GPtrArray *sensed, gint64 now_us);

/* kv_inspect_queue_next: the guest to inspect now (the longest pending),
 * marked running; NULL while one runs or when none waits.  Borrowed. */
const KvInspectGuest *kv_inspect_queue_next(KvInspectQueue *q, gint64 now_us);

/* kv_inspect_queue_running: the guest being inspected, or NULL. */
const KvInspectGuest *kv_inspect_queue_running(KvInspectQueue *q);

/* kv_inspect_queue_finish: OS is the answer for the running guest UUID
 * whose disks had KEY.  A real answer goes into the cache (*CACHE_CHANGED)
 * and the OS map (*MAP_CHANGED); a failed run (kv_os_info_is_transient)
 * is retried after KV_INSPECT_RETRY_S.  When the disks changed meanwhile
 * the guest is queued again.  Other guests waiting with the same disks
 * (an image shared read-only) take the answer from the cache at once. */
void kv_inspect_queue_finish(KvInspectQueue *q, const char *uuid, const char *key, const KvOsInfo *os,
			     gint64 now_us, gboolean *cache_changed, gboolean *map_changed);

/* The guests, sorted by name (borrowed; free the array only). */
GPtrArray *kv_inspect_queue_guests(KvInspectQueue *q);

/* kv_inspect_queue_build_json: {"enabled": ..., "timeout_s": ..., "guests": [...]}
 * into B, for ksmvirtd's status document.  NOTE says why inspection is
 * off (NULL when it is on). */
typedef struct _JsonBuilder JsonBuilder;
void kv_inspect_queue_build_json(KvInspectQueue *q, JsonBuilder *b, gboolean enabled, const char *note,
				 guint timeout_s, gint64 now_us);

/* kv_inspect_status_render_text: the "inspection" member of a status
 * document (JSON text) as text lines, or "" when it has none. */
char *kv_inspect_status_render_text(const char *status_json);

G_END_DECLS
