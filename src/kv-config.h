/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-config.h: ksmvirtd.conf (GKeyFile), every key documented in
 * ksmvirtd.conf(5).  A missing file means every default.  Errors, as
 * GKeyFile's own: G_KEY_FILE_ERROR for what the file says, G_FILE_ERROR
 * (kv-file.h) for the file itself. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define KV_CONFIG_DEFAULT_PATH SYSCONFDIR "/ksmvirt/ksmvirtd.conf"

typedef enum {
	KV_ADVISOR_OFF,       /* ksmvirtd drives pages_to_scan itself */
	KV_ADVISOR_SCAN_TIME, /* leave pages_to_scan to the kernel */
	KV_ADVISOR_AUTO,      /* the advisor when ksmd CPU cannot be measured */
} KvAdvisorUse;

/* Where a guest's merge-isolation group comes from when its policy names
 * none ([isolation] by). */
typedef enum {
	KV_ISOLATION_BY_NONE,  /* every such guest in one group */
	KV_ISOLATION_BY_GUEST, /* each guest its own group */
	KV_ISOLATION_BY_OWNER, /* its owner from the domain metadata */
} KvIsolationBy;

/* What a kernel without merge-isolation groups does with several groups
 * ([isolation] fallback). */
typedef enum {
	KV_ISOLATION_STRICT, /* one group merges, the others' merging is off */
	KV_ISOLATION_WARN,   /* everything merges; a warning says so */
} KvIsolationFallback;

/* Every key of ksmvirtd.conf(5); kv_config_defaults() sets the defaults.
 * The strings are owned (never NULL once initialised): kv_config_clear()
 * frees them, kv_config_copy() copies a configuration. */
typedef struct {
	guint tick_ms;
	gboolean dry_run;
	guint history_max_kib;
	/* The control socket (kv-server.h). */
	guint max_connections; /* served at once; more are refused */
	guint idle_timeout_s;  /* a connection moving no byte is closed */
	guint max_line_kib;    /* longest request line */
	/* Only guests whose name matches one of these shell globs (separated
	 * by ';', ',' or spaces) are sensed and managed; "" for every guest. */
	char *guests;

	gboolean ksm_manage;
	double overcommit_ratio; /* guest RAM / MemTotal above this: on */
	guint avail_low_pct;     /* MemAvailable below: pressure */
	guint avail_high_pct;    /* MemAvailable above: comfortable */
	double psi_some_on_pct;
	double psi_some_off_pct;
	guint64 pages_to_scan_min, pages_to_scan_max, pages_to_scan_start;
	guint sleep_ms;
	double min_gain_pages_per_cpu_s;
	guint backoff_ticks;
	guint64 rearm_swpin_copies; /* pages copied at swap-in per tick: scan again */
	KvAdvisorUse advisor;
	guint advisor_max_cpu_pct;
	guint64 unmerge_reserve_mib;

	gboolean balloon_manage;
	guint balloon_step_pct;       /* of the guest maximum per change */
	guint balloon_guest_free_pct; /* keep this much of actual unused in the guest */
	guint balloon_interval_ticks; /* at least this many ticks between changes */
	guint64 balloon_min_change_mib;
	guint balloon_guests_per_tick; /* at most this many balloons move per tick */

	gboolean swap_manage;
	double swap_psi_full_on_pct;
	double swap_psi_full_off_pct;
	guint swap_step_pct;        /* of guest RAM per step */
	guint swap_min_pct;         /* never limit below this % of guest RAM */
	guint swap_busy_ticks;      /* after EBUSY, leave the guest this long */
	guint swap_guests_per_tick; /* at most this many limits change per tick */

	int merge_across_nodes;   /* -1: leave as is */
	guint node_free_low_pct;  /* a node with less MemFree is under pressure */
	guint node_free_high_pct; /* ... until it has this much again */

	/* Held (flock, non-blocking) around KSM writes on the real system, so
	 * the balancer and other tools that change KSM settings take turns;
	 * "" for none. */
	char *ksm_lock_file;

	/* use_zero_pages on while a Windows guest runs (they zero their free
	 * memory); kv_policy_zero_pages. */
	gboolean zero_pages_for_windows;

	/* Guest OS inspection in ksmvirtd (kv-inspect-queue.h). */
	gboolean inspect_enabled;
	guint inspect_timeout_s;  /* an appliance is killed after this */
	guint inspect_interval_s; /* running guests' disks looked at again */
	char *inspect_cache_file; /* "": STATE_DIR/inspect-cache.json */
	/* Merge isolation (kv-isolation.h). */
	KvIsolationBy isolation_by;
	KvIsolationFallback isolation_fallback;
	char *merging_group;   /* strict: "" for the group with the most RAM */
	char *owner_namespace; /* owner metadata: namespace URI prefix */
	char *owner_path;      /* and element path below it, "@attr" last */
} KvConfig;

/* OpenStack Nova's metadata: <nova:instance xmlns:nova=".../nova/1.1">
 * <nova:owner><nova:project uuid="..."> (any version of the namespace). */
#define KV_OWNER_NAMESPACE_NOVA "http://openstack.org/xmlns/libvirt/nova/"
#define KV_OWNER_PATH_NOVA "instance/owner/project@uuid"
/* A string value ([isolation] merging-group, owner-*) is at most this long. */
#define KV_CONFIG_MAX_STRING 256

const char *kv_isolation_by_to_string(KvIsolationBy by);
const char *kv_isolation_fallback_to_string(KvIsolationFallback f);

/* kv_config_defaults: initialises CFG whole to the defaults; what it held
 * before is not freed (pass a new struct or one kv_config_clear() released),
 * as with kv_config_parse(), kv_config_load() and kv_config_reload(). */
void kv_config_defaults(KvConfig *cfg);
/* kv_config_clear: frees CFG's strings and zeroes it.  A zeroed struct may
 * be cleared again. */
void kv_config_clear(KvConfig *cfg);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(KvConfig, kv_config_clear)
/* kv_config_copy: DST (initialised or zeroed) becomes a copy of SRC; its
 * old strings are freed. */
void kv_config_copy(KvConfig *dst, const KvConfig *src);

/* kv_config_parse: sets CFG to the defaults, then applies DATA (key file
 * text).  Unknown groups and keys are listed in WARNINGS (char*; may be
 * NULL).  Returns FALSE with ERROR on syntax errors and bad values, leaving
 * CFG at the defaults. */
gboolean kv_config_parse(const char *data, gsize len, KvConfig *cfg, GPtrArray *warnings, GError **error);

/* The configuration file is read up to this size; a larger one is an error. */
#define KV_CONFIG_MAX_BYTES (1u << 20)

/* kv_config_load: kv_config_parse() of the file at PATH (symlinks
 * followed, read without blocking, at most KV_CONFIG_MAX_BYTES).  A missing
 * file gives the defaults and returns TRUE. */
gboolean kv_config_load(const char *path, KvConfig *cfg, GPtrArray *warnings, GError **error);

/* kv_config_reload: kv_config_load() for a running daemon: a missing file is
 * an error (G_FILE_ERROR_NOENT) like a broken one (CFG is then at the
 * defaults), so the caller keeps its running configuration rather than
 * falling back to the defaults. */
gboolean kv_config_reload(const char *path, KvConfig *cfg, GPtrArray *warnings, GError **error);

/* kv_config_guest_selected: TRUE when guest NAME matches the guests key
 * (every guest when it is empty). */
gboolean kv_config_guest_selected(const KvConfig *cfg, const char *name);

/* kv_config_to_string: the effective configuration as key file text. */
char *kv_config_to_string(const KvConfig *cfg);

G_END_DECLS
