/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-sense.c: one tick of sensing for the balancer (see kv-sense.h). */
#include "kv-sense.h"

#include <string.h>
#include <unistd.h>

#include "kv-ksmd.h"
#include "kv-parse.h"
#include "kv-proc.h"
#include "kv-inventory.h"

#define PSI_PATH "/proc/pressure/memory"
#define CGROUP_V2_PURE_DIR "/sys/fs/cgroup"
#define SMALL_FILE_BYTES 4096

static gboolean
parse_avg10(const char *line, double *out)
{
	const char *p = strstr(line, "avg10=");
	char *end = NULL;
	double v;

	if (!p)
		return FALSE;
	v = g_ascii_strtod(p + 6, &end);
	if (end == p + 6 || v < 0)
		return FALSE;
	*out = v;
	return TRUE;
}

gboolean
kv_psi_parse(const char *buf, double *some_avg10, double *full_avg10)
{
	g_auto(GStrv) lines = g_strsplit(buf ? buf : "", "\n", -1);
	gboolean some = FALSE;

	*some_avg10 = 0;
	*full_avg10 = 0;
	for (guint i = 0; lines[i]; i++) {
		if (g_str_has_prefix(lines[i], "some "))
			some = parse_avg10(lines[i], some_avg10);
		else if (g_str_has_prefix(lines[i], "full "))
			parse_avg10(lines[i], full_avg10);
	}
	return some;
}

char *
kv_cgroup_parse(const char *buf, KvCgroupVersion *version)
{
	g_auto(GStrv) lines = g_strsplit(buf ? buf : "", "\n", -1);
	g_autofree char *v2 = NULL;

	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], ":", 3);
		g_auto(GStrv) ctrls = NULL;

		if (g_strv_length(f) != 3 || f[2][0] != '/')
			continue;
		if (!strcmp(f[0], "0") && f[1][0] == '\0') {
			g_free(v2);
			v2 = g_strdup(f[2]);
			continue;
		}
		ctrls = g_strsplit(f[1], ",", -1);
		if (g_strv_contains((const char *const *)ctrls, "memory")) {
			*version = KV_CGROUP_V1;
			return g_strdup(f[2]);
		}
	}
	if (v2) {
		*version = KV_CGROUP_V2;
		return g_steal_pointer(&v2);
	}
	*version = KV_CGROUP_NONE;
	return NULL;
}

guint64
kv_cgroup_limit_parse(const char *buf)
{
	g_autofree char *s = g_strstrip(g_strdup(buf ? buf : ""));
	guint64 v;

	if (!strcmp(s, "max"))
		return KV_UNLIMITED;
	if (!kv_parse_u64(s, &v, NULL))
		return G_MAXUINT64 - 1;
	/* cgroup v1 prints "no limit" as PAGE_COUNTER_MAX x page size. */
	if (v >= (1ull << 62))
		return KV_UNLIMITED;
	return v;
}

static gboolean
read_u64_file(const KvCtx *ctx, const char *path, guint64 *out)
{
	g_autofree char *buf = NULL;

	if (!kv_ctx_read(ctx, path, SMALL_FILE_BYTES, &buf, NULL, NULL))
		return FALSE;
	*out = kv_cgroup_limit_parse(buf);
	return *out != G_MAXUINT64 - 1;
}

