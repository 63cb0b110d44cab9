/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-policy-apply.c: change one guest's policy and apply it (see
 * kv-policy-apply.h). */
#include "kv-policy-apply.h"

#include <string.h>
#include <unistd.h>

#include "kv-event.h"
#include "kv-host.h"
#include "kv-isolation.h"
#include "kv-policy-edit.h"
#include "kv-proc.h"

#define MIB_KIB 1024

void
kv_policy_change_free(KvPolicyChange *c)
{
	if (!c)
		return;
	g_free(c->guest);
	g_free(c->before);
	g_free(c->after);
	g_free(c->group);
	g_free(c->isolation);
	g_ptr_array_unref(c->applied);
	g_free(c);
}

/* The merge policy of the edited domain, as kv-isolation reads it. */
static void
merge_policy_of(const KvPolicyEdit *p, const KvEvent *ev, KvMergePolicy *out)
{
	memset(out, 0, sizeof(*out));
	out->merge = p->merge;
	out->group = g_strdup(p->group);
	out->owner = g_strdup(ev->owner);
	out->cells = p->cells->len ? g_array_copy(p->cells) : NULL;
	out->n_cells = ev->cells->len;
	out->nosharepages = ev->nosharepages;
}

/* Merged pages of the QEMU of GUEST, in KiB; 0 when it is not found. */
static guint64
merged_kib(const KvCtx *ctx, KvHv *hv, const char *guest)
{
	g_autoptr(GPtrArray) doms = kv_hv_list_domains(hv, NULL);
	long page = sysconf(_SC_PAGESIZE);

	for (guint i = 0; doms && i < doms->len; i++) {
		const KvDomain *d = g_ptr_array_index(doms, i);
		g_autoptr(KvProc) p = NULL;

		if (strcmp(d->name, guest) || d->pid <= 0)
			continue;
		p = kv_proc_read(ctx, d->pid, NULL);
		return p ? p->ksm.merging_pages * (guint64)(page > 0 ? page : 4096) / 1024 : 0;
	}
	return 0;
}

/* Refuses (FALSE, ERROR) when unmerging GUEST does not fit. */
static gboolean
unmerge_fits(const KvCtx *ctx, KvHv *hv, const KvConfig *cfg, const char *guest, GError **error)
{
	KvMeminfo mi = { 0 };
	guint64 need = merged_kib(ctx, hv, guest), reserve = cfg->unmerge_reserve_mib * MIB_KIB, room;

	if (!kv_meminfo_read(ctx, &mi, error))
		return FALSE;
	room = mi.mem_available_kib > reserve ? mi.mem_available_kib - reserve : 0;
	if (need <= room)
		return TRUE;
	g_set_error(error, KV_ERROR, KV_ERROR_FAILED,
		    "turning merging off would bring back %" G_GUINT64_FORMAT
		    " MiB of merged pages as private copies; MemAvailable is %" G_GUINT64_FORMAT
		    " MiB and %" G_GUINT64_FORMAT " MiB of it are kept in reserve ([ksm] unmerge-reserve-mib): "
		    "refused, nothing changed (free memory first, or lower the reserve)",
		    need / MIB_KIB, mi.mem_available_kib / MIB_KIB, reserve / MIB_KIB);
	return FALSE;
}

/* The isolation decision over every running guest, GUEST's policy
 * replaced by MP.  Returns the decision; *INDEX is GUEST's place in it,
 * or -1 when it does not run. */
static KvIsolation *
decide(KvHv *hv, const KvConfig *cfg, const char *guest, const KvMergePolicy *mp, guint64 ram_kib, int *index,
       GError **error)
{
	g_autoptr(GPtrArray) stats = kv_hv_balloon_stats(hv, error);
	g_autofree KvIsolationInput *in = NULL;
	guint n = 0;

	*index = -1;
	if (!stats)
		return NULL;
	in = g_new0(KvIsolationInput, stats->len + 1);
	for (guint i = 0; i < stats->len; i++) {
		const KvBalloonStats *b = g_ptr_array_index(stats, i);
		gboolean me = !strcmp(b->name, guest);

		in[n].name = b->name;
		in[n].ram_kib = b->maximum_kib ? b->maximum_kib : (me ? ram_kib : 0);
		in[n].policy = me ? mp : &b->merge_policy;
		if (me)
			*index = (int)n;
		n++;
	}
	return kv_isolation_decide(in, n, cfg);
}

static gboolean
set_merge(KvHv *hv, KvPolicyChange *c, const char *backend, gboolean on, const char *reason, gboolean dry_run,
	  GError **error)
{
	int n = dry_run ? 1 : kv_hv_set_merge(hv, c->guest, backend, on, error);

	if (n < 0)
		return FALSE;
	if (n == 0) {
		g_set_error(error, KV_ERROR, KV_ERROR_NOT_FOUND, "%s: no QEMU memory backend %s", c->guest,
			    backend ? backend : "at all");
		return FALSE;
	}
	g_ptr_array_add(c->applied, g_strdup_printf("%s merge %s%s (%s)", backend ? backend : "RAM",
						    on ? "on" : "off", dry_run ? " (dry run)" : "", reason));
	return TRUE;
}

