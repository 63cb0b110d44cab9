/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-report.c: sensing for the report model. */
#include "kv-report.h"
#include "kv-ident.h"
#include "kv-ksmd.h"
#include "kv-qmp.h"

#include <string.h>
#include <unistd.h>

static void
guest_node_free(KvGuestNode *n)
{
	if (!n)
		return;
	g_free(n->backend_id);
	g_free(n->unmergeable_reason);
	kv_census_free(n->census);
	g_free(n);
}

static void
guest_free(KvGuest *g)
{
	if (!g)
		return;
	g_free(g->name);
	g_free(g->uuid);
	g_free(g->source);
	g_ptr_array_unref(g->nodes);
	g_ptr_array_unref(g->warnings);
	kv_census_free(g->census);
	kv_os_info_free(g->os);
	g_free(g->group);
	g_free(g);
}

static void
family_free(KvOsFamily *f)
{
	if (!f)
		return;
	g_free(f->family);
	g_free(f);
}

static gint
cmp_family_saved(gconstpointer a, gconstpointer b)
{
	const KvOsFamily *x = *(KvOsFamily *const *)a, *y = *(KvOsFamily *const *)b;

	if (x->saved_bytes != y->saved_bytes)
		return x->saved_bytes < y->saved_bytes ? 1 : -1;
	return g_strcmp0(x->family, y->family);
}

static void
group_saving_free(KvGroupSaving *g)
{
	g_free(g->group);
	g_free(g);
}

static gint
cmp_group_name(gconstpointer a, gconstpointer b)
{
	return strcmp((*(KvGroupSaving *const *)a)->group, (*(KvGroupSaving *const *)b)->group);
}

/* Savings per merge-isolation group, of the guests that have one. */
static GPtrArray *
group_savings(const KvReport *r)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)group_saving_free);

	for (guint i = 0; i < r->guests->len; i++) {
		const KvGuest *g = r->guests->pdata[i];
		KvGroupSaving *gs = NULL;

		if (!g->group)
			continue;
		for (guint k = 0; k < out->len && !gs; k++)
			if (!strcmp(((KvGroupSaving *)out->pdata[k])->group, g->group))
				gs = out->pdata[k];
		if (!gs) {
			gs = g_new0(KvGroupSaving, 1);
			gs->group = g_strdup(g->group);
			g_ptr_array_add(out, gs);
		}
		gs->guests++;
		gs->saved_bytes += g->saved_bytes;
	}
	g_ptr_array_sort(out, cmp_group_name);
	return out;
}

/* Savings grouped by OS family, zero-page merges apart. */
static GPtrArray *
group_families(const KvReport *r)
{
	GPtrArray *fams = g_ptr_array_new_with_free_func((GDestroyNotify)family_free);

	for (guint i = 0; i < r->guests->len; i++) {
		const KvGuest *g = r->guests->pdata[i];
		g_autofree char *key = kv_os_info_family(g->os);
		KvOsFamily *f = NULL;

		for (guint k = 0; k < fams->len && !f; k++)
			if (!strcmp(((KvOsFamily *)fams->pdata[k])->family, key))
				f = fams->pdata[k];
		if (!f) {
			f = g_new0(KvOsFamily, 1);
			f->family = g_steal_pointer(&key);
			g_ptr_array_add(fams, f);
		}
		f->guests++;
		f->saved_bytes += g->saved_bytes;
		f->zero_page_bytes += MIN(g->ksm.zero_pages * r->page_size, g->saved_bytes);
	}
	g_ptr_array_sort(fams, cmp_family_saved);
	return fams;
}

void
kv_report_free(KvReport *r)
{
	if (!r)
		return;
	kv_ksm_free(r->ksm);
	if (r->guests)
		g_ptr_array_unref(r->guests);
	kv_numa_topo_free(r->topo);
	kv_census_free(r->census_total);
	if (r->notes)
		g_ptr_array_unref(r->notes);
	if (r->families)
		g_ptr_array_unref(r->families);
	if (r->groups)
		g_ptr_array_unref(r->groups);
	if (r->history)
		g_array_unref(r->history);
	kv_sharing_free(r->sharing);
	g_free(r);
}

