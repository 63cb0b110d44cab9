/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-act.c: the balancer's actuators (see kv-act.h). */
#include "kv-act.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

KvActionResult
kv_act_classify_errno(int errnum)
{
	switch (errnum) {
	case EBUSY:
	case EAGAIN:
	case EINTR:
	case ENOMEM:
	case ETIMEDOUT:
		return KV_RESULT_TRANSIENT;
	default:
		return KV_RESULT_PERMANENT;
	}
}

int
kv_act_write_file(const KvCtx *ctx, const char *path, const char *text)
{
	g_autofree char *full = kv_ctx_path(ctx, path);
	size_t len = strlen(text);
	ssize_t n;
	int fd, err = 0;

	fd = open(full, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return errno;
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		err = errno;
	else if ((size_t)n != len)
		err = EIO;
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

static void
fail(KvAction *a, int errnum, const char *what)
{
	a->errnum = errnum;
	a->result = kv_act_classify_errno(errnum);
	g_free(a->error);
	a->error = g_strdup_printf("%s: %s", what, g_strerror(errnum));
}

static void
act_ksm(const KvCtx *ctx, KvAction *a, gboolean dry_run)
{
	g_autofree char *path = g_strdup_printf(KV_KSM_SYSFS_DIR "/%s", kv_ksm_knob_name(a->knob));
	g_autofree char *text = a->value_str ? g_strdup(a->value_str)
					     : g_strdup_printf("%" G_GUINT64_FORMAT, a->value);
	int err;

	if (dry_run) {
		a->result = KV_RESULT_DRY_RUN;
		return;
	}
	err = kv_act_write_file(ctx, path, text);
	if (err)
		fail(a, err, kv_ksm_knob_name(a->knob));
	else
		a->result = KV_RESULT_DONE;
}

static void
act_cgroup(const KvCtx *ctx, KvAction *a, gboolean dry_run)
{
	g_autofree char *text = NULL;
	int err;

	if (dry_run) {
		a->result = KV_RESULT_DRY_RUN;
		return;
	}
	if (a->value == KV_UNLIMITED)
		text = g_strdup(a->cg_version == KV_CGROUP_V2 ? "max" : "-1");
	else
		text = g_strdup_printf("%" G_GUINT64_FORMAT, a->value);
	err = kv_act_write_file(ctx, a->cg_file, text);
	if (err)
		fail(a, err, a->cg_file);
	else
		a->result = KV_RESULT_DONE;
}

static void
act_balloon(KvHv *hv, KvAction *a, gboolean dry_run)
{
	g_autoptr(GError) err = NULL;

	if (dry_run) {
		a->result = KV_RESULT_DRY_RUN;
		return;
	}
	if (!hv) {
		a->result = KV_RESULT_PERMANENT;
		a->errnum = ENOTCONN;
		a->error = g_strdup("no hypervisor connection");
		return;
	}
	if (kv_hv_set_balloon(hv, a->guest, a->value, &err)) {
		a->result = KV_RESULT_DONE;
		return;
	}
	/* A guest that went away, or a driver that cannot balloon: no retry. */
	a->result = g_error_matches(err, KV_ERROR, KV_ERROR_NOT_FOUND) ||
				    g_error_matches(err, KV_ERROR, KV_ERROR_UNSUPPORTED)
			    ? KV_RESULT_PERMANENT
			    : KV_RESULT_TRANSIENT;
	a->errnum = g_error_matches(err, KV_ERROR, KV_ERROR_NOT_FOUND) ? ESRCH : EIO;
	a->error = g_strdup(err->message);
}

static void
act_merge(KvHv *hv, KvAction *a, gboolean dry_run)
{
	g_autoptr(GError) err = NULL;
	const char *backend = a->value_str && a->value_str[0] ? a->value_str : NULL;
	int n;

	if (dry_run) {
		a->result = KV_RESULT_DRY_RUN;
		return;
	}
	if (!hv) {
		a->result = KV_RESULT_PERMANENT;
		a->errnum = ENOTCONN;
		a->error = g_strdup("no hypervisor connection");
		return;
	}
	n = kv_hv_set_merge(hv, a->guest, backend, a->value != 0, &err);
	if (n > 0) {
		a->result = KV_RESULT_DONE;
		return;
	}
	a->result = KV_RESULT_PERMANENT;
	a->errnum = n == 0 ? ENOENT : EIO;
	a->error = n == 0 ? g_strdup_printf("no QEMU memory backend %s", backend ? backend : "at all")
			  : g_strdup(err->message);
}

guint
kv_act(const KvCtx *ctx, KvHv *hv, KvPlan *plan, gboolean dry_run)
{
	guint failed = 0;

	for (guint i = 0; i < plan->actions->len; i++) {
		KvAction *a = g_ptr_array_index(plan->actions, i);

		if (a->result != KV_RESULT_PENDING) {
			/* Settled before acting (e.g. deferred by the caller). */
			if (a->result == KV_RESULT_TRANSIENT || a->result == KV_RESULT_PERMANENT)
				failed++;
			continue;
		}
		switch (a->kind) {
		case KV_ACTION_KSM_KNOB:
			act_ksm(ctx, a, dry_run);
			break;
		case KV_ACTION_CGROUP_LIMIT:
			act_cgroup(ctx, a, dry_run);
			break;
		case KV_ACTION_BALLOON:
			act_balloon(hv, a, dry_run);
			break;
		case KV_ACTION_GUEST_MERGE:
			act_merge(hv, a, dry_run);
			break;
		}
		if (a->result == KV_RESULT_TRANSIENT || a->result == KV_RESULT_PERMANENT)
			failed++;
	}
	return failed;
}
