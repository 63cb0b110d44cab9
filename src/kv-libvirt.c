/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-libvirt.c: KvHv implemented with libvirt's C API. */
#include "kv-hv.h"
#include "kv-event.h"
#include "kv-json.h"
#include "kv-parse.h"
#include "kv-xml.h"

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

#include "kv-paths.h"

void
kv_domain_free(KvDomain *d)
{
	if (!d)
		return;
	g_free(d->name);
	g_free(d->uuid);
	g_free(d);
}

GPtrArray *
kv_hv_list_domains(KvHv *hv, GError **error)
{
	return hv->ops->list_domains(hv, error);
}

void
kv_balloon_stats_free(KvBalloonStats *b)
{
	if (!b)
		return;
	g_free(b->name);
	g_free(b->uuid);
	kv_merge_policy_clear(&b->merge_policy);
	g_free(b);
}

GPtrArray *
kv_hv_balloon_stats(KvHv *hv, GError **error)
{
	if (!hv->ops->balloon_stats) {
		g_set_error(error, KV_ERROR, KV_ERROR_UNSUPPORTED, "%s: no balloon statistics", hv->ops->name);
		return NULL;
	}
	return hv->ops->balloon_stats(hv, error);
}

gboolean
kv_hv_set_balloon(KvHv *hv, const char *name, guint64 kib, GError **error)
{
	if (!hv->ops->set_balloon) {
		g_set_error(error, KV_ERROR, KV_ERROR_UNSUPPORTED, "%s: cannot set balloons", hv->ops->name);
		return FALSE;
	}
	return hv->ops->set_balloon(hv, name, kib, error);
}

char **
kv_hv_domain_disks(KvHv *hv, const char *uuid, GError **error)
{
	if (!hv->ops->domain_disks) {
		g_set_error(error, KV_ERROR, KV_ERROR_UNSUPPORTED, "%s: cannot list disks", hv->ops->name);
		return NULL;
	}
	return hv->ops->domain_disks(hv, uuid, error);
}

char *
kv_hv_set_nodeset(KvHv *hv, const char *name, const char *nodeset, GError **error)
{
	if (hv->ops->set_nodeset)
		return hv->ops->set_nodeset(hv, name, nodeset, error);
	g_set_error(error, KV_ERROR, KV_ERROR_UNSUPPORTED, "%s: cannot pin memory to nodes", hv->ops->name);
	return NULL;
}

int
kv_hv_set_merge(KvHv *hv, const char *name, const char *backend, gboolean on, GError **error)
{
	if (hv->ops->set_merge)
		return hv->ops->set_merge(hv, name, backend, on, error);
	g_set_error(error, KV_ERROR, KV_ERROR_UNSUPPORTED, "%s: cannot change a guest's merging", hv->ops->name);
	return -1;
}

gboolean
kv_hv_set_policy_xml(KvHv *hv, const char *name, const char *xml, GError **error)
{
	if (hv->ops->set_policy_xml)
		return hv->ops->set_policy_xml(hv, name, xml, error);
	g_set_error(error, KV_ERROR, KV_ERROR_UNSUPPORTED, "%s: cannot write domain metadata", hv->ops->name);
	return FALSE;
}

char *
kv_hv_domain_xml(KvHv *hv, const char *name, GError **error)
{
	if (hv->ops->domain_xml)
		return hv->ops->domain_xml(hv, name, error);
	g_set_error(error, KV_ERROR, KV_ERROR_UNSUPPORTED, "%s: cannot read domain XML", hv->ops->name);
	return NULL;
}

void
kv_hv_set_owner_rule(KvHv *hv, const char *ns_prefix, const char *path)
{
	g_free(hv->owner_ns);
	g_free(hv->owner_path);
	hv->owner_ns = g_strdup(ns_prefix);
	hv->owner_path = g_strdup(path);
}

