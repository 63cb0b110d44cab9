/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-proc.c: per-process parsers and readers. */
#include "kv-proc.h"
#include "kv-parse.h"

#include <stdlib.h>
#include <string.h>

gboolean
kv_proc_stat_parse(const char *buf, KvProcStat *st, GError **error)
{
	const char *open = strchr(buf, '(');
	const char *close = strrchr(buf, ')');
	g_auto(GStrv) f = NULL;
	guint64 pid, ppid;
	const char *end;

	memset(st, 0, sizeof(*st));
	if (!open || !close || close < open || !kv_parse_u64(buf, &pid, &end) || end != open - 1 ||
	    pid == 0 || pid > G_MAXINT) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "malformed stat line");
		return FALSE;
	}
	/* After ") ": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime vsize rss */
	f = g_strsplit_set(close + 1, " \n", -1);
	{
		/* g_strsplit_set leaves an empty first token for the leading blank. */
		guint n = g_strv_length(f);
		guint64 v[22] = { 0 };

		if (n < 23 || f[1][0] == '\0' || f[1][1] != '\0') {
			g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "stat line too short");
			return FALSE;
		}
		for (guint i = 2; i <= 22; i++) {
			gint64 sv;

			/* Some fields (priority, nice) may be negative. */
			if (kv_parse_u64(f[i], &v[i - 1], NULL))
				continue;
			if (!kv_parse_i64(f[i], &sv, NULL)) {
				g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "stat field %u is not a number",
					    i + 2);
				return FALSE;
			}
			v[i - 1] = (guint64)sv;
		}
		ppid = v[1];
		st->state = f[1][0];
		st->ppid = (int)ppid;
		st->utime_ticks = v[11];
		st->stime_ticks = v[12];
		st->rss_pages = v[21];
	}
	st->pid = (int)pid;
	st->comm = g_strndup(open + 1, (gsize)(close - open - 1));
	return TRUE;
}

void
kv_proc_stat_clear(KvProcStat *st)
{
	g_clear_pointer(&st->comm, g_free);
}

void
kv_proc_status_parse(const char *buf, KvProcStatus *st)
{
	static const KvField fields[] = {
		{ "VmRSS", G_STRUCT_OFFSET(KvProcStatus, vm_rss_kib), 0 },
		{ "VmSwap", G_STRUCT_OFFSET(KvProcStatus, vm_swap_kib), 1 },
	};

	const char *uid;

	memset(st, 0, sizeof(*st));
	kv_parse_keyed_lines(buf, fields, G_N_ELEMENTS(fields), st, &st->have);
	/* "Uid:\treal\teffective\tsaved\tfs" */
	uid = buf ? strstr(buf, "\nUid:") : NULL;
	if (uid) {
		const char *p = uid + 5;
		guint64 r, e;

		while (*p == ' ' || *p == '\t')
			p++;
		if (kv_parse_u64(p, &r, &p) && (*p == ' ' || *p == '\t')) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (kv_parse_u64(p, &e, NULL) && r <= G_MAXUINT && e <= G_MAXUINT) {
				st->uid_real = (guint)r;
				st->uid_effective = (guint)e;
				st->have |= KV_PROC_STATUS_HAVE_UID;
			}
		}
	}
}

static gboolean
parse_yes_no(const char *line, const char *key, gboolean *out)
{
	gsize klen = strlen(key);
	const char *v;

	if (strncmp(line, key, klen) != 0)
		return FALSE;
	v = line + klen;
	if (*v == ':')
		v++;
	while (*v == ' ')
		v++;
	if (strncmp(v, "yes", 3) == 0 && (v[3] == '\0' || v[3] == '\n')) {
		*out = TRUE;
		return TRUE;
	}
	if (strncmp(v, "no", 2) == 0 && (v[2] == '\0' || v[2] == '\n')) {
		*out = FALSE;
		return TRUE;
	}
	return FALSE;
}

