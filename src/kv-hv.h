/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-hv.h: the hypervisor behind an interface.  ksmvirt asks it for the
 * running domains and their QEMU pids; libvirt implements it
 * (kv-libvirt.c), and tests use libvirt's test:///default driver. */
#pragma once

#include <glib.h>
#include "kv-ctx.h"
#include "kv-guest-policy.h"

G_BEGIN_DECLS

typedef struct {
	char *name;
	char *uuid; /* lower-case canonical form */
	int id;     /* libvirt domain id, -1 when inactive */
	int pid;    /* QEMU pid, 0 when unknown */
	guint64 max_mem_kib, cur_mem_kib;
	gboolean active;
} KvDomain;

void kv_domain_free(KvDomain *d);

/* Balloon state of one active domain. */
typedef struct {
	char *name;
	char *uuid;
	gboolean has_balloon; /* current/maximum known */
	guint64 current_kib, maximum_kib;
	gboolean has_driver; /* the guest's driver reports its memory */
	guint64 available_kib, unused_kib, usable_kib;
	guint64 min_guarantee_kib; /* <memtune><min_guarantee>; 0: none */
	/* <metadata><ksmvirt:policy/> of the live domain XML, when present. */
	gboolean has_policy;
	int priority;            /* 0 when the policy has none */
	guint64 min_balloon_mib; /* 0 when the policy has none */
	KvMergePolicy merge_policy;
} KvBalloonStats;

void kv_balloon_stats_free(KvBalloonStats *b);

typedef struct KvHv KvHv;

typedef struct {
	const char *name;
	/* Returns a GPtrArray of KvDomain (active ones), or NULL with ERROR. */
	GPtrArray *(*list_domains)(KvHv *hv, GError **error);
	/* Returns a GPtrArray of KvBalloonStats of the active domains (one
	 * bulk query where the driver supports it), or NULL with ERROR.
	 * May be NULL: unsupported. */
	GPtrArray *(*balloon_stats)(KvHv *hv, GError **error);
	/* Sets the balloon target of domain NAME.  KV_ERROR_NOT_FOUND when the
	 * domain has gone.  May be NULL: unsupported. */
	gboolean (*set_balloon)(KvHv *hv, const char *name, guint64 kib, GError **error);
	void (*close)(KvHv *hv);
	/* The disk images of domain UUID (kv_domain_disks_from_xml).  May be
	 * NULL: unsupported. */
	char **(*domain_disks)(KvHv *hv, const char *uuid, GError **error);
	/* Pins domain NAME's memory to host NODESET ("0", "0-1"), mode
	 * strict, live and in its persistent config; returns the nodeset
	 * the hypervisor reports back.  May be NULL: unsupported. */
	char *(*set_nodeset)(KvHv *hv, const char *name, const char *nodeset, GError **error);
	/* Makes the RAM of domain NAME mergeable by KSM or not (madvise),
	 * live: its memory backend BACKEND, or every memory backend when
	 * BACKEND is NULL.  Returns how many backends it set (0: none found),
	 * or -1 with ERROR.  May be NULL: unsupported. */
	int (*set_merge)(KvHv *hv, const char *name, const char *backend, gboolean on, GError **error);
	/* Writes domain NAME's <ksmvirt:policy> metadata (XML, or NULL to
	 * remove it), live and in its persistent config.  May be NULL. */
	gboolean (*set_policy_xml)(KvHv *hv, const char *name, const char *xml, GError **error);
	/* Domain NAME's live XML (a new string), or NULL with ERROR.  May be NULL. */
	char *(*domain_xml)(KvHv *hv, const char *name, GError **error);
} KvHvOps;

struct KvHv {
	const KvHvOps *ops;
	const KvCtx *ctx;
	void *priv;
	/* Where balloon_stats reads a domain's owner; NULL: the default
	 * (OpenStack Nova's project).  Owned. */
	char *owner_ns, *owner_path;
};

GPtrArray *kv_hv_list_domains(KvHv *hv, GError **error);
/* The two below fail with KV_ERROR_UNSUPPORTED when the backend lacks them. */
GPtrArray *kv_hv_balloon_stats(KvHv *hv, GError **error);
gboolean kv_hv_set_balloon(KvHv *hv, const char *name, guint64 kib, GError **error);
/* kv_hv_domain_disks: the files and block devices behind domain UUID's
 * <disk device='disk'> elements, in order (NULL-terminated, maybe empty),
 * or NULL with ERROR (KV_ERROR_NOT_FOUND when the domain has gone). */
char **kv_hv_domain_disks(KvHv *hv, const char *uuid, GError **error);
/* kv_hv_set_nodeset: pins domain NAME's memory to host NODESET (the op
 * above).  Returns the nodeset now in force, or NULL with ERROR
 * (KV_ERROR_UNSUPPORTED when the backend cannot). */
char *kv_hv_set_nodeset(KvHv *hv, const char *name, const char *nodeset, GError **error);
/* kv_hv_set_merge, kv_hv_set_policy_xml, kv_hv_domain_xml: the ops above;
 * KV_ERROR_UNSUPPORTED when the backend lacks them. */
int kv_hv_set_merge(KvHv *hv, const char *name, const char *backend, gboolean on, GError **error);
gboolean kv_hv_set_policy_xml(KvHv *hv, const char *name, const char *xml, GError **error);
char *kv_hv_domain_xml(KvHv *hv, const char *name, GError **error);
/* kv_hv_set_owner_rule: where the domains' owner is read from (see
 * KvOwnerRule in kv-event.h); NULLs for the default. */
void kv_hv_set_owner_rule(KvHv *hv, const char *ns_prefix, const char *path);
/* kv_domain_disks_from_xml: the same from domain XML (no I/O). */
char **kv_domain_disks_from_xml(const char *xml, gsize len, GError **error);
void kv_hv_close(KvHv *hv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvHv, kv_hv_close)

/* kv_hv_libvirt_open: connects read-only to URI (NULL: qemu:///system,
 * tried only when its socket exists under the context root, so a host
 * without libvirtd costs nothing).  The QEMU pid of a domain comes from
 * libvirt's pid file (RUNSTATEDIR/libvirt/qemu/NAME.pid).  Returns NULL with
 * ERROR when libvirt is unreachable. */
KvHv *kv_hv_libvirt_open(const KvCtx *ctx, const char *uri, GError **error);
/* kv_hv_libvirt_open_rw: the same with a read-write connection, needed to
 * move balloons and pin memory.  URI NULL as above. */
KvHv *kv_hv_libvirt_open_rw(const KvCtx *ctx, const char *uri, GError **error);

/* kv_uuid_normalize: lower-case, dashed canonical form of a 32-hex-digit
 * UUID (with or without dashes), or NULL if S is not a UUID. */
char *kv_uuid_normalize(const char *s);

G_END_DECLS