static xmlNode *
child_element(xmlNode *parent, const char *name)
{
	for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

char **
kv_domain_disks_from_xml(const char *xml, gsize len, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) local = NULL;
	xmlDoc *doc;
	xmlNode *root, *devices;

	if (!(doc = kv_xml_parse(xml, len, &local))) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "domain XML %s", local->message);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (root && !strcmp((const char *)root->name, "domstatus"))
		root = child_element(root, "domain");
	devices = root && !strcmp((const char *)root->name, "domain") ? child_element(root, "devices") : NULL;
	for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next) {
		xmlNode *src;
		xmlChar *device, *path = NULL;

		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "disk"))
			continue;
		device = xmlGetProp(n, (const xmlChar *)"device");
		/* <disk> without device= is a disk; CD-ROMs and floppies are not
		 * the guest's system. */
		if ((!device || !strcmp((const char *)device, "disk")) && (src = child_element(n, "source"))) {
			path = xmlGetProp(src, (const xmlChar *)"file");
			if (!path)
				path = xmlGetProp(src, (const xmlChar *)"dev");
		}
		if (path && path[0] == '/')
			g_ptr_array_add(out, g_strdup((const char *)path));
		xmlFree(path);
		xmlFree(device);
	}
	xmlFreeDoc(doc);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

void
kv_hv_close(KvHv *hv)
{
	if (!hv)
		return;
	hv->ops->close(hv);
	g_free(hv->owner_ns);
	g_free(hv->owner_path);
	g_free(hv);
}

char *
kv_uuid_normalize(const char *s)
{
	char hex[33];
	guint n = 0;

	if (!s)
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p == '-')
			continue;
		if (!g_ascii_isxdigit(*p) || n >= 32)
			return NULL;
		hex[n++] = g_ascii_tolower(*p);
	}
	if (n != 32)
		return NULL;
	hex[32] = '\0';
	return g_strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* libvirt prints every error to stderr by default; the library must not
 * log, so errors are collected from virGetLastError() instead. */
static void
silent_error(void *opaque, virErrorPtr err)
{
}

static void
set_virt_error(GError **error, const char *what)
{
	virErrorPtr e = virGetLastError();

	g_set_error(error, KV_ERROR, KV_ERROR_FAILED, "%s: %s", what,
		    e && e->message ? e->message : "unknown libvirt error");
}

static int
read_pidfile(const KvCtx *ctx, const char *name)
{
	g_autofree char *path = g_strdup_printf(RUNSTATEDIR "/libvirt/qemu/%s.pid", name);
	g_autofree char *buf = NULL;
	guint64 pid;

	if (!kv_ctx_read(ctx, path, 64, &buf, NULL, NULL))
		return 0;
	g_strstrip(buf);
	return kv_parse_u64(buf, &pid, NULL) && pid <= G_MAXINT ? (int)pid : 0;
}

static GPtrArray *
libvirt_list(KvHv *hv, GError **error)
{
	virConnectPtr conn = hv->priv;
	virDomainPtr *doms = NULL;
	GPtrArray *out;
	int n;

	n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		set_virt_error(error, "listing libvirt domains");
		return NULL;
	}
	out = g_ptr_array_new_with_free_func((GDestroyNotify)kv_domain_free);
	for (int i = 0; i < n; i++) {
		g_autoptr(virDomain) dom = doms[i];
		KvDomain *d = g_new0(KvDomain, 1);
		char uuid[VIR_UUID_STRING_BUFLEN];
		virDomainInfo info;

		d->name = g_strdup(virDomainGetName(dom));
		if (virDomainGetUUIDString(dom, uuid) == 0)
			d->uuid = kv_uuid_normalize(uuid);
		d->id = (int)virDomainGetID(dom);
		d->active = virDomainIsActive(dom) == 1;
		if (virDomainGetInfo(dom, &info) == 0) {
			d->max_mem_kib = info.maxMem;
			d->cur_mem_kib = info.memory;
		}
		d->pid = read_pidfile(hv->ctx, d->name);
		g_ptr_array_add(out, d);
	}
	free(doms);
	return out;
}

