/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-host.h: host-wide sensing: KSM sysfs, /proc/vmstat, /proc/meminfo. */
#pragma once

#include <glib.h>
#include "kv-ctx.h"

G_BEGIN_DECLS

/* Every /sys/kernel/mm/ksm file ksmvirt knows.  A file the running kernel
 * lacks is "unsupported" (its bit in KvKsm.have is clear), never an error. */
typedef enum {
	KV_KSM_RUN,
	KV_KSM_PAGES_TO_SCAN,
	KV_KSM_SLEEP_MILLISECS,
	KV_KSM_PAGES_SHARED,
	KV_KSM_PAGES_SHARING,
	KV_KSM_PAGES_UNSHARED,
	KV_KSM_PAGES_VOLATILE,
	KV_KSM_PAGES_SKIPPED,
	KV_KSM_PAGES_SCANNED,
	KV_KSM_FULL_SCANS,
	KV_KSM_ZERO_PAGES,
	KV_KSM_GENERAL_PROFIT,
	KV_KSM_STABLE_NODE_CHAINS,
	KV_KSM_STABLE_NODE_DUPS,
	KV_KSM_STABLE_NODE_CHAINS_PRUNE_MILLISECS,
	KV_KSM_MAX_PAGE_SHARING,
	KV_KSM_MERGE_ACROSS_NODES,
	KV_KSM_USE_ZERO_PAGES,
	KV_KSM_SMART_SCAN,
	KV_KSM_ADVISOR_MODE,
	KV_KSM_ADVISOR_MAX_CPU,
	KV_KSM_ADVISOR_MIN_PAGES_TO_SCAN,
	KV_KSM_ADVISOR_MAX_PAGES_TO_SCAN,
	KV_KSM_ADVISOR_TARGET_SCAN_TIME,
	KV_KSM_N_KNOBS
} KvKsmKnob;

typedef struct {
	guint64 value[KV_KSM_N_KNOBS]; /* general_profit is stored as gint64 bits */
	guint64 have;                  /* bit per KvKsmKnob */
	char *advisor_mode;            /* "none", "scan-time", ... (selected one) */
	GPtrArray *extra_names;        /* files this kernel has that we don't know */
	GPtrArray *extra_values;       /* their first line */
} KvKsm;

/* kv_ksm_knob_name: sysfs file name of KNOB. */
const char *kv_ksm_knob_name(KvKsmKnob knob);
/* kv_ksm_knob_is_signed: TRUE for general_profit. */
gboolean kv_ksm_knob_is_signed(KvKsmKnob knob);
/* kv_ksm_knob_is_tunable: TRUE for knobs (writable), FALSE for counters. */
gboolean kv_ksm_knob_is_tunable(KvKsmKnob knob);

static inline gboolean
kv_ksm_has(const KvKsm *k, KvKsmKnob knob)
{
	return (k->have >> knob) & 1;
}

/* kv_ksm_parse_value: parses one sysfs file's content into KSM (used by
 * kv_ksm_read; exposed for tests).  Returns FALSE if CONTENT is not a
 * valid value for KNOB (the knob then stays unsupported). */
gboolean kv_ksm_parse_value(KvKsm *ksm, KvKsmKnob knob, const char *content);

/* kv_ksm_read: reads /sys/kernel/mm/ksm.  Returns a new KvKsm, or NULL with
 * KV_ERROR_UNSUPPORTED when the kernel has no KSM, or another KvError. */
KvKsm *kv_ksm_read(const KvCtx *ctx, GError **error);
void kv_ksm_free(KvKsm *ksm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvKsm, kv_ksm_free)

/* kv_ksm_saved_bytes: (pages_sharing + ksm_zero_pages) x page size. */
guint64 kv_ksm_saved_bytes(const KvKsm *ksm, gsize page_size);
/* kv_ksm_sharing_ratio: pages_sharing / pages_shared; 0 when none shared. */
double kv_ksm_sharing_ratio(const KvKsm *ksm);

typedef struct {
	guint64 ksm_swpin_copy, cow_ksm, pswpin, pswpout;
	guint64 have; /* bit 0..3 in the order above */
} KvVmstat;

/* kv_vmstat_parse: fills VS from /proc/vmstat content.  Always succeeds;
 * missing counters leave their bit clear. */
void kv_vmstat_parse(const char *buf, KvVmstat *vs);
gboolean kv_vmstat_read(const KvCtx *ctx, KvVmstat *vs, GError **error);

typedef struct {
	guint64 mem_total_kib, mem_free_kib, mem_available_kib, buffers_kib, cached_kib, swap_total_kib,
		swap_free_kib;
	guint64 have;
} KvMeminfo;

void kv_meminfo_parse(const char *buf, KvMeminfo *mi);
gboolean kv_meminfo_read(const KvCtx *ctx, KvMeminfo *mi, GError **error);

/* kv_cpu_percent: CPU % of one core used between two samples of a task's
 * utime+stime in clock ticks, over INTERVAL_MS.  Returns -1 when it cannot
 * be computed (no interval, counter went backwards). */
double kv_cpu_percent(guint64 ticks_before, guint64 ticks_after, guint64 interval_ms, long ticks_per_sec);

G_END_DECLS
