/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-host.c: KSM sysfs, vmstat and meminfo parsers and readers. */
#include "kv-host.h"
#include "kv-parse.h"

#include <string.h>

static const struct {
	const char *name;
	gboolean is_signed;
	gboolean tunable;
} knobs[KV_KSM_N_KNOBS] = {
	[KV_KSM_RUN] = { "run", FALSE, TRUE },
	[KV_KSM_PAGES_TO_SCAN] = { "pages_to_scan", FALSE, TRUE },
	[KV_KSM_SLEEP_MILLISECS] = { "sleep_millisecs", FALSE, TRUE },
	[KV_KSM_PAGES_SHARED] = { "pages_shared", FALSE, FALSE },
	[KV_KSM_PAGES_SHARING] = { "pages_sharing", FALSE, FALSE },
	[KV_KSM_PAGES_UNSHARED] = { "pages_unshared", FALSE, FALSE },
	[KV_KSM_PAGES_VOLATILE] = { "pages_volatile", FALSE, FALSE },
	[KV_KSM_PAGES_SKIPPED] = { "pages_skipped", FALSE, FALSE },
	[KV_KSM_PAGES_SCANNED] = { "pages_scanned", FALSE, FALSE },
	[KV_KSM_FULL_SCANS] = { "full_scans", FALSE, FALSE },
	[KV_KSM_ZERO_PAGES] = { "ksm_zero_pages", FALSE, FALSE },
	[KV_KSM_GENERAL_PROFIT] = { "general_profit", TRUE, FALSE },
	[KV_KSM_STABLE_NODE_CHAINS] = { "stable_node_chains", FALSE, FALSE },
	[KV_KSM_STABLE_NODE_DUPS] = { "stable_node_dups", FALSE, FALSE },
	[KV_KSM_STABLE_NODE_CHAINS_PRUNE_MILLISECS] = { "stable_node_chains_prune_millisecs", FALSE, TRUE },
	[KV_KSM_MAX_PAGE_SHARING] = { "max_page_sharing", FALSE, TRUE },
	[KV_KSM_MERGE_ACROSS_NODES] = { "merge_across_nodes", FALSE, TRUE },
	[KV_KSM_USE_ZERO_PAGES] = { "use_zero_pages", FALSE, TRUE },
	[KV_KSM_SMART_SCAN] = { "smart_scan", FALSE, TRUE },
	[KV_KSM_ADVISOR_MODE] = { "advisor_mode", FALSE, TRUE },
	[KV_KSM_ADVISOR_MAX_CPU] = { "advisor_max_cpu", FALSE, TRUE },
	[KV_KSM_ADVISOR_MIN_PAGES_TO_SCAN] = { "advisor_min_pages_to_scan", FALSE, TRUE },
	[KV_KSM_ADVISOR_MAX_PAGES_TO_SCAN] = { "advisor_max_pages_to_scan", FALSE, TRUE },
	[KV_KSM_ADVISOR_TARGET_SCAN_TIME] = { "advisor_target_scan_time", FALSE, TRUE },
};

const char *
kv_ksm_knob_name(KvKsmKnob knob)
{
	return knob < KV_KSM_N_KNOBS ? knobs[knob].name : NULL;
}

gboolean
kv_ksm_knob_is_signed(KvKsmKnob knob)
{
	return knob < KV_KSM_N_KNOBS && knobs[knob].is_signed;
}

gboolean
kv_ksm_knob_is_tunable(KvKsmKnob knob)
{
	return knob < KV_KSM_N_KNOBS && knobs[knob].tunable;
}

/* advisor_mode reads "[none] scan-time": the bracketed word is selected. */
static char *
parse_selected_word(const char *content)
{
	const char *open = strchr(content, '[');
	const char *close = open ? strchr(open, ']') : NULL;
	g_autofree char *copy = NULL;

	if (open && close && close > open + 1)
		return g_strndup(open + 1, (gsize)(close - open - 1));
	copy = g_strstrip(g_strdup(content));
	if (!*copy || strchr(copy, ' ') || strchr(copy, '\n'))
		return NULL;
	return g_steal_pointer(&copy);
}

gboolean
kv_ksm_parse_value(KvKsm *ksm, KvKsmKnob knob, const char *content)
{
	if (knob == KV_KSM_ADVISOR_MODE) {
		char *mode = parse_selected_word(content);

		if (!mode)
			return FALSE;
		g_free(ksm->advisor_mode);
		ksm->advisor_mode = mode;
	} else if (knobs[knob].is_signed) {
		gint64 v;

		if (!kv_parse_i64(content, &v, NULL))
			return FALSE;
		ksm->value[knob] = (guint64)v;
	} else {
		guint64 v;

		if (!kv_parse_u64(content, &v, NULL))
			return FALSE;
		ksm->value[knob] = v;
	}
	ksm->have |= G_GUINT64_CONSTANT(1) << knob;
	return TRUE;
}

void
kv_ksm_free(KvKsm *ksm)
{
	if (!ksm)
		return;
	g_free(ksm->advisor_mode);
	if (ksm->extra_names)
		g_ptr_array_unref(ksm->extra_names);
	if (ksm->extra_values)
		g_ptr_array_unref(ksm->extra_values);
	g_free(ksm);
}