guint64
kv_guest_saved_bytes(guint64 merging_pages, guint64 zero_pages, guint64 pages_shared, guint64 pages_sharing,
		     gsize page_size)
{
	double frac = 0;

	if (pages_shared + pages_sharing > 0)
		frac = (double)pages_sharing / (double)(pages_shared + pages_sharing);
	return (guint64)((double)merging_pages * frac * (double)page_size + 0.5) + zero_pages * page_size;
}

static gboolean
is_ram_candidate(const KvMapping *m, const KvQemuBackend *b)
{
	if (m->inode != 0 && !(b->mem_path && m->path && g_str_has_prefix(m->path, b->mem_path)))
		return FALSE;
	if (!m->path)
		return TRUE;
	return g_str_has_prefix(m->path, "/memfd:") || g_str_has_prefix(m->path, "[anon:") ||
	       (b->mem_path && g_str_has_prefix(m->path, b->mem_path));
}

/* Finds the mapping run that holds backend B's memory: first one mapping
 * of exactly B's size, else a run of adjacent mappings (split VMAs) adding
 * up to it.  Claimed mappings are marked in USED.  Equal-sized backends
 * are told apart by allocation order: QEMU allocates them in command-line
 * order and mmap hands out descending addresses, so MAPS is walked from
 * the top. */
static gboolean
locate_backend(GPtrArray *maps, gboolean *used, const KvQemuBackend *b, KvGuestNode *gn)
{
	guint64 want_kib = b->size_bytes / 1024;

	if (want_kib == 0)
		return FALSE;
	for (guint pass = 0; pass < 2; pass++) {
		for (guint k = maps->len; k-- > 0;) {
			KvMapping *m = maps->pdata[k];
			guint64 sum = 0;
			guint last = k;

			if (used[k] || !is_ram_candidate(m, b))
				continue;
			if (pass == 0) {
				if (m->size_kib != want_kib)
					continue;
			} else {
				for (guint j = k; j < maps->len; j++) {
					KvMapping *mj = maps->pdata[j];

					if (used[j] || !is_ram_candidate(mj, b) ||
					    (j > k && ((KvMapping *)maps->pdata[j - 1])->end != mj->start))
						break;
					sum += mj->size_kib;
					last = j;
					if (sum >= want_kib)
						break;
				}
				if (sum != want_kib)
					continue;
			}
			gn->found = TRUE;
			gn->start = m->start;
			gn->mergeable = TRUE;
			gn->dontfork = TRUE;
			gn->have_ksm = TRUE;
			for (guint j = k; j <= last; j++) {
				KvMapping *mj = maps->pdata[j];

				used[j] = TRUE;
				gn->end = mj->end;
				gn->rss_bytes += mj->rss_kib * 1024;
				gn->swap_bytes += mj->swap_kib * 1024;
				gn->ksm_bytes += mj->ksm_kib * 1024;
				gn->have_ksm &= mj->have_ksm;
				gn->mergeable &= kv_mapping_has_flag(mj, "mg");
				gn->dontfork &= kv_mapping_has_flag(mj, "dc");
			}
			return TRUE;
		}
	}
	return FALSE;
}

static char *
node_label(const KvGuestNode *n)
{
	if (n->guest_node >= 0)
		return g_strdup_printf("node %d (%s)", n->guest_node, n->backend_id);
	return g_strdup(n->backend_id);
}