void
kv_ksm_stat_parse(const char *buf, KvKsmStat *ks)
{
	static const KvField fields[] = {
		{ "ksm_rmap_items", G_STRUCT_OFFSET(KvKsmStat, rmap_items), 0 },
		{ "ksm_zero_pages", G_STRUCT_OFFSET(KvKsmStat, zero_pages), 1 },
		{ "ksm_merging_pages", G_STRUCT_OFFSET(KvKsmStat, merging_pages), 2 },
	};
	guint64 have = 0;
	const char *line = buf;

	memset(ks, 0, sizeof(*ks));
	kv_parse_keyed_lines(buf, fields, G_N_ELEMENTS(fields), ks, &have);
	ks->have = (guint)have;
	while (line && *line) {
		const char *nl = strchr(line, '\n');

		if (strncmp(line, "ksm_process_profit ", 19) == 0) {
			g_autofree char *v =
				g_strndup(line + 19, nl ? (gsize)(nl - line - 19) : strlen(line + 19));

			if (kv_parse_i64(v, &ks->process_profit, NULL))
				ks->have |= KV_KSM_STAT_PROCESS_PROFIT;
		} else if (parse_yes_no(line, "ksm_merge_any", &ks->merge_any)) {
			ks->have |= KV_KSM_STAT_MERGE_ANY;
		} else if (parse_yes_no(line, "ksm_mergeable", &ks->mergeable)) {
			ks->have |= KV_KSM_STAT_MERGEABLE;
		}
		line = nl ? nl + 1 : NULL;
	}
}

void
kv_mapping_free(KvMapping *m)
{
	if (!m)
		return;
	g_free(m->path);
	g_free(m->vmflags);
	g_free(m);
}

gboolean
kv_mapping_has_flag(const KvMapping *m, const char *flag)
{
	char pat[8];

	if (!m->vmflags || strlen(flag) != 2)
		return FALSE;
	g_snprintf(pat, sizeof(pat), " %s ", flag);
	return strstr(m->vmflags, pat) != NULL;
}

/* Parses a hex number at *P, advancing it; FALSE if none. */
static gboolean
take_hex(const char **p, const char *end, guint64 *out)
{
	guint64 v = 0;
	const char *s = *p;

	if (s >= end || !g_ascii_isxdigit(*s))
		return FALSE;
	for (; s < end; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v >> 60)
			return FALSE;
		v = (v << 4) | d;
	}
	*out = v;
	*p = s;
	return TRUE;
}

static gboolean
take_blank(const char **p, const char *end)
{
	const char *s = *p;

	if (s >= end || *s != ' ')
		return FALSE;
	while (s < end && *s == ' ')
		s++;
	*p = s;
	return TRUE;
}

/* "start-end perms offset dev inode [path]" */
static KvMapping *
parse_smaps_header(const char *line, gsize len)
{
	const char *p = line, *end = line + len;
	g_autoptr(KvMapping) m = g_new0(KvMapping, 1);
	guint64 dev;

	if (!take_hex(&p, end, &m->start) || p >= end || *p++ != '-' || !take_hex(&p, end, &m->end) ||
	    m->end < m->start || !take_blank(&p, end))
		return NULL;
	if (end - p < 4 || (p + 4 < end && p[4] != ' '))
		return NULL;
	memcpy(m->perms, p, 4);
	p += 4;
	if (!take_blank(&p, end) || !take_hex(&p, end, &m->offset) || !take_blank(&p, end) ||
	    !take_hex(&p, end, &dev) || p >= end || *p++ != ':' || !take_hex(&p, end, &dev) ||
	    !take_blank(&p, end))
		return NULL;
	m->inode = 0;
	if (p >= end || !g_ascii_isdigit(*p))
		return NULL;
	for (; p < end && g_ascii_isdigit(*p); p++) {
		if (m->inode > G_MAXUINT64 / 10 - 1)
			return NULL;
		m->inode = m->inode * 10 + (guint64)(*p - '0');
	}
	while (p < end && *p == ' ')
		p++;
	if (p < end)
		m->path = g_strndup(p, (gsize)(end - p));
	return g_steal_pointer(&m);
}