KvKsm *
kv_ksm_read(const KvCtx *ctx, GError **error)
{
	g_autoptr(KvKsm) ksm = g_new0(KvKsm, 1);
	g_autoptr(GPtrArray) names = NULL;
	g_autoptr(GError) local = NULL;

	names = kv_ctx_list_dir(ctx, "/sys/kernel/mm/ksm", &local);
	if (!names) {
		if (g_error_matches(local, KV_ERROR, KV_ERROR_NOT_FOUND))
			g_set_error(error, KV_ERROR, KV_ERROR_UNSUPPORTED,
				    "this kernel has no KSM (%s/sys/kernel/mm/ksm missing; CONFIG_KSM=y needed)",
				    ctx->root);
		else
			g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	ksm->extra_names = g_ptr_array_new_with_free_func(g_free);
	ksm->extra_values = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		g_autofree char *path = g_strconcat("/sys/kernel/mm/ksm/", name, NULL);
		g_autofree char *content = NULL;
		int knob = -1;

		for (int k = 0; k < KV_KSM_N_KNOBS; k++)
			if (strcmp(knobs[k].name, name) == 0)
				knob = k;
		/* An unreadable file (write-only, EACCES) is "unsupported" too. */
		if (!kv_ctx_read(ctx, path, 4096, &content, NULL, NULL))
			continue;
		if (knob >= 0) {
			kv_ksm_parse_value(ksm, (KvKsmKnob)knob, content);
		} else {
			g_ptr_array_add(ksm->extra_names, g_strdup(name));
			g_ptr_array_add(ksm->extra_values,
					g_strstrip(g_strndup(content, strcspn(content, "\n"))));
		}
	}
	return g_steal_pointer(&ksm);
}

guint64
kv_ksm_saved_bytes(const KvKsm *ksm, gsize page_size)
{
	guint64 sharing = kv_ksm_has(ksm, KV_KSM_PAGES_SHARING) ? ksm->value[KV_KSM_PAGES_SHARING] : 0;
	guint64 zero = kv_ksm_has(ksm, KV_KSM_ZERO_PAGES) ? ksm->value[KV_KSM_ZERO_PAGES] : 0;
	guint64 pages = sharing + zero;

	/* Saturate: a broken or hostile counter must not wrap to a small number. */
	if (pages < sharing || (page_size && pages > G_MAXUINT64 / page_size))
		return G_MAXUINT64;
	return pages * page_size;
}

double
kv_ksm_sharing_ratio(const KvKsm *ksm)
{
	if (!kv_ksm_has(ksm, KV_KSM_PAGES_SHARED) || ksm->value[KV_KSM_PAGES_SHARED] == 0)
		return 0;
	return (double)ksm->value[KV_KSM_PAGES_SHARING] / (double)ksm->value[KV_KSM_PAGES_SHARED];
}

void
kv_vmstat_parse(const char *buf, KvVmstat *vs)
{
	static const KvField fields[] = {
		{ "ksm_swpin_copy", G_STRUCT_OFFSET(KvVmstat, ksm_swpin_copy), 0 },
		{ "cow_ksm", G_STRUCT_OFFSET(KvVmstat, cow_ksm), 1 },
		{ "pswpin", G_STRUCT_OFFSET(KvVmstat, pswpin), 2 },
		{ "pswpout", G_STRUCT_OFFSET(KvVmstat, pswpout), 3 },
	};

	memset(vs, 0, sizeof(*vs));
	kv_parse_keyed_lines(buf, fields, G_N_ELEMENTS(fields), vs, &vs->have);
}

gboolean
kv_vmstat_read(const KvCtx *ctx, KvVmstat *vs, GError **error)
{
	g_autofree char *buf = NULL;

	if (!kv_ctx_read(ctx, "/proc/vmstat", 0, &buf, NULL, error))
		return FALSE;
	kv_vmstat_parse(buf, vs);
	return TRUE;
}

void
kv_meminfo_parse(const char *buf, KvMeminfo *mi)
{
	static const KvField fields[] = {
		{ "MemTotal", G_STRUCT_OFFSET(KvMeminfo, mem_total_kib), 0 },
		{ "MemFree", G_STRUCT_OFFSET(KvMeminfo, mem_free_kib), 1 },
		{ "MemAvailable", G_STRUCT_OFFSET(KvMeminfo, mem_available_kib), 2 },
		{ "Buffers", G_STRUCT_OFFSET(KvMeminfo, buffers_kib), 3 },
		{ "Cached", G_STRUCT_OFFSET(KvMeminfo, cached_kib), 4 },
		{ "SwapTotal", G_STRUCT_OFFSET(KvMeminfo, swap_total_kib), 5 },
		{ "SwapFree", G_STRUCT_OFFSET(KvMeminfo, swap_free_kib), 6 },
	};

	memset(mi, 0, sizeof(*mi));
	kv_parse_keyed_lines(buf, fields, G_N_ELEMENTS(fields), mi, &mi->have);
}

gboolean
kv_meminfo_read(const KvCtx *ctx, KvMeminfo *mi, GError **error)
{
	g_autofree char *buf = NULL;

	if (!kv_ctx_read(ctx, "/proc/meminfo", 0, &buf, NULL, error))
		return FALSE;
	kv_meminfo_parse(buf, mi);
	return TRUE;
}

double
kv_cpu_percent(guint64 ticks_before, guint64 ticks_after, guint64 interval_ms, long ticks_per_sec)
{
	if (interval_ms == 0 || ticks_per_sec <= 0 || ticks_after < ticks_before)
		return -1;
	return (double)(ticks_after - ticks_before) * 1000.0 * 100.0 /
	       ((double)ticks_per_sec * (double)interval_ms);
}
