/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-config.c: ksmvirtd.conf (see kv-config.h and ksmvirtd.conf(5)). */
#include "kv-config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kv-file.h"
#include "kv-paths.h"

typedef enum {
	T_BOOL,
	T_UINT,
	T_U64,
	T_DOUBLE,
	T_ADVISOR,
	T_NUMA,
	T_TICK,
	T_PATH,
	T_GLOBS,
	T_STR,
	T_ISOBY,
	T_FALLBACK
} KeyType;

/* One key: where it goes in KvConfig, its default (DEF, or DEF_STR for
 * strings; tick-seconds in seconds) and its range. */
typedef struct {
	const char *group, *key;
	KeyType type;
	gsize offset;
	double def;
	const char *def_str;
	double min, max;
} KeyDef;

#define K(g, k, t, f, def, lo, hi)                                \
	{                                                         \
		g, k, t, offsetof(KvConfig, f), def, NULL, lo, hi \
	}
#define S(g, k, t, f, def)                                   \
	{                                                    \
		g, k, t, offsetof(KvConfig, f), 0, def, 0, 0 \
	}

static const KeyDef keys[] = {
	K("daemon", "tick-seconds", T_TICK, tick_ms, 5, 0.1, 3600),
	K("daemon", "dry-run", T_BOOL, dry_run, 0, 0, 1),
	K("daemon", "history-max-kib", T_UINT, history_max_kib, 4096, 16, 1 << 20),
	S("daemon", "guests", T_GLOBS, guests, ""),
	K("daemon", "max-connections", T_UINT, max_connections, 64, 1, 4096),
	K("daemon", "idle-timeout-seconds", T_UINT, idle_timeout_s, 10, 1, 3600),
	K("daemon", "max-line-kib", T_UINT, max_line_kib, 256, 1, 16384),
	K("ksm", "manage", T_BOOL, ksm_manage, 1, 0, 1),
	K("ksm", "overcommit-ratio", T_DOUBLE, overcommit_ratio, 1.0, 0.1, 100),
	K("ksm", "mem-available-low-percent", T_UINT, avail_low_pct, 20, 0, 100),
	K("ksm", "mem-available-high-percent", T_UINT, avail_high_pct, 30, 0, 100),
	K("ksm", "psi-some-on-percent", T_DOUBLE, psi_some_on_pct, 10.0, 0, 100),
	K("ksm", "psi-some-off-percent", T_DOUBLE, psi_some_off_pct, 2.0, 0, 100),
	K("ksm", "pages-to-scan-min", T_U64, pages_to_scan_min, 64, 1, 1e7),
	K("ksm", "pages-to-scan-max", T_U64, pages_to_scan_max, 4000, 1, 1e7),
	K("ksm", "pages-to-scan-start", T_U64, pages_to_scan_start, 300, 1, 1e7),
	K("ksm", "sleep-ms", T_UINT, sleep_ms, 20, 0, 60000),
	K("ksm", "min-gain-pages-per-cpu-second", T_DOUBLE, min_gain_pages_per_cpu_s, 2000.0, 0, 1e9),
	K("ksm", "backoff-ticks", T_UINT, backoff_ticks, 3, 1, 1000),
	K("ksm", "rearm-swpin-copies", T_U64, rearm_swpin_copies, 256, 0, 1e9),
	K("ksm", "advisor", T_ADVISOR, advisor, KV_ADVISOR_OFF, 0, 0),
	K("ksm", "advisor-max-cpu-percent", T_UINT, advisor_max_cpu_pct, 20, 1, 100),
	K("ksm", "unmerge-reserve-mib", T_U64, unmerge_reserve_mib, 1024, 0, 1e9),
	S("ksm", "lock-file", T_PATH, ksm_lock_file, KV_PATH_KSM_LOCK),
	K("ksm", "zero-pages-for-windows", T_BOOL, zero_pages_for_windows, 1, 0, 1),
	K("balloon", "manage", T_BOOL, balloon_manage, 1, 0, 1),
	K("balloon", "step-percent", T_UINT, balloon_step_pct, 5, 1, 100),
	K("balloon", "guest-free-percent", T_UINT, balloon_guest_free_pct, 20, 0, 100),
	K("balloon", "interval-ticks", T_UINT, balloon_interval_ticks, 3, 1, 100000),
	K("balloon", "min-change-mib", T_U64, balloon_min_change_mib, 16, 0, 1e7),
	K("balloon", "guests-per-tick", T_UINT, balloon_guests_per_tick, 4, 1, 100000),
	K("swap", "manage", T_BOOL, swap_manage, 1, 0, 1),
	K("swap", "psi-full-on-percent", T_DOUBLE, swap_psi_full_on_pct, 10.0, 0, 100),
	K("swap", "psi-full-off-percent", T_DOUBLE, swap_psi_full_off_pct, 1.0, 0, 100),
	K("swap", "step-percent", T_UINT, swap_step_pct, 5, 1, 100),
	K("swap", "min-percent", T_UINT, swap_min_pct, 50, 0, 100),
	K("swap", "busy-ticks", T_UINT, swap_busy_ticks, 12, 1, 100000),
	K("swap", "guests-per-tick", T_UINT, swap_guests_per_tick, 4, 1, 100000),
	K("numa", "merge-across-nodes", T_NUMA, merge_across_nodes, -1, 0, 0),
	K("numa", "node-free-low-percent", T_UINT, node_free_low_pct, 5, 0, 100),
	K("numa", "node-free-high-percent", T_UINT, node_free_high_pct, 10, 0, 100),
	K("inspect", "enabled", T_BOOL, inspect_enabled, 1, 0, 1),
	K("inspect", "timeout-seconds", T_UINT, inspect_timeout_s, 600, 5, 86400),
	K("inspect", "interval-seconds", T_UINT, inspect_interval_s, 30, 1, 86400),
	S("inspect", "cache", T_PATH, inspect_cache_file, ""),
	K("isolation", "by", T_ISOBY, isolation_by, KV_ISOLATION_BY_OWNER, 0, 0),
	K("isolation", "fallback", T_FALLBACK, isolation_fallback, KV_ISOLATION_STRICT, 0, 0),
	S("isolation", "merging-group", T_STR, merging_group, ""),
	S("isolation", "owner-namespace", T_STR, owner_namespace, KV_OWNER_NAMESPACE_NOVA),
	S("isolation", "owner-path", T_STR, owner_path, KV_OWNER_PATH_NOVA),
};

