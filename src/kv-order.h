/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-order: the order of hook events, independent of the wall clock.
 *
 * Each hook run takes the next number of a per-boot sequence from a
 * counter file in the runtime directory (RUNSTATEDIR/ksmvirt/hook.seq,
 * under flock) and stamps the event with it and with the boot id
 * (/proc/sys/kernel/random/boot_id).  Numbers grow strictly within a boot
 * and are never below the microseconds since boot (CLOCK_BOOTTIME), so a
 * lost counter file cannot make them go back.  Events are ordered by
 * (boot, sequence); the wall clock decides only between two earlier boots
 * and for events written before sequences existed.
 */
#pragma once

#include <glib.h>

#include "kv-ctx.h"

G_BEGIN_DECLS

#define KV_ORDER_SEQ_FILE "hook.seq"

/* This boot's id, lower case, below ctx's root.  Returns NULL with error
 * set when it cannot be read or is no UUID. */
gchar *kv_order_boot_id(const KvCtx *ctx, GError **error);

/* Take the next sequence number from run_dir/hook.seq (kv-owned.h rules
 * for the directory and the file).  On failure returns FALSE with error
 * set and still stores a usable number in *out_seq: the microseconds since
 * boot. */
gboolean kv_order_next_seq(const char *run_dir, guint64 *out_seq, GError **error);

typedef struct {
	const char *boot_id; /* NULL: unknown */
	guint64 seq;         /* 0: none (an event from before sequences) */
	gint64 time_us;      /* wall clock */
} KvOrderStamp;

/* Negative when a comes before b, positive when after, 0 when neither
 * can be told apart.  current_boot_id (may be NULL) is this boot's id: an
 * event of this boot comes after any event of another boot.  A stamp with
 * a sequence comes after one without. */
int kv_order_compare(const KvOrderStamp *a, const KvOrderStamp *b, const char *current_boot_id);

G_END_DECLS