GPtrArray *
kv_smaps_parse(const char *buf, GError **error)
{
	g_autoptr(GPtrArray) maps = g_ptr_array_new_with_free_func((GDestroyNotify)kv_mapping_free);
	KvMapping *cur = NULL;
	const char *line = buf;
	guint lineno = 0;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		gsize len = nl ? (gsize)(nl - line) : strlen(line);

		lineno++;
		gsize hex = 0;

		while (hex < len && g_ascii_isxdigit(line[hex]))
			hex++;
		/* A mapping header starts "start-end "; field lines "Key:". */
		if (hex > 0 && hex < len && line[hex] == '-') {
			cur = parse_smaps_header(line, len);
			if (!cur) {
				g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
					    "smaps line %u: malformed mapping header", lineno);
				return NULL;
			}
			g_ptr_array_add(maps, cur);
		} else if (cur && len > 8 && strncmp(line, "VmFlags:", 8) == 0) {
			g_autofree char *flags = g_strndup(line + 8, len - 8);

			g_free(cur->vmflags);
			cur->vmflags = g_strdup_printf(" %s ", g_strstrip(flags));
		} else if (cur && len > 0) {
			guint64 *dst = NULL;
			const char *colon = memchr(line, ':', len);
			gsize klen = colon ? (gsize)(colon - line) : 0;
			guint64 v;

			/* Only a few keys matter; compare without copying. */
			if (klen == 4 && !memcmp(line, "Size", 4))
				dst = &cur->size_kib;
			else if (klen == 3 && !memcmp(line, "Rss", 3))
				dst = &cur->rss_kib;
			else if (klen == 9 && !memcmp(line, "Anonymous", 9))
				dst = &cur->anon_kib;
			else if (klen == 4 && !memcmp(line, "Swap", 4))
				dst = &cur->swap_kib;
			else if (klen == 3 && !memcmp(line, "KSM", 3))
				dst = &cur->ksm_kib;
			if (dst && kv_parse_u64(colon + 1, &v, NULL)) {
				*dst = v;
				if (dst == &cur->ksm_kib)
					cur->have_ksm = TRUE;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return g_steal_pointer(&maps);
}

GStrv
kv_cmdline_parse(const char *buf, gsize len)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	gsize i = 0;

	while (i < len) {
		gsize n = strnlen(buf + i, len - i);

		g_ptr_array_add(args, g_strndup(buf + i, n));
		i += n + 1;
	}
	g_ptr_array_add(args, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&args), FALSE);
}

void
kv_proc_free(KvProc *p)
{
	if (!p)
		return;
	kv_proc_stat_clear(&p->stat);
	g_strfreev(p->argv);
	g_free(p);
}

KvProc *
kv_proc_read(const KvCtx *ctx, int pid, GError **error)
{
	g_autoptr(KvProc) p = g_new0(KvProc, 1);
	g_autofree char *buf = NULL;
	g_autofree char *path = NULL;
	gsize len = 0;

	p->pid = pid;
	path = g_strdup_printf("/proc/%d/stat", pid);
	if (!kv_ctx_read(ctx, path, 0, &buf, NULL, error))
		return NULL;
	if (!kv_proc_stat_parse(buf, &p->stat, error)) {
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	g_clear_pointer(&buf, g_free);
	g_free(path);
	path = g_strdup_printf("/proc/%d/status", pid);
	if (!kv_ctx_read(ctx, path, 0, &buf, NULL, error))
		return NULL;
	kv_proc_status_parse(buf, &p->status);
	g_clear_pointer(&buf, g_free);
	g_free(path);
	path = g_strdup_printf("/proc/%d/cmdline", pid);
	if (!kv_ctx_read(ctx, path, 1 << 20, &buf, &len, error))
		return NULL;
	p->argv = kv_cmdline_parse(buf, len);
	g_clear_pointer(&buf, g_free);
	g_free(path);
	/* ksm_stat appeared in 6.1; its absence leaves ksm.have == 0. */
	path = g_strdup_printf("/proc/%d/ksm_stat", pid);
	if (kv_ctx_read(ctx, path, 0, &buf, NULL, NULL))
		kv_ksm_stat_parse(buf, &p->ksm);
	return g_steal_pointer(&p);
}

static gint
cmp_int(gconstpointer a, gconstpointer b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

GArray *
kv_proc_list_pids(const KvCtx *ctx, GError **error)
{
	g_autoptr(GPtrArray) names = kv_ctx_list_dir(ctx, "/proc", error);
	GArray *pids;

	if (!names)
		return NULL;
	pids = g_array_new(FALSE, FALSE, sizeof(int));
	for (guint i = 0; i < names->len; i++) {
		guint64 v;

		if (kv_parse_u64(names->pdata[i], &v, NULL) && v > 0 && v <= G_MAXINT) {
			int pid = (int)v;

			g_array_append_val(pids, pid);
		}
	}
	g_array_sort(pids, cmp_int);
	return pids;
}

GPtrArray *
kv_proc_read_smaps(const KvCtx *ctx, int pid, GError **error)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/smaps", pid);
	g_autofree char *buf = NULL;
	GPtrArray *maps;

	if (!kv_ctx_read(ctx, path, 256u << 20, &buf, NULL, error))
		return NULL;
	maps = kv_smaps_parse(buf, error);
	if (!maps)
		g_prefix_error(error, "%s: ", path);
	return maps;
}