static void
fill_guest_ram(KvGuest *g, const KvQemuInfo *qi, GPtrArray *maps)
{
	g_autoptr(GPtrArray) ram = kv_qemu_guest_ram(qi);
	g_autofree gboolean *used = g_new0(gboolean, maps ? maps->len + 1 : 1);
	guint located = 0, mergeable = 0;
	guint64 sum = 0;

	for (guint i = 0; i < ram->len; i++) {
		const KvQemuBackend *b = ram->pdata[i];
		KvGuestNode *n = g_new0(KvGuestNode, 1);
		g_autofree char *label = NULL;
		const char *why = kv_qemu_backend_unmergeable_reason(b);

		n->backend_id = g_strdup(b->id ? b->id : "?");
		n->guest_node = b->guest_node;
		n->size_bytes = b->size_bytes;
		n->merge_configured = b->merge != KV_TRISTATE_UNSET ? b->merge : qi->mem_merge;
		n->unmergeable_reason = g_strdup(why);
		sum += b->size_bytes;
		g_ptr_array_add(g->nodes, n);
		label = node_label(n);
		if (maps && locate_backend(maps, used, b, n)) {
			located++;
			if (n->mergeable)
				mergeable++;
			else
				g_ptr_array_add(g->warnings,
						g_strdup_printf("%s: guest RAM not mergeable (VmFlags lacks mg)%s%s",
								label, why ? ": " : "", why ? why : ""));
			if (n->mergeable && n->merge_configured == KV_TRISTATE_OFF)
				g_ptr_array_add(g->warnings,
						g_strdup_printf("%s: merge=off configured but the mapping is mergeable "
								"(this QEMU ignores merge=off while mem-merge is on)",
								label));
			if (!n->dontfork)
				g_ptr_array_add(g->warnings,
						g_strdup_printf("%s: guest RAM not DONTFORK (VmFlags lacks dc)",
								label));
		} else {
			g_ptr_array_add(g->warnings, g_strdup_printf("%s: guest RAM mapping of %" G_GUINT64_FORMAT
								     " bytes not found",
								     label, b->size_bytes));
		}
	}
	g->ram_bytes = qi->ram_bytes ? qi->ram_bytes : sum;
	g->merging_disabled = located > 0 && mergeable == 0;
}

/* A non-QEMU process reported like a guest: each MADV_MERGEABLE mapping is
 * one "node" of its RAM. */
static void
fill_process_ram(KvGuest *g, GPtrArray *maps)
{
	for (guint i = 0; maps && i < maps->len; i++) {
		const KvMapping *m = maps->pdata[i];
		KvGuestNode *n;

		if (!kv_mapping_has_flag(m, "mg"))
			continue;
		n = g_new0(KvGuestNode, 1);
		n->backend_id =
			g_strdup_printf("%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x", m->start, m->end);
		n->guest_node = -1;
		n->size_bytes = m->end - m->start;
		n->found = TRUE;
		n->start = m->start;
		n->end = m->end;
		n->rss_bytes = m->rss_kib * 1024;
		n->swap_bytes = m->swap_kib * 1024;
		n->ksm_bytes = m->ksm_kib * 1024;
		n->have_ksm = m->have_ksm;
		n->mergeable = TRUE;
		n->dontfork = kv_mapping_has_flag(m, "dc");
		n->merge_configured = KV_TRISTATE_ON;
		g->ram_bytes += n->size_bytes;
		g_ptr_array_add(g->nodes, n);
	}
}

/* Fills the QMP figures of G's nodes from query-memdev over the QEMU's
 * -qmp unix sockets: the last one first (the first is often its
 * manager's, and a monitor serves one client at a time). */
