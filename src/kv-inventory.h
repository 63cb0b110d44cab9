/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-inventory.h: the guest inventory: which processes are guests
 * (libvirt's word, or the caller's pids), what each is named, and what
 * the other processes merge.  The report and the balancer both sense
 * guests through it; each then reads only what it needs of them. */
#pragma once

#include <glib.h>

#include "kv-ctx.h"
#include "kv-hv.h"
#include "kv-proc.h"
#include "kv-qemu.h"

G_BEGIN_DECLS

typedef struct {
	KvProc *proc;     /* stat, status, cmdline, ksm_stat */
	KvQemuInfo *qemu; /* its command line; NULL: not a QEMU (a
	                                 process named by the caller) */
	char *name;
	char *uuid;   /* may be NULL */
	char *source; /* "libvirt", "cmdline", "registry", "pid",
	                                 "process" (a non-QEMU process) */
} KvInventoryGuest;

/* Processes that are not guests (kv-ident.h), with KSM pages. */
typedef struct {
	guint processes;
	guint64 merging_pages, zero_pages, rmap_items;
	guint64 saved_bytes; /* filled in by the report */
	guint impostors;     /* named like QEMU, not libvirt guests
	                                 (counted with or without KSM pages) */
} KvOther;

typedef struct {
	GPtrArray *guests; /* KvInventoryGuest, ascending pid */
	GArray *pids;      /* int: every process, ascending */
	int ksmd_pid;      /* 0: not found */
	KvOther other;
	char *impostors;  /* "pid N: why; ..." of the first three */
	GPtrArray *notes; /* char*: e.g. "libvirt: ..." */
} KvInventory;

typedef struct {
	KvHv *hv;     /* may be NULL */
	GArray *pids; /* int: also guests: a QEMU by its command
	                                 line, any other process as it is; may be
	                                 NULL */
	/* Called with a guest's UUID when libvirt does not name it (before
	 * QEMU's -name is used); returns a new string or NULL.  May be NULL. */
	char *(*lookup_name)(const char *uuid, gpointer data);
	gpointer lookup_data;
	const char *qemu_user; /* libvirt's QEMU user; NULL: qemu.conf's */
} KvInventoryOptions;

/* kv_inventory_collect: lists the processes below the root and sorts
 * them into guests and others.  Processes that exit while being read are
 * skipped.  Returns NULL with ERROR when /proc cannot be listed. */
KvInventory *kv_inventory_collect(const KvCtx *ctx, const KvInventoryOptions *opts, GError **error);
void kv_inventory_free(KvInventory *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvInventory, kv_inventory_free)

/* kv_inventory_ram_bytes: a QEMU guest's RAM from its command line (the
 * -m size, else the sum of its RAM backends).  0 for other processes. */
guint64 kv_inventory_ram_bytes(const KvInventoryGuest *g);

G_END_DECLS