static void
sense_cgroup(const KvCtx *ctx, KvGuestSense *g)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/cgroup", g->pid);
	g_autofree char *buf = NULL, *rel = NULL, *dir = NULL, *limit = NULL, *usage = NULL;
	KvCgroupVersion ver;

	if (g->pid <= 0 || !kv_ctx_read(ctx, path, 64 * 1024, &buf, NULL, NULL))
		return;
	rel = kv_cgroup_parse(buf, &ver);
	if (!rel)
		return;
	/* libvirt puts QEMU's threads in sub-groups of the guest's scope. */
	if (g_str_has_suffix(rel, "/emulator"))
		rel[strlen(rel) - strlen("/emulator")] = '\0';
	if (!strcmp(rel, "/") || rel[0] == '\0')
		return; /* the root group: not a guest's own */
	if (ver == KV_CGROUP_V1)
		dir = g_strconcat(KV_CGROUP_V1_MEMORY_DIR, rel, NULL);
	else if (kv_ctx_exists(ctx, KV_CGROUP_V2_DIR "/cgroup.controllers"))
		dir = g_strconcat(KV_CGROUP_V2_DIR, rel, NULL);
	else
		dir = g_strconcat(CGROUP_V2_PURE_DIR, rel, NULL);
	limit = g_build_filename(dir, ver == KV_CGROUP_V1 ? "memory.limit_in_bytes" : "memory.high", NULL);
	usage = g_build_filename(dir, ver == KV_CGROUP_V1 ? "memory.usage_in_bytes" : "memory.current", NULL);
	if (!read_u64_file(ctx, limit, &g->cg_limit_bytes))
		return; /* no memory controller files there */
	if (!read_u64_file(ctx, usage, &g->cg_usage_bytes))
		g->cg_usage_bytes = g->rss_kib * 1024;
	g->cg_version = ver;
	g->cg_dir = g_steal_pointer(&dir);
}