static void
fill_qmp(const KvCtx *ctx, KvGuest *g, const KvProc *p)
{
	g_auto(GStrv) socks = kv_qmp_sockets_from_argv((const char *const *)p->argv);
	g_autoptr(GPtrArray) memdevs = NULL;
	g_autoptr(GString) errors = g_string_new(NULL);

	for (guint k = g_strv_length(socks); k-- > 0 && !memdevs;) {
		g_autoptr(GError) err = NULL;
		g_autofree char *reply =
			kv_qmp_query(ctx, socks[k], "{\"execute\":\"query-memdev\"}", 2000, &err);

		if (reply)
			memdevs = kv_qmp_parse_memdevs(reply, &err);
		if (!memdevs)
			g_string_append_printf(errors, "%s%s: %s", errors->len ? "; " : "", socks[k],
					       err->message);
	}
	if (!memdevs) {
		if (errors->len)
			g_ptr_array_add(g->warnings, g_strdup_printf("QMP: %s", errors->str));
		return;
	}
	for (guint i = 0; i < g->nodes->len; i++) {
		KvGuestNode *n = g->nodes->pdata[i];

		for (guint j = 0; j < memdevs->len; j++) {
			const KvQmpMemdev *m = memdevs->pdata[j];

			if (g_strcmp0(m->id, n->backend_id) != 0)
				continue;
			n->have_qmp = TRUE;
			n->qmp_have_mergeable = m->have_mergeable;
			n->qmp_mergeable = m->mergeable;
			n->qmp_have_merged = m->have_merged;
			n->qmp_merged_bytes = m->merged_bytes;
			n->qmp_have_swapped = m->have_swapped;
			n->qmp_swapped_bytes = m->swapped_bytes;
		}
	}
}

static gint
cmp_guest(gconstpointer a, gconstpointer b)
{
	const KvGuest *x = *(KvGuest *const *)a, *y = *(KvGuest *const *)b;
	int c = g_utf8_collate(x->name, y->name);

	return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

static gboolean
scanner_has_counts(KvCensusScanner *s)
{
	return kv_census_scanner_has_mapcounts(s);
}

static gboolean
census_failed(const KvGuest *g)
{
	for (guint i = 0; i < g->warnings->len; i++)
		if (g_str_has_prefix(g->warnings->pdata[i], "census: "))
			return TRUE;
	return FALSE;
}

/* Fills in the census of G (process PID), and its savings from it when
 * the map counts are known; the KSM frames its RAM maps go to KSM_PFNS
 * when not NULL.  Returns FALSE with ERROR only when PFNs are hidden (the
 * whole report fails then). */
static gboolean
census_guest(const KvCtx *ctx, KvReport *r, KvCensusScanner *scanner, KvGuest *g, const KvProc *p,
	     GArray *ksm_pfns, GError **error)
{
	g_autoptr(GError) local = NULL;

	g->census = kv_census_new(r->topo);
	kv_census_scanner_set_ksm_sink(scanner, ksm_pfns);
	for (guint j = 0; j < g->nodes->len; j++) {
		KvGuestNode *n = g->nodes->pdata[j];

		if (!n->found)
			continue;
		n->census = kv_census_new(r->topo);
		if (!kv_census_scan(scanner, p->pid, n->start, n->end, n->census, &local)) {
			if (g_error_matches(local, KV_ERROR, KV_ERROR_ACCESS)) {
				kv_census_scanner_set_ksm_sink(scanner, NULL);
				g_propagate_error(error, g_steal_pointer(&local));
				return FALSE;
			}
			g_ptr_array_add(g->warnings, g_strdup_printf("census: %s", local->message));
			g_clear_error(&local);
		}
		kv_census_add(g->census, n->census);
	}
	kv_census_scanner_set_ksm_sink(scanner, NULL);
	kv_census_add(r->census_total, g->census);
	if (scanner_has_counts(scanner) && !census_failed(g)) {
		g->saved_bytes = (guint64)(g->census->merged_saved_pages * (double)ctx->page_size + 0.5) +
				 p->ksm.zero_pages * ctx->page_size;
		g->saved_method = "census";
		g->saved_percent = g->ram_bytes ? 100.0 * (double)g->saved_bytes / (double)g->ram_bytes : 0;
	}
	return TRUE;
}

/* G's merge-isolation group: --group's by pid first, then the caller's
 * rule.  Returns a new string or NULL. */
static char *
guest_group(const KvReportOptions *opts, const KvGuest *g)
{
	const char *given = opts->pid_groups ? g_hash_table_lookup(opts->pid_groups, GINT_TO_POINTER(g->pid))
					     : NULL;

	if (given)
		return g_strdup(given);
	return opts->group_of ? opts->group_of(g->uuid, g->name, opts->group_data) : NULL;
}

/* The report's view of inventory guest IG: its RAM mappings from smaps.
 * Returns NULL when the process has gone. */
static KvGuest *
collect_guest(const KvCtx *ctx, KvReport *r, const KvReportOptions *opts, KvInventoryGuest *ig)
{
	const KvProc *p = ig->proc;
	g_autoptr(GPtrArray) maps = NULL;
	g_autoptr(GError) local = NULL;
	KvGuest *g;

	maps = kv_proc_read_smaps(ctx, p->pid, &local);
	if (!maps) {
		if (g_error_matches(local, KV_ERROR, KV_ERROR_NOT_FOUND))
			return NULL;
		g_ptr_array_add(r->notes, g_strdup(local->message));
	}
	g = g_new0(KvGuest, 1);
	g->pid = p->pid;
	g->name = g_steal_pointer(&ig->name);
	g->uuid = g_steal_pointer(&ig->uuid);
	g->source = g_steal_pointer(&ig->source);
	g->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)guest_node_free);
	g->warnings = g_ptr_array_new_with_free_func(g_free);
	g->ksm = p->ksm;
	g->rss_bytes = p->status.vm_rss_kib * 1024;
	g->swap_bytes = p->status.vm_swap_kib * 1024;
	if (ig->qemu) {
		fill_guest_ram(g, ig->qemu, maps);
		if (opts->qmp)
			fill_qmp(ctx, g, p);
	} else {
		fill_process_ram(g, maps);
	}
	if (opts->os_map && g->uuid && g_hash_table_lookup(opts->os_map, g->uuid))
		g->os = kv_os_info_copy(g_hash_table_lookup(opts->os_map, g->uuid));
	g->group = guest_group(opts, g);
	g->saved_bytes = kv_guest_saved_bytes(p->ksm.merging_pages, p->ksm.zero_pages,
					      r->ksm->value[KV_KSM_PAGES_SHARED],
					      r->ksm->value[KV_KSM_PAGES_SHARING], ctx->page_size);
	g->saved_method = "estimate";
	g->saved_percent = g->ram_bytes ? 100.0 * (double)g->saved_bytes / (double)g->ram_bytes : 0;
	return g;
}

