/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-status.h: ksmvirtd's status (schema ksmvirt-status/1) as a struct:
 * written as JSON for the control socket, read back from it (bounded),
 * and rendered as text from the struct. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "kv-host.h"
#include "kv-policy.h"

G_BEGIN_DECLS

#define KV_STATUS_SCHEMA "ksmvirt-status/1"

typedef struct {
	gint64 id;
	guint64 mem_total_kib, mem_free_kib;
	gboolean under_pressure;
} KvStatusNode;

typedef struct {
	char *name; /* NULL: unnamed ("?" in the text) */
	char *uuid; /* may be NULL */
	gint64 pid;
	guint64 ram_kib, rss_kib, swap_kib, merging_pages;
	gint64 priority;
	char *group;             /* merge-isolation group (kv-isolation.h); may be NULL */
	char *merge;             /* kv_isolation_merge_state(); may be NULL */
	GArray *node_kib;        /* KvGuestNodeKib; NULL: not measured */
	gboolean has_balloon;    /* the balloon_* below are known */
	gboolean balloon_driver; /* and unused/available with it */
	guint64 balloon_actual_kib, balloon_max_kib, balloon_unused_kib, balloon_available_kib;
	guint64 balloon_floor_kib;
	char *floor_source;  /* may be NULL */
	gboolean has_cgroup; /* the cg_* below are known */
	gint64 cg_version;
	char *cg_dir;
	gint64 cg_limit_bytes; /* -1: no limit */
	guint64 cg_usage_bytes;
} KvStatusGuest;

typedef struct {
	char *policy, *decision, *reason;
} KvStatusDecision;

typedef struct {
	char *policy, *description;
	char *knob;      /* KSM knob actions; else NULL */
	char *guest;     /* may be NULL */
	char *value_str; /* NULL: the value is VALUE */
	guint64 value, old_value;
	char *result; /* kv_action_result_to_string() */
	char *error;  /* may be NULL */
} KvStatusAction;

typedef struct {
	guint64 tick;
	double time_s; /* Unix time of the last tick */
	guint64 tick_ms;
	gboolean dry_run;
	gboolean libvirt;            /* connected */
	char *libvirt_error;         /* why it is not, when it should be; else NULL */
	double libvirt_down_since_s; /* Unix time, with LIBVIRT_ERROR */
	guint64 libvirt_reconnects;

	gboolean have_host; /* FALSE only in a document without "host" */
	gboolean sensed;    /* the host figures below come from a tick */
	guint64 mem_total_kib, mem_available_kib, swap_total_kib, swap_free_kib;
	gboolean have_psi;
	double psi_some_avg10, psi_full_avg10;
	guint64 numa_nodes;
	GArray *nodes; /* KvStatusNode, ascending id */
	gboolean have_ksmd_cpu;
	double ksmd_cpu_s;
	gboolean have_merged_delta;
	gint64 merged_delta_pages;
	gboolean have_gain;
	double gain_pages_per_cpu_s;
	gboolean ksm_active, backed_off;

	KvKsm *ksm;                /* the knobs shown; NULL: not sensed */
	GPtrArray *guests;         /* KvStatusGuest */
	GPtrArray *decisions;      /* KvStatusDecision */
	GPtrArray *actions;        /* KvStatusAction */
	GPtrArray *recent_actions; /* char*: "tick N [result] description" */
	GPtrArray *notes;          /* char* */
} KvStatus;

/* kv_status_new: an empty status (no host figures, no guests). */
KvStatus *kv_status_new(void);
void kv_status_free(KvStatus *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvStatus, kv_status_free)

/* kv_status_set_plan: replaces the decisions and actions of ST with
 * PLAN's (may be NULL: none). */
void kv_status_set_plan(KvStatus *st, const KvPlan *plan);

/* kv_status_add_plan: the members "decisions" and "actions" of PLAN (may
 * be NULL: both empty) into the object JB is building, as the status
 * document has them (the state file and the history use them too). */
void kv_status_add_plan(JsonBuilder *jb, const KvPlan *plan);

/* kv_status_to_json: the status document (pretty printed, valid UTF-8:
 * bytes that are not are shown as \xNN text). */
char *kv_status_to_json(const KvStatus *st);

/* kv_status_from_json: parses a status document (bounded in size and
 * depth; members missing or of another type read as absent or 0).
 * Returns NULL with KV_ERROR_PARSE when JSON is not one. */
KvStatus *kv_status_from_json(const char *json, GError **error);

/* kv_status_render: the text form of ST for a terminal (every string
 * escaped).  Returns a new string. */
char *kv_status_render(const KvStatus *st);

/* kv_status_render_text: kv_status_from_json() then kv_status_render().
 * Returns NULL with ERROR when JSON is not a status document. */
char *kv_status_render_text(const char *json, GError **error);

G_END_DECLS
