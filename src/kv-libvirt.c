/* kv-libvirt.c: KvHv implemented with libvirt's C API. */
#include "kv-hv.h"
#include "kv-parse.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif

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
kv_hv_close(KvHv *hv)
{
	if (!hv)
		return;
	hv->ops->close(hv);
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

static void
libvirt_close(KvHv *hv)
{
	if (hv->priv)
		virConnectClose(hv->priv);
}

static const KvHvOps libvirt_ops = {
	.name = "libvirt",
	.list_domains = libvirt_list,
	.close = libvirt_close,
};

KvHv *
kv_hv_libvirt_open(const KvCtx *ctx, const char *uri, GError **error)
{
	virConnectPtr conn;
	KvHv *hv;

	virSetErrorFunc(NULL, silent_error);
	if (!uri) {
		if (!kv_ctx_exists(ctx, RUNSTATEDIR "/libvirt/libvirt-sock-ro") &&
		    !kv_ctx_exists(ctx, RUNSTATEDIR "/libvirt/libvirt-sock")) {
			g_set_error(error, KV_ERROR, KV_ERROR_NOT_FOUND,
				    "libvirtd is not running (no socket under %s" RUNSTATEDIR "/libvirt)", ctx->root);
			return NULL;
		}
		uri = "qemu:///system";
	}
	conn = virConnectOpenReadOnly(uri);
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

char *
kv_hv_libvirt_set_nodeset(const char *uri, const char *name, const char *nodeset, GError **error)
{
	virConnectPtr conn;
	virDomainPtr dom = NULL;
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0;
	char *result = NULL;

	virSetErrorFunc(NULL, silent_error);
	conn = virConnectOpen(uri ? uri : "qemu:///system");
	if (!conn) {
		set_virt_error(error, uri ? uri : "qemu:///system");
		return NULL;
	}
	dom = virDomainLookupByName(conn, name);
	if (!dom) {
		set_virt_error(error, name);
		goto out;
	}
	/* Live first (moves the memory now), then the persistent config,
	 * separately: not every driver takes both flags in one call. */
	if (virTypedParamsAddString(&params, &nparams, &maxparams, VIR_DOMAIN_NUMA_NODESET, nodeset) < 0 ||
	    virTypedParamsAddInt(&params, &nparams, &maxparams, VIR_DOMAIN_NUMA_MODE,
				 VIR_DOMAIN_NUMATUNE_MEM_STRICT) < 0 ||
	    virDomainSetNumaParameters(dom, params, nparams, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		set_virt_error(error, "numatune (live)");
		goto out;
	}
	if (virDomainIsPersistent(dom) == 1 &&
	    virDomainSetNumaParameters(dom, params, nparams, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
		set_virt_error(error, "numatune (persistent config)");
		goto out;
	}
	virTypedParamsFree(params, nparams);
	params = NULL;
	nparams = 0;
	if (virDomainGetNumaParameters(dom, NULL, &nparams, VIR_DOMAIN_AFFECT_LIVE) == 0 && nparams > 0) {
		const char *got = NULL;

		params = g_new0(virTypedParameter, nparams);
		if (virDomainGetNumaParameters(dom, params, &nparams, VIR_DOMAIN_AFFECT_LIVE) == 0 &&
		    virTypedParamsGetString(params, nparams, VIR_DOMAIN_NUMA_NODESET, &got) == 1)
			result = g_strdup(got);
		virTypedParamsClear(params, nparams);
		g_free(params);
		params = NULL;
	}
	if (!result)
		result = g_strdup(nodeset);
out:
	if (params)
		virTypedParamsFree(params, nparams);
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
	return result;
}
