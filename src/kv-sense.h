/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-sense.h: fills a KvSnapshot (kv-policy.h) from the system, through the
 * context's root prefix and the hypervisor interface. */
#pragma once

#include <glib.h>

#include "kv-ctx.h"
#include "kv-hv.h"
#include "kv-numa.h"
#include "kv-policy.h"

G_BEGIN_DECLS

/* Counters of the previous tick, to turn totals into deltas. */
typedef struct {
	gboolean have_prev;
	gint64 time_us;
	guint64 merged_pages, scanned_pages, ksmd_ticks, run, full_scans;
	gboolean have_ksmd_ticks;
	KvVmstat vmstat;
} KvSenseState;

/* Policy facts about a guest the hypervisor does not know (from the hook's
 * registry).  Return TRUE when known. */
typedef gboolean (*KvPolicyLookup)(const char *uuid, const char *name, int *priority,
				   guint64 *min_balloon_mib, gpointer data);

/* TRUE when guest inspection found Windows on the guest's disks. */
typedef gboolean (*KvOsLookup)(const char *uuid, const char *name, gpointer data);

typedef struct {
	KvHv *hv;              /* may be NULL */
	KvPolicyLookup lookup; /* may be NULL */
	gpointer lookup_data;
	GArray *pids;          /* int: also treat these processes as guests */
	KvOsLookup is_windows; /* may be NULL; called with lookup_data */
	const char *qemu_user; /* libvirt's QEMU user; NULL: qemu.conf's */
} KvSenseOptions;

/* kv_psi_parse: "some avg10=1.23 ..." / "full avg10=..." lines of
 * /proc/pressure/memory.  Returns FALSE when no "some" line parses. */
gboolean kv_psi_parse(const char *buf, double *some_avg10, double *full_avg10);

/* kv_cgroup_parse: from /proc/PID/cgroup content, the memory cgroup path
 * (v1 "N:...memory...:/path" preferred, else v2 "0::/path").  Returns the
 * path relative to the hierarchy root and sets *VERSION, or NULL. */
char *kv_cgroup_parse(const char *buf, KvCgroupVersion *version);

/* kv_cgroup_limit_parse: "max", "-1"-like huge v1 values (>= 2^62) and
 * numbers.  Returns KV_UNLIMITED for no limit, G_MAXUINT64 - 1 on junk. */
guint64 kv_cgroup_limit_parse(const char *buf);

/* kv_numa_maps_parse: sums the "N<node>=<pages>" fields of every line of
 * /proc/PID/numa_maps (pages of that line's kernelpagesize_kB, 4 when
 * absent) into OUT (KvGuestNodeKib, ascending node).  Returns the number
 * of lines that had per-node counts. */
guint kv_numa_maps_parse(const char *buf, GArray *out);

/* kv_sense: one snapshot.  ST carries counters from the previous call
 * (updated here).  Fails only when /proc/meminfo cannot be read; whatever
 * else is missing is noted in snapshot->notes. */
KvSnapshot *kv_sense(const KvCtx *ctx, const KvSenseOptions *opts, KvSenseState *st, GError **error);

G_END_DECLS