static gint
node_by_id(gconstpointer a, gconstpointer b)
{
	const KvNodeSense *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void
sense_nodes(const KvCtx *ctx, KvSnapshot *s)
{
	g_autoptr(GPtrArray) names = kv_ctx_list_dir(ctx, "/sys/devices/system/node", NULL);
	guint n = 0;

	for (guint i = 0; names && i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		KvNodeSense node = { 0 };
		guint64 id;

		if (!g_str_has_prefix(name, "node") || !kv_parse_u64(name + 4, &id, NULL) || id > G_MAXINT)
			continue;
		n++;
		node.id = (int)id;
		if (kv_node_meminfo_read(ctx, node.id, &node.total_kib, &node.free_kib))
			g_array_append_val(s->nodes, node);
	}
	g_array_sort(s->nodes, node_by_id);
	s->n_numa_nodes = n ? n : 1;
}

static gint
node_kib_by_node(gconstpointer a, gconstpointer b)
{
	const KvGuestNodeKib *x = a, *y = b;

	return x->node < y->node ? -1 : x->node > y->node;
}

guint
kv_numa_maps_parse(const char *buf, GArray *out)
{
	guint lines = 0;

	while (buf && *buf) {
		const char *eol = strchr(buf, '\n');
		g_autofree char *line = eol ? g_strndup(buf, eol - buf) : g_strdup(buf);
		g_auto(GStrv) tok = g_strsplit(line, " ", -1);
		guint64 page_kib = 4, v;
		gboolean any = FALSE;

		buf = eol ? eol + 1 : buf + strlen(buf);
		for (guint i = 0; tok[i]; i++)
			if (g_str_has_prefix(tok[i], "kernelpagesize_kB=") &&
			    kv_parse_u64(tok[i] + 18, &v, NULL) && v > 0)
				page_kib = v;
		for (guint i = 0; tok[i]; i++) {
			const char *eq = strchr(tok[i], '=');
			g_autofree char *id_s = NULL;
			guint64 id, pages;
			guint j;

			if (tok[i][0] != 'N' || !eq)
				continue;
			id_s = g_strndup(tok[i] + 1, eq - tok[i] - 1);
			if (!kv_parse_u64(id_s, &id, NULL) || id > G_MAXINT ||
			    !kv_parse_u64(eq + 1, &pages, NULL))
				continue;
			any = TRUE;
			for (j = 0; j < out->len; j++)
				if (g_array_index(out, KvGuestNodeKib, j).node == (int)id)
					break;
			if (j == out->len) {
				KvGuestNodeKib nk = { .node = (int)id };

				g_array_append_val(out, nk);
			}
			g_array_index(out, KvGuestNodeKib, j).kib += pages * page_kib;
		}
		if (any)
			lines++;
	}
	g_array_sort(out, node_kib_by_node);
	return lines;
}

/* Per host node residency of each guest, only with several nodes (the
 * kernel walks the page tables for numa_maps). */
static void
sense_guest_nodes(const KvCtx *ctx, KvSnapshot *s)
{
	if (s->nodes->len < 2)
		return;
	for (guint i = 0; i < s->guests->len; i++) {
		KvGuestSense *g = g_ptr_array_index(s->guests, i);
		g_autofree char *path = NULL, *buf = NULL;

		if (g->pid <= 0)
			continue;
		path = g_strdup_printf("/proc/%d/numa_maps", g->pid);
		if (!kv_ctx_read(ctx, path, 16u << 20, &buf, NULL, NULL))
			continue;
		g->node_kib = g_array_new(FALSE, TRUE, sizeof(KvGuestNodeKib));
		kv_numa_maps_parse(buf, g->node_kib);
	}
}

static gint
guest_by_name(gconstpointer a, gconstpointer b)
{
	const KvGuestSense *x = *(KvGuestSense *const *)a, *y = *(KvGuestSense *const *)b;

	return g_strcmp0(x->name, y->name);
}

static void
sense_balloons(KvHv *hv, KvSnapshot *s)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) stats = kv_hv_balloon_stats(hv, &err);

	if (!stats) {
		if (!g_error_matches(err, KV_ERROR, KV_ERROR_UNSUPPORTED)) {
			g_ptr_array_add(s->notes, g_strdup_printf("balloon statistics: %s", err->message));
			s->hv_failed = TRUE;
			g_free(s->hv_error);
			s->hv_error = g_strdup(err->message);
		}
		return;
	}
	for (guint i = 0; i < stats->len; i++) {
		const KvBalloonStats *b = g_ptr_array_index(stats, i);
		KvGuestSense *g = NULL;

		for (guint j = 0; j < s->guests->len && !g; j++) {
			KvGuestSense *c = g_ptr_array_index(s->guests, j);

			if ((b->uuid && c->uuid && !g_ascii_strcasecmp(b->uuid, c->uuid)) ||
			    (!b->uuid || !c->uuid ? !g_strcmp0(b->name, c->name) : FALSE))
				g = c;
		}
		if (!g) {
			/* A domain without a QEMU process under this root (the
			 * test:// driver, or a guest still starting). */
			g = g_new0(KvGuestSense, 1);
			g->name = g_strdup(b->name);
			g->uuid = g_strdup(b->uuid);
			g->ram_kib = b->maximum_kib;
			g->cg_limit_bytes = KV_UNLIMITED;
			g_ptr_array_add(s->guests, g);
		}
		g->has_balloon = b->has_balloon;
		g->has_balloon_driver = b->has_driver;
		g->balloon_actual_kib = b->current_kib;
		g->balloon_max_kib = b->maximum_kib;
		g->balloon_available_kib = b->available_kib;
		g->balloon_unused_kib = b->unused_kib;
		g->balloon_usable_kib = b->usable_kib;
		if (b->min_guarantee_kib && b->min_guarantee_kib > g->balloon_floor_kib) {
			g->balloon_floor_kib = b->min_guarantee_kib;
			g->floor_source = "min_guarantee";
		}
		if (!g->ram_kib)
			g->ram_kib = b->maximum_kib;
		kv_merge_policy_clear(&g->merge_policy);
		kv_merge_policy_copy(&g->merge_policy, &b->merge_policy);
		if (b->has_policy) {
			g->has_policy = TRUE;
			g->priority = b->priority;
			if (b->min_balloon_mib * 1024 > g->balloon_floor_kib) {
				g->balloon_floor_kib = b->min_balloon_mib * 1024;
				g->floor_source = "policy";
			}
		}
	}
}

/* RAM of a process that is not a QEMU (one named by the caller): its
 * MADV_MERGEABLE mappings.  FALSE when it has gone. */
