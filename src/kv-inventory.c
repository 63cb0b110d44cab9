/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-inventory.c: which processes are guests (see kv-inventory.h). */
#include "kv-inventory.h"

#include "kv-ident.h"
#include "kv-ksmd.h"

static void
guest_free(KvInventoryGuest *g)
{
	if (!g)
		return;
	kv_proc_free(g->proc);
	kv_qemu_info_free(g->qemu);
	g_free(g->name);
	g_free(g->uuid);
	g_free(g->source);
	g_free(g);
}

void
kv_inventory_free(KvInventory *inv)
{
	if (!inv)
		return;
	g_ptr_array_unref(inv->guests);
	if (inv->pids)
		g_array_unref(inv->pids);
	g_free(inv->impostors);
	g_ptr_array_unref(inv->notes);
	g_free(inv);
}

guint64
kv_inventory_ram_bytes(const KvInventoryGuest *g)
{
	g_autoptr(GPtrArray) ram = NULL;
	guint64 sum = 0;

	if (!g->qemu)
		return 0;
	if (g->qemu->ram_bytes)
		return g->qemu->ram_bytes;
	ram = kv_qemu_guest_ram(g->qemu);
	for (guint i = 0; i < ram->len; i++)
		sum += ((const KvQemuBackend *)ram->pdata[i])->size_bytes;
	return sum;
}

static gboolean
pid_requested(const KvInventoryOptions *opts, int pid)
{
	for (guint i = 0; opts->pids && i < opts->pids->len; i++)
		if (g_array_index(opts->pids, int, i) == pid)
			return TRUE;
	return FALSE;
}

static void
name_guest(KvInventoryGuest *g, GPtrArray *domains, const KvInventoryOptions *opts)
{
	g_autofree char *uuid = kv_uuid_normalize(g->qemu->uuid);

	for (guint i = 0; domains && i < domains->len; i++) {
		KvDomain *d = domains->pdata[i];

		if ((d->pid > 0 && d->pid == g->proc->pid) || (uuid && g_strcmp0(d->uuid, uuid) == 0)) {
			g->name = g_strdup(d->name);
			g->uuid = g_strdup(d->uuid);
			g->source = g_strdup("libvirt");
			return;
		}
	}
	g->uuid = g_steal_pointer(&uuid);
	/* The hook saw the domain XML: its name beats QEMU's -name. */
	if (g->uuid && opts->lookup_name) {
		g->name = opts->lookup_name(g->uuid, opts->lookup_data);
		if (g->name) {
			g->source = g_strdup("registry");
			return;
		}
	}
	if (g->qemu->name) {
		g->name = g_strdup(g->qemu->name);
		g->source = g_strdup("cmdline");
		return;
	}
	g->name = g_strdup_printf("pid %d", g->proc->pid);
	g->source = g_strdup("pid");
}

/* Sorts process P: a guest (returned, P taken), or counted as other. */
static KvInventoryGuest *
sort_process(KvInventory *inv, const KvGuestIdent *ident, GPtrArray *domains, const KvInventoryOptions *opts,
	     GString *impostors, KvProc **pp)
{
	KvProc *p = *pp;
	KvInventoryGuest *g;
	const char *why = NULL;
	/* libvirt's word, never the process's name or arguments; or the
	 * caller's, who named the pid (--pid). */
	gboolean is_qemu = kv_guest_ident_check(ident, p->pid, &p->status, &why);
	gboolean looks_qemu = kv_qemu_is_qemu(p->stat.comm, (const char *const *)p->argv);
	gboolean requested = pid_requested(opts, p->pid);

	if (!is_qemu && looks_qemu && !requested) {
		inv->other.impostors++;
		if (inv->other.impostors <= 3)
			g_string_append_printf(impostors, "%spid %d: %s", impostors->len ? "; " : "", p->pid,
					       why);
	}
	if (requested && looks_qemu)
		is_qemu = TRUE;
	if (!is_qemu && !requested) {
		if (p->ksm.merging_pages || p->ksm.zero_pages) {
			inv->other.processes++;
			inv->other.merging_pages += p->ksm.merging_pages;
			inv->other.zero_pages += p->ksm.zero_pages;
			inv->other.rmap_items += p->ksm.rmap_items;
		}
		return NULL;
	}
	g = g_new0(KvInventoryGuest, 1);
	g->proc = g_steal_pointer(pp);
	if (is_qemu) {
		g->qemu = kv_qemu_parse_argv((const char *const *)p->argv);
		name_guest(g, domains, opts);
	} else {
		g->name = g_strdup(p->stat.comm);
		g->source = g_strdup("process");
	}
	return g;
}

KvInventory *
kv_inventory_collect(const KvCtx *ctx, const KvInventoryOptions *opts, GError **error)
{
	g_autoptr(KvInventory) inv = g_new0(KvInventory, 1);
	g_autoptr(GPtrArray) domains = NULL;
	g_autoptr(KvGuestIdent) ident = NULL;
	g_autoptr(GString) impostors = g_string_new(NULL);
	g_autoptr(GError) local = NULL;

	inv->guests = g_ptr_array_new_with_free_func((GDestroyNotify)guest_free);
	inv->notes = g_ptr_array_new_with_free_func(g_free);
	inv->pids = kv_proc_list_pids(ctx, error);
	if (!inv->pids)
		return NULL;
	inv->ksmd_pid = kv_ksmd_find(ctx, inv->pids);
	if (opts->hv) {
		domains = kv_hv_list_domains(opts->hv, &local);
		if (!domains) {
			g_ptr_array_add(inv->notes, g_strdup_printf("libvirt: %s", local->message));
			g_clear_error(&local);
		}
	}
	ident = kv_guest_ident_new(ctx, domains, opts->qemu_user);
	for (guint i = 0; i < kv_guest_ident_notes(ident)->len; i++)
		g_ptr_array_add(inv->notes, g_strdup(kv_guest_ident_notes(ident)->pdata[i]));
	for (guint i = 0; i < inv->pids->len; i++) {
		g_autoptr(KvProc) p = kv_proc_read(ctx, g_array_index(inv->pids, int, i), &local);
		KvInventoryGuest *g;

		if (!p) {
			/* Gone mid-scan, or not ours to read: skip it. */
			g_clear_error(&local);
			continue;
		}
		g = sort_process(inv, ident, domains, opts, impostors, &p);
		if (g)
			g_ptr_array_add(inv->guests, g);
	}
	inv->impostors = g_string_free(g_steal_pointer(&impostors), FALSE);
	return g_steal_pointer(&inv);
}