static const char *const isolation_by_names[] = { "none", "guest", "owner" };
static const char *const fallback_names[] = { "strict", "warn" };

const char *
kv_isolation_by_to_string(KvIsolationBy by)
{
	return (guint)by < G_N_ELEMENTS(isolation_by_names) ? isolation_by_names[by] : "?";
}

const char *
kv_isolation_fallback_to_string(KvIsolationFallback f)
{
	return (guint)f < G_N_ELEMENTS(fallback_names) ? fallback_names[f] : "?";
}

static int
name_index(const char *const *names, guint n, const char *v)
{
	for (guint i = 0; i < n; i++)
		if (!strcmp(names[i], v))
			return (int)i;
	return -1;
}

void
kv_config_defaults(KvConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		const KeyDef *d = &keys[i];
		char *p = (char *)cfg + d->offset;

		switch (d->type) {
		case T_BOOL:
			*(gboolean *)p = d->def != 0;
			break;
		case T_ADVISOR:
			*(KvAdvisorUse *)p = (KvAdvisorUse)d->def;
			break;
		case T_ISOBY:
			*(KvIsolationBy *)p = (KvIsolationBy)d->def;
			break;
		case T_FALLBACK:
			*(KvIsolationFallback *)p = (KvIsolationFallback)d->def;
			break;
		case T_NUMA:
			*(int *)p = (int)d->def;
			break;
		case T_DOUBLE:
			*(double *)p = d->def;
			break;
		case T_U64:
			*(guint64 *)p = (guint64)d->def;
			break;
		case T_TICK:
			*(guint *)p = (guint)(d->def * 1000);
			break;
		case T_UINT:
			*(guint *)p = (guint)d->def;
			break;
		case T_PATH:
		case T_GLOBS:
		case T_STR:
			*(char **)p = g_strdup(d->def_str);
			break;
		}
	}
}

void
kv_config_clear(KvConfig *cfg)
{
	g_free(cfg->guests);
	g_free(cfg->ksm_lock_file);
	g_free(cfg->inspect_cache_file);
	g_free(cfg->merging_group);
	g_free(cfg->owner_namespace);
	g_free(cfg->owner_path);
	memset(cfg, 0, sizeof(*cfg));
}

void
kv_config_copy(KvConfig *dst, const KvConfig *src)
{
	if (dst == src)
		return;
	kv_config_clear(dst);
	*dst = *src;
	dst->guests = g_strdup(src->guests);
	dst->ksm_lock_file = g_strdup(src->ksm_lock_file);
	dst->inspect_cache_file = g_strdup(src->inspect_cache_file);
	dst->merging_group = g_strdup(src->merging_group);
	dst->owner_namespace = g_strdup(src->owner_namespace);
	dst->owner_path = g_strdup(src->owner_path);
}

static const KeyDef *
find_key(const char *group, const char *key)
{
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
		if (!strcmp(keys[i].group, group) && !strcmp(keys[i].key, key))
			return &keys[i];
	return NULL;
}

