/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-registry: the guests the libvirt hook has told us about, by UUID.
 *
 * The daemon folds every hook event into the registry and keeps it in a
 * JSON file (LOCALSTATEDIR/lib/ksmvirt/registry.json by default); the CLI
 * reads that file to name QEMU processes when libvirt cannot be asked.
 * Folding is idempotent and ordered by (boot, sequence) (kv-order.h), not
 * by the wall clock: replaying an event again, or an event older than what
 * a guest already saw, changes nothing.
 *
 * The registry forgets guests that are gone: a guest stopped (or released)
 * for longer than KV_REGISTRY_STOPPED_MAX_AGE_S is dropped by
 * kv_registry_expire(), and it never holds more than KV_REGISTRY_MAX_GUESTS
 * guests: past that, the guest heard from least recently goes, stopped
 * guests first.
 */
#pragma once

#include <glib.h>

#include "kv-ctx.h"
#include "kv-event.h"

G_BEGIN_DECLS

/* Stopped guests are forgotten a week after their last event. */
#define KV_REGISTRY_STOPPED_MAX_AGE_S (7 * 24 * 3600)
/* At most this many guests are kept. */
#define KV_REGISTRY_MAX_GUESTS 1024

/* Errors are KV_ERROR (kv-ctx.h): KV_ERROR_IO when the file cannot be read
 * or written, KV_ERROR_PARSE when it is not a registry. */

typedef enum {
	KV_GUEST_STATE_UNKNOWN = 0,
	KV_GUEST_STATE_STARTING, /* prepare/start seen, not yet started */
	KV_GUEST_STATE_RUNNING,  /* started, reconnect or attach seen */
	KV_GUEST_STATE_STOPPED,  /* stopped or release seen */
} KvGuestState;

const char *kv_guest_state_to_string(KvGuestState state);
KvGuestState kv_guest_state_from_string(const char *name);

typedef struct {
	gchar *uuid; /* key; "name:NAME" when the hook saw no UUID */
	gchar *name;
	KvGuestState state;
	KvEventOp last_op;
	gchar *last_subop;
	gint64 last_time_us;
	gchar *last_boot_id; /* boot and sequence of the last event (kv-order.h); */
	guint64 last_seq;    /* NULL and 0 for events from before sequences */
	gchar *last_event_id;
	KvEvent *facts; /* the newest event that carried domain XML, or NULL */
} KvRegistryGuest;

typedef struct _KvRegistry KvRegistry;

KvRegistry *kv_registry_new(void);
void kv_registry_free(KvRegistry *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvRegistry, kv_registry_free)

/* The boot the daemon runs in (kv_order_boot_id()): its events come after
 * those of any other boot.  NULL: unknown. */
void kv_registry_set_boot_id(KvRegistry *reg, const char *boot_id);

/* Fold one event in.  Returns TRUE when the registry changed.  A new guest
 * beyond KV_REGISTRY_MAX_GUESTS evicts the least recent one. */
gboolean kv_registry_apply(KvRegistry *reg, const KvEvent *ev);

/* Forget the guests stopped for longer than KV_REGISTRY_STOPPED_MAX_AGE_S
 * at wall-clock time now_us, and the least recent ones beyond
 * KV_REGISTRY_MAX_GUESTS.  Returns how many were forgotten. */
guint kv_registry_expire(KvRegistry *reg, gint64 now_us);

/* Borrowed pointers, or NULL when unknown.  UUIDs compare
 * case-insensitively. */
const KvRegistryGuest *kv_registry_lookup_uuid(const KvRegistry *reg, const char *uuid);
const KvRegistryGuest *kv_registry_lookup_name(const KvRegistry *reg, const char *name);

/* All guests sorted by name (borrowed pointers; free the array only). */
GPtrArray *kv_registry_guests(const KvRegistry *reg);
guint kv_registry_size(const KvRegistry *reg);

/* Pretty JSON text of the registry (schema "ksmvirt-registry/1"). */
gchar *kv_registry_to_json(const KvRegistry *reg);
/* Parse what kv_registry_to_json() wrote.  NULL with error set on bad
 * input. */
KvRegistry *kv_registry_from_json(const char *buf, gsize len, GError **error);

/* Where ksmvirtd keeps the registry unless told otherwise
 * (LOCALSTATEDIR/lib/ksmvirt/registry.json).  Static string. */
const char *kv_registry_default_path(void);

/* The registry file is read up to this size. */
#define KV_REGISTRY_MAX_BYTES (64u << 20)

/* Read the registry file at path (not through a symlink, at most
 * KV_REGISTRY_MAX_BYTES).  A missing file is an empty registry. */
KvRegistry *kv_registry_load(const char *path, GError **error);
/* Replace the file at path atomically (kv_file_write_atomic(): temporary
 * file, fsync, rename, in a directory only this user can change),
 * creating its directory when missing. */
gboolean kv_registry_save(const KvRegistry *reg, const char *path, GError **error);

/* Write JSON text (from kv_registry_to_json()) to path the same way:
 * lets a caller serialize in one thread and write in another. */
gboolean kv_registry_save_json(const char *json, const char *path, GError **error);

G_END_DECLS
