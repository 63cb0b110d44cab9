/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-registry: the guests the libvirt hook has told us about, by UUID.
 *
 * The daemon folds every hook event into the registry and keeps it in a
 * JSON file (LOCALSTATEDIR/lib/ksmvirt/registry.json by default); the CLI
 * reads that file to name QEMU processes when libvirt cannot be asked.
 * Folding is idempotent and ordered by event time: replaying an event
 * again, or an event older than what a guest already saw, changes nothing.
 */
#pragma once

#include <glib.h>

#include "kv-event.h"

G_BEGIN_DECLS

#define KV_REGISTRY_ERROR (kv_registry_error_quark())
GQuark kv_registry_error_quark(void);

typedef enum {
	KV_REGISTRY_ERROR_IO,     /* the file cannot be read or written */
	KV_REGISTRY_ERROR_PARSE,  /* the file is not a registry */
} KvRegistryError;

typedef enum {
	KV_GUEST_STATE_UNKNOWN = 0,
	KV_GUEST_STATE_STARTING,  /* prepare/start seen, not yet started */
	KV_GUEST_STATE_RUNNING,   /* started, reconnect or attach seen */
	KV_GUEST_STATE_STOPPED,   /* stopped or release seen */
} KvGuestState;

const char *kv_guest_state_to_string(KvGuestState state);
KvGuestState kv_guest_state_from_string(const char *name);

typedef struct {
	gchar *uuid;           /* key; "name:NAME" when the hook saw no UUID */
	gchar *name;
	KvGuestState state;
	KvEventOp last_op;
	gchar *last_subop;
	gint64 last_time_us;
	gchar *last_event_id;
	KvEvent *facts;        /* the newest event that carried domain XML, or NULL */
} KvRegistryGuest;

typedef struct _KvRegistry KvRegistry;

KvRegistry *kv_registry_new(void);
void kv_registry_free(KvRegistry *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvRegistry, kv_registry_free)

/* Fold one event in.  Returns TRUE when the registry changed. */
gboolean kv_registry_apply(KvRegistry *reg, const KvEvent *ev);

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

/* Read the registry file at path.  A missing file is an empty registry. */
KvRegistry *kv_registry_load(const char *path, GError **error);
/* Replace the file at path atomically (temporary file, fsync, rename),
 * creating its directory when missing. */
gboolean kv_registry_save(const KvRegistry *reg, const char *path, GError **error);

/* Write JSON text (from kv_registry_to_json()) to path the same way:
 * lets a caller serialize in one thread and write in another. */
gboolean kv_registry_save_json(const char *json, const char *path, GError **error);

G_END_DECLS
