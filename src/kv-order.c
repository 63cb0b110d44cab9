/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-order: per-boot event sequence.  See kv-order.h.
 */
#include "kv-order.h"
#include "kv-owned.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* How long to wait for another hook holding the counter (microseconds). */
#define SEQ_LOCK_WAIT_US 20000

gchar *
kv_order_boot_id(const KvCtx *ctx, GError **error)
{
	g_autofree char *buf = NULL;
	if (!kv_ctx_read(ctx, "/proc/sys/kernel/random/boot_id", 64, &buf, NULL, error))
		return NULL;
	g_strstrip(buf);
	gboolean ok = strlen(buf) == 36;
	for (guint i = 0; ok && i < 36; i++)
		ok = (i == 8 || i == 13 || i == 18 || i == 23) ? buf[i] == '-' : g_ascii_isxdigit(buf[i]);
	if (!ok) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "boot_id: not a UUID: '%s'", buf);
		return NULL;
	}
	return g_ascii_strdown(buf, -1);
}

static guint64
boottime_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return (guint64)g_get_monotonic_time();
	return (guint64)ts.tv_sec * G_USEC_PER_SEC + (guint64)ts.tv_nsec / 1000;
}

static gboolean
lock_bounded(int fd, GError **error)
{
	gint64 deadline_us = g_get_monotonic_time() + SEQ_LOCK_WAIT_US;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			kv_set_error_errno(error, errno, "flock " KV_ORDER_SEQ_FILE);
			return FALSE;
		}
		if (g_get_monotonic_time() > deadline_us) {
			g_set_error(error, KV_ERROR, KV_ERROR_IO, KV_ORDER_SEQ_FILE " stays locked");
			return FALSE;
		}
		g_usleep(1000);
	}
	return TRUE;
}

gboolean
kv_order_next_seq(const char *run_dir, guint64 *out_seq, GError **error)
{
	*out_seq = boottime_us();
	int dfd = kv_owned_dir_open(run_dir, error);
	if (dfd < 0)
		return FALSE;
	int fd = kv_owned_file_openat(dfd, KV_ORDER_SEQ_FILE, O_RDWR | O_CREAT, 0600, error);
	close(dfd);
	if (fd < 0)
		return FALSE;
	gboolean ok = FALSE;
	if (!lock_bounded(fd, error))
		goto out;
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n < 0) {
		kv_set_error_errno(error, errno, KV_ORDER_SEQ_FILE);
		goto out;
	}
	buf[n] = '\0';
	guint64 last = 0;
	/* An empty or damaged counter starts again from the floor. */
	if (!g_ascii_string_to_unsigned(g_strstrip(buf), 10, 0, G_MAXUINT64 - 1, &last, NULL))
		last = 0;
	guint64 seq = MAX(last + 1, boottime_us());
	char text[32];
	int len = snprintf(text, sizeof text, "%" G_GUINT64_FORMAT "\n", seq);
	if (pwrite(fd, text, (size_t)len, 0) != len || ftruncate(fd, len) < 0) {
		kv_set_error_errno(error, errno, KV_ORDER_SEQ_FILE);
		goto out;
	}
	*out_seq = seq;
	ok = TRUE;
out:
	close(fd); /* releases the lock */
	return ok;
}

static int
cmp_i64(gint64 a, gint64 b)
{
	return a < b ? -1 : a > b;
}

int
kv_order_compare(const KvOrderStamp *a, const KvOrderStamp *b, const char *current_boot_id)
{
	if (a->seq != 0 && b->seq != 0) {
		if (g_strcmp0(a->boot_id, b->boot_id) == 0)
			return a->seq < b->seq ? -1 : a->seq > b->seq;
		if (current_boot_id != NULL && g_strcmp0(a->boot_id, current_boot_id) == 0)
			return 1;
		if (current_boot_id != NULL && g_strcmp0(b->boot_id, current_boot_id) == 0)
			return -1;
		/* Two earlier boots: the wall clock is all there is. */
		return cmp_i64(a->time_us, b->time_us);
	}
	if (a->seq != 0)
		return 1;
	if (b->seq != 0)
		return -1;
	return cmp_i64(a->time_us, b->time_us);
}