static KvBalloonStats *
balloon_from_domain(KvHv *hv, virDomainPtr dom, virTypedParameterPtr params, int nparams)
{
	KvBalloonStats *b = g_new0(KvBalloonStats, 1);
	char uuid[VIR_UUID_STRING_BUFLEN];
	unsigned long long v;
	g_autofree char *xml = NULL;

	b->name = g_strdup(virDomainGetName(dom));
	if (virDomainGetUUIDString(dom, uuid) == 0)
		b->uuid = kv_uuid_normalize(uuid);
	if (params && virTypedParamsGetULLong(params, nparams, "balloon.current", &v) == 1) {
		b->has_balloon = TRUE;
		b->current_kib = v;
		if (virTypedParamsGetULLong(params, nparams, "balloon.maximum", &v) == 1)
			b->maximum_kib = v;
		if (virTypedParamsGetULLong(params, nparams, "balloon.available", &v) == 1) {
			b->has_driver = TRUE;
			b->available_kib = v;
		}
		if (virTypedParamsGetULLong(params, nparams, "balloon.unused", &v) == 1) {
			b->has_driver = TRUE;
			b->unused_kib = v;
		}
		if (virTypedParamsGetULLong(params, nparams, "balloon.usable", &v) == 1)
			b->usable_kib = v;
	} else {
		/* Drivers without bulk balloon statistics (test://) answer these. */
		virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
		virDomainInfo info;
		int n;

		if (virDomainGetInfo(dom, &info) == 0) {
			b->has_balloon = TRUE;
			b->current_kib = info.memory;
			b->maximum_kib = info.maxMem;
		}
		n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
		for (int i = 0; i < n; i++) {
			switch (st[i].tag) {
			case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON:
				b->current_kib = st[i].val;
				break;
			case VIR_DOMAIN_MEMORY_STAT_AVAILABLE:
				b->has_driver = TRUE;
				b->available_kib = st[i].val;
				break;
			case VIR_DOMAIN_MEMORY_STAT_UNUSED:
				b->has_driver = TRUE;
				b->unused_kib = st[i].val;
				break;
			case VIR_DOMAIN_MEMORY_STAT_USABLE:
				b->usable_kib = st[i].val;
				break;
			default:
				break;
			}
		}
	}
	/* The floor (<memtune><min_guarantee>) and the policy metadata, so
	 * balloon floors and priorities hold even for guests the hook never
	 * reported (started before it was installed): one parse of the live
	 * XML with the hook's parser. */
	xml = virDomainGetXMLDesc(dom, 0);
	if (xml) {
		g_autoptr(KvEvent) ev = kv_event_new(KV_EVENT_OP_UNKNOWN, "-", "-");

		KvOwnerRule rule = { hv->owner_ns, hv->owner_path };

		if (kv_event_parse_domain_xml_owner(ev, xml, strlen(xml),
						    hv->owner_ns && hv->owner_path ? &rule : NULL, NULL)) {
			KvMergePolicy *mp = &b->merge_policy;

			b->min_guarantee_kib = ev->min_guarantee_kib;
			if (ev->has_policy) {
				b->has_policy = TRUE;
				b->priority = ev->has_priority ? ev->priority : 0;
				b->min_balloon_mib = ev->has_min_balloon ? ev->min_balloon_mib : 0;
			}
			mp->merge = ev->merge;
			mp->group = g_strdup(ev->group);
			mp->owner = g_strdup(ev->owner);
			mp->cells = ev->cell_merge->len ? g_array_copy(ev->cell_merge) : NULL;
			mp->n_cells = ev->cells->len;
			mp->nosharepages = ev->nosharepages;
			mp->error = g_strdup(ev->policy_error);
		}
	}
	return b;
}