static gboolean
process_ram_kib(const KvCtx *ctx, int pid, guint64 *kib, KvSnapshot *s)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) maps = kv_proc_read_smaps(ctx, pid, &err);

	*kib = 0;
	if (!maps) {
		if (g_error_matches(err, KV_ERROR, KV_ERROR_NOT_FOUND))
			return FALSE;
		g_ptr_array_add(s->notes, g_strdup(err->message));
		return TRUE;
	}
	for (guint i = 0; i < maps->len; i++) {
		const KvMapping *m = maps->pdata[i];

		if (kv_mapping_has_flag(m, "mg"))
			*kib += (m->end - m->start) / 1024;
	}
	return TRUE;
}

/* The guests of the inventory, with what the policies use of each: no
 * smaps (a QEMU's RAM is on its command line), no census. */
static int
sense_guests(const KvCtx *ctx, const KvSenseOptions *opts, KvSnapshot *s)
{
	KvInventoryOptions io = { .hv = opts ? opts->hv : NULL,
				  .pids = opts ? opts->pids : NULL,
				  .qemu_user = opts ? opts->qemu_user : NULL };
	g_autoptr(GError) err = NULL;
	g_autoptr(KvInventory) inv = kv_inventory_collect(ctx, &io, &err);

	if (!inv) {
		g_ptr_array_add(s->notes, g_strdup(err->message));
		return kv_ksmd_find(ctx, NULL);
	}
	for (guint i = 0; i < inv->notes->len; i++)
		g_ptr_array_add(s->notes, g_strdup(g_ptr_array_index(inv->notes, i)));
	for (guint i = 0; i < inv->guests->len; i++) {
		const KvInventoryGuest *ig = g_ptr_array_index(inv->guests, i);
		const KvProc *p = ig->proc;
		guint64 ram_kib = kv_inventory_ram_bytes(ig) / 1024;
		KvGuestSense *g;

		if (!ig->qemu && !process_ram_kib(ctx, p->pid, &ram_kib, s))
			continue;
		g = g_new0(KvGuestSense, 1);
		g->name = g_strdup(ig->name ? ig->name : "?");
		g->uuid = g_strdup(ig->uuid);
		g->pid = p->pid;
		g->ram_kib = ram_kib;
		g->rss_kib = p->status.vm_rss_kib;
		g->swap_kib = p->status.vm_swap_kib;
		g->merging_pages = p->ksm.merging_pages;
		g->cg_limit_bytes = KV_UNLIMITED;
		sense_cgroup(ctx, g);
		g_ptr_array_add(s->guests, g);
	}
	return inv->ksmd_pid;
}

/* Policy facts of the registry and the OS map, for the guests the live
 * domain XML (sense_balloons) did not give them. */
static void
sense_lookups(const KvSenseOptions *opts, KvSnapshot *s)
{
	for (guint i = 0; opts->is_windows && i < s->guests->len; i++) {
		KvGuestSense *g = g_ptr_array_index(s->guests, i);

		g->is_windows = opts->is_windows(g->uuid, g->name, opts->lookup_data);
	}
	for (guint i = 0; opts->lookup && i < s->guests->len; i++) {
		KvGuestSense *g = g_ptr_array_index(s->guests, i);
		int prio = 0;
		guint64 min_mib = 0;

		/* The live domain XML wins over the registry. */
		if (!g->has_policy && opts->lookup(g->uuid, g->name, &prio, &min_mib, opts->lookup_data)) {
			g->priority = prio;
			if (min_mib * 1024 > g->balloon_floor_kib) {
				g->balloon_floor_kib = min_mib * 1024;
				g->floor_source = "policy";
			}
		}
	}
}

