/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-ksmd.c: finding ksmd and reading its CPU time (see kv-ksmd.h). */
#include "kv-ksmd.h"

#include "kv-proc.h"

static gboolean
read_stat(const KvCtx *ctx, int pid, KvProcStat *st)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
	g_autofree char *buf = NULL;

	return pid > 0 && kv_ctx_read(ctx, path, 0, &buf, NULL, NULL) && kv_proc_stat_parse(buf, st, NULL);
}

int
kv_ksmd_find(const KvCtx *ctx, GArray *pids)
{
	g_autoptr(GArray) listed = pids ? NULL : kv_proc_list_pids(ctx, NULL);

	if (!pids)
		pids = listed;
	for (guint i = 0; pids && i < pids->len; i++) {
		int pid = g_array_index(pids, int, i);
		KvProcStat st = { 0 };
		gboolean is_ksmd;

		if (!read_stat(ctx, pid, &st))
			continue;
		/* A kernel thread: child of kthreadd (pid 2). */
		is_ksmd = g_strcmp0(st.comm, "ksmd") == 0 && st.ppid == 2;
		kv_proc_stat_clear(&st);
		if (is_ksmd)
			return pid;
	}
	return 0;
}

gboolean
kv_ksmd_cpu_ticks(const KvCtx *ctx, int pid, guint64 *ticks)
{
	KvProcStat st = { 0 };

	if (!read_stat(ctx, pid, &st))
		return FALSE;
	*ticks = st.utime_ticks + st.stime_ticks;
	kv_proc_stat_clear(&st);
	return TRUE;
}