static GPtrArray *
libvirt_balloon_stats(KvHv *hv, GError **error)
{
	virConnectPtr conn = hv->priv;
	virDomainStatsRecordPtr *recs = NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)kv_balloon_stats_free);
	int n;

	n = virConnectGetAllDomainStats(conn, VIR_DOMAIN_STATS_BALLOON, &recs,
					VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE);
	if (n >= 0) {
		for (int i = 0; i < n; i++)
			g_ptr_array_add(out, balloon_from_domain(hv, recs[i]->dom, recs[i]->params,
								 recs[i]->nparams));
		virDomainStatsRecordListFree(recs);
		return out;
	}
	/* No bulk statistics: one domain at a time. */
	{
		virDomainPtr *doms = NULL;

		n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
		if (n < 0) {
			set_virt_error(error, "listing libvirt domains");
			g_ptr_array_unref(out);
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			g_autoptr(virDomain) dom = doms[i];

			g_ptr_array_add(out, balloon_from_domain(hv, dom, NULL, 0));
		}
		free(doms);
	}
	return out;
}

static gboolean
libvirt_set_balloon(KvHv *hv, const char *name, guint64 kib, GError **error)
{
	g_autoptr(virDomain) dom = virDomainLookupByName(hv->priv, name);

	if (!dom) {
		virErrorPtr e = virGetLastError();

		g_set_error(error, KV_ERROR,
			    e && e->code == VIR_ERR_NO_DOMAIN ? KV_ERROR_NOT_FOUND : KV_ERROR_FAILED,
			    "domain %s: %s", name, e && e->message ? e->message : "not found");
		return FALSE;
	}
	if (virDomainSetMemoryFlags(dom, kib, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		virErrorPtr e = virGetLastError();

		g_set_error(error, KV_ERROR,
			    e && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_OPERATION_INVALID)
				    ? KV_ERROR_NOT_FOUND
				    : KV_ERROR_FAILED,
			    "setting the balloon of %s: %s", name, e && e->message ? e->message : "failed");
		return FALSE;
	}
	return TRUE;
}

static void
libvirt_close(KvHv *hv)
{
	if (hv->priv)
		virConnectClose(hv->priv);
}

static char **
libvirt_domain_disks(KvHv *hv, const char *uuid, GError **error)
{
	g_autoptr(virDomain) dom = virDomainLookupByUUIDString(hv->priv, uuid);
	g_autofree char *xml = NULL;

	if (!dom) {
		virErrorPtr e = virGetLastError();

		g_set_error(error, KV_ERROR,
			    e && e->code == VIR_ERR_NO_DOMAIN ? KV_ERROR_NOT_FOUND : KV_ERROR_FAILED,
			    "domain %s: %s", uuid, e && e->message ? e->message : "not found");
		return NULL;
	}
	xml = virDomainGetXMLDesc(dom, 0);
	if (!xml) {
		set_virt_error(error, "domain XML");
		return NULL;
	}
	return kv_domain_disks_from_xml(xml, strlen(xml), error);
}

/* The nodeset domain DOM's memory is pinned to now (live), or NULL. */
static char *
libvirt_get_nodeset(virDomainPtr dom)
{
	virTypedParameterPtr params = NULL;
	int nparams = 0;
	const char *got = NULL;
	char *result = NULL;

	if (virDomainGetNumaParameters(dom, NULL, &nparams, VIR_DOMAIN_AFFECT_LIVE) < 0 || nparams <= 0)
		return NULL;
	params = g_new0(virTypedParameter, nparams);
	if (virDomainGetNumaParameters(dom, params, &nparams, VIR_DOMAIN_AFFECT_LIVE) == 0 &&
	    virTypedParamsGetString(params, nparams, VIR_DOMAIN_NUMA_NODESET, &got) == 1)
		result = g_strdup(got);
	virTypedParamsClear(params, nparams);
	g_free(params);
	return result;
}

