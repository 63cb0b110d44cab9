/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-proc.h: per-process parsers (/proc/PID/{stat,status,cmdline,ksm_stat,smaps})
 * and the process scan. */
#pragma once

#include <glib.h>
#include "kv-ctx.h"

G_BEGIN_DECLS

typedef struct {
	int pid;
	char *comm; /* may hold spaces, parentheses, newlines */
	char state;
	int ppid;
	guint64 utime_ticks, stime_ticks;
	guint64 rss_pages;
} KvProcStat;

/* kv_proc_stat_parse: parses /proc/PID/stat.  The command name runs from
 * the first '(' to the LAST ')'.  Returns FALSE with ERROR on junk. */
gboolean kv_proc_stat_parse(const char *buf, KvProcStat *st, GError **error);
void kv_proc_stat_clear(KvProcStat *st);

typedef struct {
	guint64 vm_rss_kib, vm_swap_kib;
	guint64 have;                  /* bit 0 VmRSS, bit 1 VmSwap, bit 2 Uid */
	guint uid_real, uid_effective; /* "Uid:" (bit 2 of have) */
} KvProcStatus;

#define KV_PROC_STATUS_HAVE_UID (1u << 2)

void kv_proc_status_parse(const char *buf, KvProcStatus *st);

typedef enum {
	KV_KSM_STAT_RMAP_ITEMS = 1 << 0,
	KV_KSM_STAT_ZERO_PAGES = 1 << 1,
	KV_KSM_STAT_MERGING_PAGES = 1 << 2,
	KV_KSM_STAT_PROCESS_PROFIT = 1 << 3,
	KV_KSM_STAT_MERGE_ANY = 1 << 4,
	KV_KSM_STAT_MERGEABLE = 1 << 5,
} KvKsmStatHave;

typedef struct {
	guint64 rmap_items, zero_pages, merging_pages;
	gint64 process_profit; /* bytes; negative when rmap items cost more */
	gboolean merge_any, mergeable;
	guint have; /* KvKsmStatHave; 0: file absent (old kernel) */
} KvKsmStat;

/* kv_ksm_stat_parse: /proc/PID/ksm_stat.  Unknown lines are ignored; a
 * malformed value leaves its field unsupported. */
void kv_ksm_stat_parse(const char *buf, KvKsmStat *ks);

typedef struct {
	guint64 start, end; /* virtual addresses */
	char perms[5];
	guint64 offset, inode;
	char *path; /* NULL for anonymous */
	guint64 size_kib, rss_kib, anon_kib, swap_kib, ksm_kib;
	gboolean have_ksm; /* "KSM:" present (kernel >= 6.12) */
	char *vmflags;     /* " rd wr mg dc " (blank-delimited) */
} KvMapping;

void kv_mapping_free(KvMapping *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvMapping, kv_mapping_free)
/* kv_mapping_has_flag: TRUE if VmFlags lists FLAG (two letters). */
gboolean kv_mapping_has_flag(const KvMapping *m, const char *flag);

/* kv_smaps_parse: parses /proc/PID/smaps into KvMapping entries.
 * Returns a GPtrArray (possibly empty) or NULL with ERROR on a malformed
 * header line. */
GPtrArray *kv_smaps_parse(const char *buf, GError **error);

/* kv_cmdline_parse: splits a NUL-separated /proc/PID/cmdline of LEN bytes.
 * Returns a NULL-terminated vector (possibly empty). */
GStrv kv_cmdline_parse(const char *buf, gsize len);

typedef struct {
	int pid;
	KvProcStat stat;
	KvProcStatus status;
	KvKsmStat ksm;
	GStrv argv;
} KvProc;

void kv_proc_free(KvProc *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvProc, kv_proc_free)

/* kv_proc_read: reads stat, status, cmdline and ksm_stat of PID.
 * Returns NULL with KV_ERROR_NOT_FOUND when the process has gone. */
KvProc *kv_proc_read(const KvCtx *ctx, int pid, GError **error);

/* kv_proc_list_pids: numeric entries of /proc, ascending. */
GArray *kv_proc_list_pids(const KvCtx *ctx, GError **error);

/* kv_proc_read_smaps: reads and parses /proc/PID/smaps. */
GPtrArray *kv_proc_read_smaps(const KvCtx *ctx, int pid, GError **error);

G_END_DECLS