#define CROSS_WARNINGS_MAX 8 /* per guest; the rest in one line */

static char *
group_phrase(const char *group)
{
	return group ? g_strdup_printf("group \"%s\"", group) : g_strdup("no group");
}

/* One warning per guest of another group that G (index A) shares frames
 * with, the largest first, at most CROSS_WARNINGS_MAX. */
static void
warn_cross_group(KvReport *r, guint a)
{
	const KvSharing *s = r->sharing;
	KvGuest *g = r->guests->pdata[a];
	g_autoptr(GArray) partners = g_array_new(FALSE, FALSE, sizeof(guint));
	g_autofree char *mine = group_phrase(g->group);

	for (guint b = 0; b < s->n_guests; b++)
		if (b != a && kv_sharing_cross_group(s, a, b) && kv_sharing_guest_frames(s, a, b))
			g_array_append_val(partners, b);
	for (guint i = 1; i < partners->len; i++) {
		/* Insertion sort, largest sharing first, then guest order. */
		guint b = g_array_index(partners, guint, i), j = i;
		guint64 f = kv_sharing_guest_frames(s, a, b);

		for (; j > 0 && kv_sharing_guest_frames(s, a, g_array_index(partners, guint, j - 1)) < f; j--)
			g_array_index(partners, guint, j) = g_array_index(partners, guint, j - 1);
		g_array_index(partners, guint, j) = b;
	}
	for (guint i = 0; i < partners->len && i < CROSS_WARNINGS_MAX; i++) {
		guint b = g_array_index(partners, guint, i);
		const KvGuest *o = r->guests->pdata[b];
		guint64 frames = kv_sharing_guest_frames(s, a, b);
		g_autofree char *size = kv_format_bytes(frames * r->page_size);
		g_autofree char *theirs = group_phrase(o->group);

		g_ptr_array_add(g->warnings,
				g_strdup_printf("sharing across groups: %" G_GUINT64_FORMAT
						" KSM frames (%s) shared with %s (pid %d, %s); this guest is in %s",
						frames, size, o->name, o->pid, theirs, mine));
	}
	if (partners->len > CROSS_WARNINGS_MAX)
		g_ptr_array_add(g->warnings,
				g_strdup_printf("sharing across groups: with %u more guests of other groups "
						"(see the sharing matrix)",
						partners->len - CROSS_WARNINGS_MAX));
}