static char *
libvirt_set_nodeset(KvHv *hv, const char *name, const char *nodeset, GError **error)
{
	g_autoptr(virDomain) dom = virDomainLookupByName(hv->priv, name);
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0;
	gboolean ok = FALSE;
	char *result;

	if (!dom) {
		set_virt_error(error, name);
		return NULL;
	}
	/* Live first (moves the memory now), then the persistent config,
	 * separately: not every driver takes both flags in one call. */
	if (virTypedParamsAddString(&params, &nparams, &maxparams, VIR_DOMAIN_NUMA_NODESET, nodeset) < 0 ||
	    virTypedParamsAddInt(&params, &nparams, &maxparams, VIR_DOMAIN_NUMA_MODE,
				 VIR_DOMAIN_NUMATUNE_MEM_STRICT) < 0 ||
	    virDomainSetNumaParameters(dom, params, nparams, VIR_DOMAIN_AFFECT_LIVE) < 0)
		set_virt_error(error, "numatune (live)");
	else if (virDomainIsPersistent(dom) == 1 &&
		 virDomainSetNumaParameters(dom, params, nparams, VIR_DOMAIN_AFFECT_CONFIG) < 0)
		set_virt_error(error, "numatune (persistent config)");
	else
		ok = TRUE;
	virTypedParamsFree(params, nparams);
	if (!ok)
		return NULL;
	result = libvirt_get_nodeset(dom);
	return result ? result : g_strdup(nodeset);
}

/* One QMP command through libvirt's monitor passthrough; its "return"
 * member as a parsed node in *OUT (may be NULL).  libvirt marks the domain
 * tainted ("custom-monitor") the first time. */
static gboolean
qmp_command(virDomainPtr dom, const char *cmd, JsonNode **out, GError **error)
{
	char *reply = NULL;
	g_autoptr(JsonNode) root = NULL;
	JsonObject *o;

	if (virDomainQemuMonitorCommand(dom, cmd, &reply, 0) < 0) {
		set_virt_error(error, "QEMU monitor");
		return FALSE;
	}
	root = kv_json_parse(reply, -1, 4 << 20, 16, error);
	free(reply);
	if (!root)
		return FALSE;
	o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	if (!o || !json_object_has_member(o, "return")) {
		JsonObject *e = o ? kv_json_get_object(o, "error") : NULL;

		g_set_error(error, KV_ERROR, KV_ERROR_FAILED, "QEMU monitor: %s",
			    e ? kv_json_get_str(e, "desc", "error") : "no return value");
		return FALSE;
	}
	if (out)
		*out = json_node_copy(json_object_get_member(o, "return"));
	return TRUE;
}

static gboolean
qom_set_merge(virDomainPtr dom, const char *backend, gboolean on, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree char *cmd = NULL;
	g_autofree char *path = g_strdup_printf("/objects/%s", backend);

	json_builder_begin_object(b);
	kv_json_str(b, "execute", "qom-set");
	json_builder_set_member_name(b, "arguments");
	json_builder_begin_object(b);
	kv_json_str(b, "path", path);
	kv_json_str(b, "property", "merge");
	kv_json_bool(b, "value", on);
	json_builder_end_object(b);
	json_builder_end_object(b);
	cmd = kv_json_to_string(b, FALSE);
	return qmp_command(dom, cmd, NULL, error);
}