static gboolean
group_known(const char *group)
{
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
		if (!strcmp(keys[i].group, group))
			return TRUE;
	return FALSE;
}

static gboolean
set_key(KvConfig *cfg, const KeyDef *d, const char *raw, GError **error)
{
	g_autofree char *v = g_strstrip(g_strdup(raw));
	char *p = (char *)cfg + d->offset;
	char *end = NULL;

	switch (d->type) {
	case T_BOOL:
		if (!g_ascii_strcasecmp(v, "true") || !strcmp(v, "1") || !g_ascii_strcasecmp(v, "yes"))
			*(gboolean *)p = TRUE;
		else if (!g_ascii_strcasecmp(v, "false") || !strcmp(v, "0") || !g_ascii_strcasecmp(v, "no"))
			*(gboolean *)p = FALSE;
		else
			goto bad;
		return TRUE;
	case T_ADVISOR:
		if (!strcmp(v, "off"))
			*(KvAdvisorUse *)p = KV_ADVISOR_OFF;
		else if (!strcmp(v, "scan-time"))
			*(KvAdvisorUse *)p = KV_ADVISOR_SCAN_TIME;
		else if (!strcmp(v, "auto"))
			*(KvAdvisorUse *)p = KV_ADVISOR_AUTO;
		else
			goto bad;
		return TRUE;
	case T_ISOBY:
	case T_FALLBACK: {
		int i = d->type == T_ISOBY ? name_index(isolation_by_names, G_N_ELEMENTS(isolation_by_names), v)
					   : name_index(fallback_names, G_N_ELEMENTS(fallback_names), v);

		if (i < 0)
			goto bad;
		if (d->type == T_ISOBY)
			*(KvIsolationBy *)p = (KvIsolationBy)i;
		else
			*(KvIsolationFallback *)p = (KvIsolationFallback)i;
		return TRUE;
	}
	case T_STR:
		if (strlen(v) > KV_CONFIG_MAX_STRING)
			goto bad;
		/* fall through */
	case T_PATH:
		if (d->type == T_PATH && ((v[0] != '\0' && v[0] != '/') || strlen(v) >= PATH_MAX))
			goto bad;
		/* fall through */
	case T_GLOBS:
		/* g_pattern_match_simple() asserts on a pattern that is not UTF-8 */
		if (!g_utf8_validate(v, -1, NULL))
			goto bad;
		g_free(*(char **)p);
		*(char **)p = g_steal_pointer(&v);
		return TRUE;
	case T_NUMA:
		if (!strcmp(v, "keep"))
			*(int *)p = -1;
		else if (!strcmp(v, "0") || !strcmp(v, "1"))
			*(int *)p = v[0] - '0';
		else
			goto bad;
		return TRUE;
	default: {
		double x;

		errno = 0;
		x = g_ascii_strtod(v, &end);
		/* Comparisons with NaN are false: reject the non-finite first
		 * (nan, inf, infinity, and overflows to them). */
		if (end == v || *end || errno == ERANGE || !isfinite(x) || x < d->min || x > d->max)
			goto bad;
		if (d->type != T_DOUBLE && d->type != T_TICK && x != (double)(guint64)x)
			goto bad;
		if (d->type == T_DOUBLE)
			*(double *)p = x;
		else if (d->type == T_U64)
			*(guint64 *)p = (guint64)x;
		else if (d->type == T_TICK)
			*(guint *)p = (guint)(x * 1000);
		else
			*(guint *)p = (guint)x;
		return TRUE;
	}
	}
bad:
	g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		    "[%s] %s = %s: not a valid value", d->group, d->key, v);
	return FALSE;
}

gboolean
kv_config_parse(const char *data, gsize len, KvConfig *cfg, GPtrArray *warnings, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) groups = NULL;
	g_auto(KvConfig) c = { 0 };

	kv_config_defaults(cfg);
	kv_config_defaults(&c);
	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, error))
		return FALSE;
	groups = g_key_file_get_groups(kf, NULL);
	for (guint i = 0; groups[i]; i++) {
		g_auto(GStrv) ks = g_key_file_get_keys(kf, groups[i], NULL, NULL);

		if (!group_known(groups[i])) {
			if (warnings)
				g_ptr_array_add(warnings,
						g_strdup_printf("unknown group [%s] ignored", groups[i]));
			continue;
		}
		for (guint j = 0; ks && ks[j]; j++) {
			const KeyDef *d = find_key(groups[i], ks[j]);
			g_autofree char *raw = NULL;

			if (!d) {
				if (warnings)
					g_ptr_array_add(warnings, g_strdup_printf("unknown key [%s] %s ignored",
										  groups[i], ks[j]));
				continue;
			}
			raw = g_key_file_get_value(kf, groups[i], ks[j], NULL);
			if (!set_key(&c, d, raw, error))
				return FALSE;
		}
	}
	if (c.pages_to_scan_min > c.pages_to_scan_max || c.avail_low_pct > c.avail_high_pct ||
	    c.psi_some_off_pct > c.psi_some_on_pct || c.swap_psi_full_off_pct > c.swap_psi_full_on_pct ||
	    c.node_free_low_pct > c.node_free_high_pct) {
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
			    "an \"off\"/\"low\"/\"min\" threshold is above its \"on\"/\"high\"/\"max\" pair");
		return FALSE;
	}
	kv_config_clear(cfg);
	*cfg = c;
	memset(&c, 0, sizeof(c)); /* the strings are CFG's now */
	return TRUE;
}