/* Sets GUEST's backends as G wants. */
static gboolean
apply_want(KvHv *hv, KvPolicyChange *c, const KvIsolationGuest *g, const KvMergePolicy *mp, gboolean dry_run,
	   GError **error)
{
	if (g->want != KV_POLICY_MERGE_DEFAULT) {
		if (!set_merge(hv, c, NULL, g->want == KV_POLICY_MERGE_ON, g->reason, dry_run, error))
			return FALSE;
	} else if (!mp->nosharepages &&
		   !set_merge(hv, c, NULL, TRUE, "nothing holds it off: merging as QEMU started it", dry_run,
			      error)) {
		return FALSE;
	}
	for (guint i = 0; i < g->cells->len; i++) {
		const KvCellMerge *cm = &g_array_index(g->cells, KvCellMerge, i);
		g_autofree char *backend = kv_merge_policy_backend(cm->cell);
		g_autofree char *why = g_strdup_printf("its policy for cell %u", cm->cell);

		if (!set_merge(hv, c, backend, cm->merge == KV_POLICY_MERGE_ON, why, dry_run, error))
			return FALSE;
	}
	return TRUE;
}

KvPolicyChange *
kv_policy_change(const KvCtx *ctx, KvHv *hv, const KvConfig *cfg, const char *guest, const char *const *args,
		 gboolean dry_run, GError **error)
{
	g_autoptr(KvPolicyChange) c = g_new0(KvPolicyChange, 1);
	g_autofree char *xml = kv_hv_domain_xml(hv, guest, error);
	g_autoptr(KvEvent) ev = kv_event_new(KV_EVENT_OP_UNKNOWN, "-", "-");
	KvOwnerRule rule = { cfg->owner_namespace, cfg->owner_path };
	g_autoptr(KvPolicyEdit) edit = NULL;
	g_autoptr(KvIsolation) iso = NULL;
	g_autofree char *policy_xml = NULL;
	KvMergePolicy mp = { 0 };
	const KvIsolationGuest *g = NULL;
	gboolean wants_off;
	int index = -1;

	c->guest = g_strdup(guest);
	c->applied = g_ptr_array_new_with_free_func(g_free);
	kv_hv_set_owner_rule(hv, cfg->owner_namespace, cfg->owner_path);
	if (!xml || !kv_event_parse_domain_xml_owner(ev, xml, strlen(xml), &rule, error))
		return NULL;
	edit = kv_policy_edit_from_event(ev);
	c->before = kv_policy_edit_describe(edit);
	for (guint i = 0; args && args[i]; i++)
		if (!kv_policy_edit_apply(edit, args[i], error))
			return NULL;
	c->after = kv_policy_edit_describe(edit);
	merge_policy_of(edit, ev, &mp);
	c->group = kv_isolation_group(cfg, &mp, guest);

	iso = decide(hv, cfg, guest, &mp, ev->memory_kib, &index, error);
	if (!iso) {
		kv_merge_policy_clear(&mp);
		return NULL;
	}
	c->isolation = kv_isolation_summary(iso);
	c->active = index >= 0;
	if (c->active)
		g = g_ptr_array_index(iso->guests, index);
	wants_off = g && g->want == KV_POLICY_MERGE_OFF;
	for (guint i = 0; g && i < g->cells->len; i++)
		wants_off |= g_array_index(g->cells, KvCellMerge, i).merge == KV_POLICY_MERGE_OFF;
	if (wants_off && !unmerge_fits(ctx, hv, cfg, guest, error)) {
		g_prefix_error(error, "%s: ", guest);
		kv_merge_policy_clear(&mp);
		return NULL;
	}
	policy_xml = kv_policy_edit_to_xml(edit);
	if (!dry_run && !kv_hv_set_policy_xml(hv, guest, policy_xml, error)) {
		kv_merge_policy_clear(&mp);
		return NULL;
	}
	if (g && !apply_want(hv, c, g, &mp, dry_run, error)) {
		g_prefix_error(error, "policy written, but applying it failed: ");
		kv_merge_policy_clear(&mp);
		return NULL;
	}
	kv_merge_policy_clear(&mp);
	return g_steal_pointer(&c);
}

GHashTable *
kv_policy_groups(KvHv *hv, const KvConfig *cfg, char **summary, GError **error)
{
	g_autoptr(GPtrArray) stats = NULL;
	g_autofree KvIsolationInput *in = NULL;
	GHashTable *out;

	kv_hv_set_owner_rule(hv, cfg->owner_namespace, cfg->owner_path);
	stats = kv_hv_balloon_stats(hv, error);
	if (!stats)
		return NULL;
	out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	in = g_new0(KvIsolationInput, stats->len + 1);
	for (guint i = 0; i < stats->len; i++) {
		const KvBalloonStats *b = g_ptr_array_index(stats, i);

		in[i].name = b->name ? b->name : "?";
		in[i].ram_kib = b->maximum_kib;
		in[i].policy = &b->merge_policy;
		if (b->name)
			g_hash_table_replace(out, g_strdup(b->name),
					     kv_isolation_group(cfg, &b->merge_policy, b->name));
	}
	if (summary) {
		g_autoptr(KvIsolation) iso = kv_isolation_decide(in, stats->len, cfg);
		g_autofree char *line = kv_isolation_summary(iso);

		*summary = g_strdup_printf("merge isolation: %s", line);
	}
	return out;
}