static int
libvirt_set_merge(KvHv *hv, const char *name, const char *backend, gboolean on, GError **error)
{
	g_autoptr(virDomain) dom = virDomainLookupByName(hv->priv, name);
	g_autoptr(JsonNode) list = NULL;
	JsonArray *a;
	int n = 0;

	if (!dom) {
		set_virt_error(error, name);
		return -1;
	}
	if (!qmp_command(dom, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/objects\"}}", &list, error))
		return -1;
	a = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = kv_json_array_object(a, i);
		const char *id = o ? kv_json_get_str(o, "name", NULL) : NULL;
		const char *type = o ? kv_json_get_str(o, "type", "") : "";

		if (!id || !g_str_has_prefix(type, "child<memory-backend-") || strchr(id, '/') ||
		    (backend && strcmp(backend, id)))
			continue;
		/* QEMU madvises only when the property changes, and a stock
		 * QEMU may have made a backend mergeable (machine mem-merge)
		 * while its property says otherwise: to turn merging off, set
		 * it on first so that "off" is a change that reaches madvise. */
		if (!on && !qom_set_merge(dom, id, TRUE, error))
			return -1;
		if (!qom_set_merge(dom, id, on, error)) {
			g_prefix_error(error, "%s: ", id);
			return -1;
		}
		n++;
	}
	return n;
}

static gboolean
libvirt_set_policy_xml(KvHv *hv, const char *name, const char *xml, GError **error)
{
	g_autoptr(virDomain) dom = virDomainLookupByName(hv->priv, name);
	unsigned int flags = VIR_DOMAIN_AFFECT_CONFIG;

	if (!dom) {
		set_virt_error(error, name);
		return FALSE;
	}
	if (virDomainIsActive(dom) == 1)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	if (virDomainIsPersistent(dom) != 1)
		flags &= ~(unsigned int)VIR_DOMAIN_AFFECT_CONFIG;
	if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, xml ? "ksmvirt" : NULL,
				 KV_POLICY_NAMESPACE, flags) < 0) {
		set_virt_error(error, "domain metadata");
		return FALSE;
	}
	return TRUE;
}

static char *
libvirt_domain_xml(KvHv *hv, const char *name, GError **error)
{
	g_autoptr(virDomain) dom = virDomainLookupByName(hv->priv, name);
	char *xml;

	if (!dom) {
		set_virt_error(error, name);
		return NULL;
	}
	xml = virDomainGetXMLDesc(dom, 0);
	if (!xml)
		set_virt_error(error, "domain XML");
	return xml;
}

static const KvHvOps libvirt_ops = {
	.name = "libvirt",
	.list_domains = libvirt_list,
	.balloon_stats = libvirt_balloon_stats,
	.set_balloon = libvirt_set_balloon,
	.close = libvirt_close,
	.domain_disks = libvirt_domain_disks,
	.set_nodeset = libvirt_set_nodeset,
	.set_merge = libvirt_set_merge,
	.set_policy_xml = libvirt_set_policy_xml,
	.domain_xml = libvirt_domain_xml,
};

static KvHv *
libvirt_open(const KvCtx *ctx, const char *uri, gboolean read_write, GError **error)
{
	virConnectPtr conn;
	KvHv *hv;

	virSetErrorFunc(NULL, silent_error);
	if (!uri) {
		if (!kv_ctx_exists(ctx, RUNSTATEDIR "/libvirt/libvirt-sock-ro") &&
		    !kv_ctx_exists(ctx, RUNSTATEDIR "/libvirt/libvirt-sock")) {
			g_set_error(error, KV_ERROR, KV_ERROR_NOT_FOUND,
				    "libvirtd is not running (no socket under %s" RUNSTATEDIR "/libvirt)",
				    ctx->root);
			return NULL;
		}
		uri = "qemu:///system";
	}
	conn = read_write ? virConnectOpen(uri) : virConnectOpenReadOnly(uri);
	if (!conn) {
		set_virt_error(error, uri);
		return NULL;
	}
	hv = g_new0(KvHv, 1);
	hv->ops = &libvirt_ops;
	hv->ctx = ctx;
	hv->priv = conn;
	return hv;
}

KvHv *
kv_hv_libvirt_open(const KvCtx *ctx, const char *uri, GError **error)
{
	return libvirt_open(ctx, uri, FALSE, error);
}

KvHv *
kv_hv_libvirt_open_rw(const KvCtx *ctx, const char *uri, GError **error)
{
	return libvirt_open(ctx, uri, TRUE, error);
}