/* Deltas against the previous tick (ST, updated here; may be NULL). */
static void
sense_deltas(const KvCtx *ctx, KvSnapshot *s, KvSenseState *st, int ksmd_pid)
{
	guint64 merged = 0, scanned = 0, run = 0, full = 0, ticks = 0;
	gboolean have_ticks = kv_ksmd_cpu_ticks(ctx, ksmd_pid, &ticks);

	if (s->ksm) {
		merged = s->ksm->value[KV_KSM_PAGES_SHARING] + s->ksm->value[KV_KSM_ZERO_PAGES];
		scanned = s->ksm->value[KV_KSM_PAGES_SCANNED];
		run = s->ksm->value[KV_KSM_RUN];
		full = s->ksm->value[KV_KSM_FULL_SCANS];
	}
	if (!st)
		return;
	if (st->have_prev) {
		long hz = sysconf(_SC_CLK_TCK);

		s->have_deltas = TRUE;
		s->interval_ms = (guint64)(s->time_us - st->time_us) / 1000;
		s->prev_run = st->run;
		s->merged_delta_pages = (gint64)merged - (gint64)st->merged_pages;
		s->scanned_delta_pages = scanned >= st->scanned_pages ? scanned - st->scanned_pages : 0;
		s->have_full_scans = s->ksm && kv_ksm_has(s->ksm, KV_KSM_FULL_SCANS);
		s->full_scans_delta = full >= st->full_scans ? full - st->full_scans : 0;
		if (have_ticks && st->have_ksmd_ticks && ticks >= st->ksmd_ticks && hz > 0) {
			s->have_ksmd_cpu = TRUE;
			s->ksmd_cpu_s = (double)(ticks - st->ksmd_ticks) / (double)hz;
		}
#define DELTA(f) (s->vmstat.f >= st->vmstat.f ? s->vmstat.f - st->vmstat.f : 0)
		s->pswpin_delta = DELTA(pswpin);
		s->pswpout_delta = DELTA(pswpout);
		s->ksm_swpin_copy_delta = DELTA(ksm_swpin_copy);
#undef DELTA
	}
	st->have_prev = TRUE;
	st->time_us = s->time_us;
	st->merged_pages = merged;
	st->scanned_pages = scanned;
	st->full_scans = full;
	st->run = run;
	st->have_ksmd_ticks = have_ticks;
	st->ksmd_ticks = ticks;
	st->vmstat = s->vmstat;
}

KvSnapshot *
kv_sense(const KvCtx *ctx, const KvSenseOptions *opts, KvSenseState *st, GError **error)
{
	g_autoptr(KvSnapshot) s = kv_snapshot_new();
	g_autoptr(GError) err = NULL, err2 = NULL;
	g_autofree char *psi = NULL;
	int ksmd_pid;

	s->time_us = g_get_monotonic_time();
	s->page_size = ctx->page_size;
	if (!kv_meminfo_read(ctx, &s->meminfo, error))
		return NULL;
	if (kv_ctx_read(ctx, PSI_PATH, SMALL_FILE_BYTES, &psi, NULL, NULL))
		s->have_psi = kv_psi_parse(psi, &s->psi_some_avg10, &s->psi_full_avg10);
	sense_nodes(ctx, s);
	s->ksm = kv_ksm_read(ctx, &err);
	s->have_ksm = s->ksm != NULL;
	if (!s->ksm)
		g_ptr_array_add(s->notes, g_strdup(err->message));
	if (!kv_vmstat_read(ctx, &s->vmstat, &err2))
		g_ptr_array_add(s->notes, g_strdup(err2->message));
	/* Without KSM no process is looked at: the hypervisor's guests only. */
	ksmd_pid = s->ksm ? sense_guests(ctx, opts, s) : kv_ksmd_find(ctx, NULL);
	if (opts && opts->hv)
		sense_balloons(opts->hv, s);
	if (opts)
		sense_lookups(opts, s);
	g_ptr_array_sort(s->guests, guest_by_name);
	sense_guest_nodes(ctx, s);
	sense_deltas(ctx, s, st, ksmd_pid);
	return g_steal_pointer(&s);
}
