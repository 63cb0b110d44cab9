/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-inspect.h: what operating system a guest runs, from its disks.
 *
 * kv_inspect_disks() opens the disks read-only with libguestfs (never
 * writes to a running guest's disk) and asks inspect_os.  It launches a
 * whole appliance (tens of seconds under TCG), so callers run it out of
 * their main loop, in a child process killed at a timeout: "ksmvirt
 * inspect --timeout" waits for it (kv_inspect_run_child), ksmvirtd
 * watches "ksmvirtd --inspect-child" from its main loop, one at a time
 * (kv_inspect_child_spawn, kv-inspect-queue.h).  Results are kept in a
 * KvInspectCache keyed by each disk's path, size and mtime, so a guest is
 * inspected once per change.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	char *type;   /* "linux", "windows", ... or "unknown" */
	char *distro; /* "debian", "ubuntu", "windows", ... */
	char *product_name;
	int major, minor;
	char *arch;
	char *reason; /* why the OS is unknown; NULL when known */
} KvOsInfo;

KvOsInfo *kv_os_info_new_unknown(const char *reason);
void kv_os_info_free(KvOsInfo *os);
KvOsInfo *kv_os_info_copy(const KvOsInfo *os);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvOsInfo, kv_os_info_free)

/* kv_os_info_family: the affinity key "TYPE/DISTRO/MAJOR" ("linux/debian/12",
 * "windows/windows/10"), or "unknown".  Guests with the same key are
 * expected to share kernel text and page cache. */
char *kv_os_info_family(const KvOsInfo *os);
/* kv_os_info_is_windows: TRUE for Windows (zeroes its free memory). */
gboolean kv_os_info_is_windows(const KvOsInfo *os);

/* kv_os_info_build_json: OS as one JSON object into B (with its family
 * key when WITH_FAMILY), the same members wherever ksmvirt writes it. */
typedef struct _JsonBuilder JsonBuilder;
void kv_os_info_build_json(JsonBuilder *b, const KvOsInfo *os, gboolean with_family);

/* JSON (one object) both ways, for the child protocol and the cache. */
char *kv_os_info_to_json(const KvOsInfo *os);
KvOsInfo *kv_os_info_from_json(const char *buf, GError **error);

/* kv_inspect_disks: inspects DISKS (NULL-terminated) in this process with
 * libguestfs.  Always returns an info; an unknown one carries the reason
 * (missing disk, no operating system found, encrypted, launch failure). */
KvOsInfo *kv_inspect_disks(const char *const *disks);

/* The cache: key = every disk's path, size and mtime. */
typedef struct KvInspectCache KvInspectCache;

KvInspectCache *kv_inspect_cache_new(void);
void kv_inspect_cache_free(KvInspectCache *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvInspectCache, kv_inspect_cache_free)

/* kv_inspect_cache_key: "path\tsize\tmtime\n..." of DISKS, or NULL with
 * the reason in *WHY when a disk cannot be stat()ed. */
char *kv_inspect_cache_key(const char *const *disks, char **why);
/* Borrowed, or NULL on a miss. */
const KvOsInfo *kv_inspect_cache_lookup(KvInspectCache *c, const char *key);
void kv_inspect_cache_store(KvInspectCache *c, const char *key, const KvOsInfo *os);
guint kv_inspect_cache_size(KvInspectCache *c);
/* Load (a missing file is an empty cache) and save (atomically). */
KvInspectCache *kv_inspect_cache_load(const char *path, GError **error);
gboolean kv_inspect_cache_save(KvInspectCache *c, const char *path, GError **error);

/* The OS map: what inspection found per guest UUID, kept in
 * LOCALSTATEDIR/lib/ksmvirt/os.json (schema "ksmvirt-os/1") for the
 * report and the placement advice.  Tables are UUID -> KvOsInfo. */
GHashTable *kv_os_map_new(void);
/* A missing file is an empty map. */
GHashTable *kv_os_map_load(const char *path, GError **error);
gboolean kv_os_map_save(GHashTable *map, const char *path, GError **error);

/* kv_inspect_run_child: runs ARGV (e.g. {"ksmvirt", "inspect", "--json",
 * disk..., NULL}) in its own process group and parses its JSON answer;
 * kills the whole group (appliance included) after TIMEOUT_S.  Blocks the
 * calling thread only.  Always returns an info (unknown with the reason
 * on failure or timeout). */
KvOsInfo *kv_inspect_run_child(const char *const *argv, guint timeout_s);

/* The two halves of kv_inspect_run_child() for callers with a main loop
 * (ksmvirtd): kv_inspect_child_spawn starts ARGV in its own process group
 * with its standard output on *OUT_FD (the caller reaps *PID: the child
 * is not reaped automatically); kv_inspect_child_result turns what it
 * wrote and its wait status into an info (unknown with the reason when it
 * TIMED_OUT after TIMEOUT_S, crashed or did not answer). */
gboolean kv_inspect_child_spawn(const char *const *argv, GPid *pid, int *out_fd, GError **error);
KvOsInfo *kv_inspect_child_result(const char *out, int wait_status, gboolean timed_out, guint timeout_s);

/* kv_os_info_is_transient: TRUE for an answer not worth caching: the
 * inspection itself timed out, crashed or could not start, or the
 * appliance did not launch; it may pass next time.  What the disks hold
 * (no OS found, encrypted, corrupt) is not transient. */
gboolean kv_os_info_is_transient(const KvOsInfo *os);

G_END_DECLS