gboolean
kv_config_load(const char *path, KvConfig *cfg, GPtrArray *warnings, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	g_autoptr(GError) e = NULL;

	/* Symlinks are followed (the file is the administrator's), a FIFO
	 * does not block, /dev/null reads as an empty file. */
	data = kv_file_read_capped(path, KV_CONFIG_MAX_BYTES, KV_FILE_READ_FOLLOW | KV_FILE_READ_DEVICE, &len,
				   &e);
	if (!data) {
		kv_config_defaults(cfg);
		if (g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&e));
		return FALSE;
	}
	if (!kv_config_parse(data, len, cfg, warnings, error)) {
		g_prefix_error(error, "%s: ", path);
		return FALSE;
	}
	return TRUE;
}

gboolean
kv_config_reload(const char *path, KvConfig *cfg, GPtrArray *warnings, GError **error)
{
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		kv_config_defaults(cfg);
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s is missing", path);
		return FALSE;
	}
	return kv_config_load(path, cfg, warnings, error);
}

char *
kv_config_to_string(const KvConfig *cfg)
{
	GString *s = g_string_new(NULL);
	const char *group = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		const KeyDef *d = &keys[i];
		const char *p = (const char *)cfg + d->offset;

		if (!group || strcmp(group, d->group)) {
			g_string_append_printf(s, "%s[%s]\n", group ? "\n" : "", d->group);
			group = d->group;
		}
		g_string_append_printf(s, "%s = ", d->key);
		switch (d->type) {
		case T_BOOL:
			g_string_append(s, *(const gboolean *)p ? "true" : "false");
			break;
		case T_ADVISOR: {
			KvAdvisorUse a = *(const KvAdvisorUse *)p;

			g_string_append(s, a == KV_ADVISOR_OFF         ? "off"
					   : a == KV_ADVISOR_SCAN_TIME ? "scan-time"
								       : "auto");
			break;
		}
		case T_ISOBY:
			g_string_append(s, kv_isolation_by_to_string(*(const KvIsolationBy *)p));
			break;
		case T_FALLBACK:
			g_string_append(s, kv_isolation_fallback_to_string(*(const KvIsolationFallback *)p));
			break;
		case T_PATH:
		case T_GLOBS:
		case T_STR:
			g_string_append(s, *(char *const *)p ? *(char *const *)p : "");
			break;
		case T_NUMA:
			if (*(const int *)p < 0)
				g_string_append(s, "keep");
			else
				g_string_append_printf(s, "%d", *(const int *)p);
			break;
		case T_DOUBLE: {
			char buf[G_ASCII_DTOSTR_BUF_SIZE];

			g_string_append(s, g_ascii_dtostr(buf, sizeof(buf), *(const double *)p));
			break;
		}
		case T_U64:
			g_string_append_printf(s, "%" G_GUINT64_FORMAT, *(const guint64 *)p);
			break;
		case T_TICK:
			g_string_append_printf(s, "%g", *(const guint *)p / 1000.0);
			break;
		case T_UINT:
			g_string_append_printf(s, "%u", *(const guint *)p);
			break;
		}
		g_string_append_c(s, '\n');
	}
	return g_string_free(s, FALSE);
}

gboolean
kv_config_guest_selected(const KvConfig *cfg, const char *name)
{
	g_auto(GStrv) globs = g_strsplit_set(cfg->guests ? cfg->guests : "", ";, \t", -1);
	g_autofree char *valid = NULL;
	gboolean any = FALSE;

	/* g_pattern_match_simple() asserts on a string that is not UTF-8 */
	if (name && !g_utf8_validate(name, -1, NULL))
		name = valid = g_utf8_make_valid(name, -1);

	for (guint i = 0; globs[i]; i++) {
		if (!globs[i][0])
			continue;
		any = TRUE;
		if (name && g_pattern_match_simple(globs[i], name))
			return TRUE;
	}
	return !any;
}