/* The sharing model over the guests in their final order, from the KSM
 * frames each one's census met (PFNS_OF: KvGuest -> GArray). */
static void
collect_sharing(KvReport *r, GHashTable *pfns_of)
{
	g_autoptr(KvSharingBuilder) b = kv_sharing_builder_new(r->guests->len);
	g_autofree const char **groups = g_new0(const char *, r->guests->len + 1);

	for (guint i = 0; i < r->guests->len; i++) {
		KvGuest *g = r->guests->pdata[i];
		GArray *pfns = g_hash_table_lookup(pfns_of, g);

		groups[i] = g->group;
		if (pfns)
			kv_sharing_builder_add(b, i, (const guint64 *)(gpointer)pfns->data, pfns->len);
	}
	r->sharing = kv_sharing_builder_finish(b, groups);
	for (guint i = 0; i < r->guests->len; i++)
		warn_cross_group(r, i);
}

static void
sample_ksmd(const KvCtx *ctx, KvReport *r)
{
	guint64 t0, t1;
	gint64 m0, m1;

	if (!r->ksmd_pid || r->interval_ms == 0 || !kv_ksmd_cpu_ticks(ctx, r->ksmd_pid, &t0))
		return;
	m0 = g_get_monotonic_time();
	g_usleep(r->interval_ms * 1000);
	m1 = g_get_monotonic_time();
	if (kv_ksmd_cpu_ticks(ctx, r->ksmd_pid, &t1))
		r->ksmd_cpu_percent = kv_cpu_percent(t0, t1, (guint64)(m1 - m0) / 1000, sysconf(_SC_CLK_TCK));
}

static void
note_impostors(KvReport *r, const KvInventory *inv)
{
	guint n = inv->other.impostors;

	g_ptr_array_add(r->notes, g_strdup_printf("%u process%s named like QEMU %s not libvirt guest%s, "
						  "counted as other processes (%s%s)",
						  n, n > 1 ? "es" : "", n > 1 ? "are" : "is",
						  n > 1 ? "s" : "", inv->impostors, n > 3 ? "; ..." : ""));
}

/* Host-wide figures once the guests are in. */
static void
sum_up(const KvCtx *ctx, KvReport *r, gboolean exact)
{
	r->saved_bytes = kv_ksm_saved_bytes(r->ksm, ctx->page_size);
	r->other.saved_bytes = kv_guest_saved_bytes(r->other.merging_pages, r->other.zero_pages,
						    r->ksm->value[KV_KSM_PAGES_SHARED],
						    r->ksm->value[KV_KSM_PAGES_SHARING], ctx->page_size);
	if (exact) {
		/* With exact guest shares, "other" is what remains. */
		guint64 guests = 0;

		for (guint i = 0; i < r->guests->len; i++)
			guests += ((KvGuest *)r->guests->pdata[i])->saved_bytes;
		r->other.saved_bytes = r->saved_bytes > guests ? r->saved_bytes - guests : 0;
	}
	r->sharing_ratio = kv_ksm_sharing_ratio(r->ksm);
	r->families = group_families(r);
	r->groups = group_savings(r);
}

KvReport *
kv_report_collect(const KvCtx *ctx, const KvReportOptions *opts, GError **error)
{
	g_autoptr(KvReport) r = g_new0(KvReport, 1);
	g_autoptr(KvInventory) inv = NULL;
	g_autoptr(KvCensusScanner) scanner = NULL;
	g_autoptr(GHashTable) pfns_of = NULL;
	g_autoptr(GError) local = NULL;
	KvInventoryOptions io = { .hv = opts->hv,
				  .pids = opts->pids,
				  .lookup_name = opts->lookup_name,
				  .lookup_data = opts->lookup_data,
				  .qemu_user = opts->qemu_user };

	r->page_size = ctx->page_size;
	r->interval_ms = opts->interval_ms;
	r->ksmd_cpu_percent = -1;
	r->guests = g_ptr_array_new_with_free_func((GDestroyNotify)guest_free);
	r->notes = g_ptr_array_new_with_free_func(g_free);
	r->ksm = kv_ksm_read(ctx, error);
	if (!r->ksm)
		return NULL;
	if (!kv_vmstat_read(ctx, &r->vmstat, &local)) {
		g_ptr_array_add(r->notes, g_strdup(local->message));
		g_clear_error(&local);
	}
	if (!kv_meminfo_read(ctx, &r->meminfo, &local)) {
		g_ptr_array_add(r->notes, g_strdup(local->message));
		g_clear_error(&local);
	}
	inv = kv_inventory_collect(ctx, &io, error);
	if (!inv)
		return NULL;
	r->ksmd_pid = inv->ksmd_pid;
	sample_ksmd(ctx, r);
	r->other = inv->other;
	for (guint i = 0; i < inv->notes->len; i++)
		g_ptr_array_add(r->notes, g_strdup(inv->notes->pdata[i]));
	if (opts->note)
		g_ptr_array_add(r->notes, g_strdup(opts->note));
	if (opts->census || opts->sharing) {
		r->topo = kv_numa_read(ctx, error);
		if (!r->topo)
			return NULL;
		scanner = kv_census_scanner_new(ctx, r->topo, error);
		if (!scanner) {
			g_prefix_error(error, "census: ");
			return NULL;
		}
		r->census_total = kv_census_new(r->topo);
	}
	if (opts->sharing)
		pfns_of = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_array_unref);
	for (guint i = 0; i < inv->guests->len; i++) {
		KvInventoryGuest *ig = inv->guests->pdata[i];
		KvGuest *g = collect_guest(ctx, r, opts, ig);
		GArray *pfns = NULL;

		if (!g)
			continue;
		g_ptr_array_add(r->guests, g);
		if (pfns_of) {
			pfns = g_array_new(FALSE, FALSE, sizeof(guint64));
			g_hash_table_insert(pfns_of, g, pfns);
		}
		if (scanner && !census_guest(ctx, r, scanner, g, ig->proc, pfns, error))
			return NULL;
	}
	if (opts->note_impostors && r->other.impostors)
		note_impostors(r, inv);
	g_ptr_array_sort(r->guests, cmp_guest);
	if (pfns_of)
		collect_sharing(r, pfns_of);
	sum_up(ctx, r, scanner && scanner_has_counts(scanner));
	return g_steal_pointer(&r);
}

char *
kv_format_bytes(guint64 bytes)
{
	if (bytes >= (G_GUINT64_CONSTANT(1) << 30))
		return g_strdup_printf("%.2f GiB", (double)bytes / (double)(1u << 30));
	if (bytes >= (1u << 20))
		return g_strdup_printf("%.1f MiB", (double)bytes / (double)(1u << 20));
	if (bytes >= 1024)
		return g_strdup_printf("%" G_GUINT64_FORMAT " KiB", bytes / 1024);
	return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
}
