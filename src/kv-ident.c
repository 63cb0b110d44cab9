/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-ident.c: who is a guest (see kv-ident.h). */
#include "kv-ident.h"
#include "kv-hv.h"
#include "kv-parse.h"
#include "kv-paths.h"
#include "kv-sense.h"

#include <pwd.h>
#include <string.h>

#define LIBVIRT_QEMU_RUN_DIR RUNSTATEDIR "/libvirt/qemu"
/* libvirt's, wherever ksmvirt itself is installed. */
#define QEMU_CONF "/etc/libvirt/qemu.conf"
#define SMALL_FILE_BYTES 4096
#define CONF_FILE_BYTES (1u << 20)
/* A host with more running guests than this has its pid files ignored
 * beyond it (libvirt, when connected, still names them). */
#define MAX_PID_FILES 65536

struct KvGuestIdent {
	const KvCtx *ctx;
	GHashTable *libvirt_pids; /* pids libvirt reported (connected) */
	GHashTable *pidfile_pids; /* pids named by libvirt's pid files */
	gboolean have_uid;
	guint qemu_uid;
	GPtrArray *notes;
};

char *
kv_qemu_conf_user_parse(const char *buf)
{
	g_auto(GStrv) lines = g_strsplit(buf ? buf : "", "\n", -1);
	char *user = NULL;

	for (guint i = 0; lines[i]; i++) {
		const char *p = lines[i], *q;

		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "user", 4) != 0)
			continue;
		p += 4;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '=')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '"' || !(q = strchr(p, '"')) || q == p)
			continue;
		/* The last setting wins, as in libvirt's own parser. */
		g_free(user);
		user = g_strndup(p, (gsize)(q - p));
	}
	return user;
}

gboolean
kv_passwd_lookup(const char *buf, const char *name, guint *uid)
{
	g_auto(GStrv) lines = NULL;
	guint64 v;

	if (!name || !*name)
		return FALSE;
	if (name[0] == '+') {
		if (!kv_parse_u64(name + 1, &v, NULL) || v > G_MAXUINT)
			return FALSE;
		*uid = (guint)v;
		return TRUE;
	}
	lines = g_strsplit(buf ? buf : "", "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], ":", 4);

		if (g_strv_length(f) < 4 || strcmp(f[0], name) != 0)
			continue;
		if (!kv_parse_u64(f[2], &v, NULL) || v > G_MAXUINT)
			return FALSE;
		*uid = (guint)v;
		return TRUE;
	}
	return FALSE;
}

/* One path component of P (P past any '/'), its length in *LEN. */
static const char *
component(const char *p, gsize *len)
{
	const char *e;

	while (*p == '/')
		p++;
	e = strchr(p, '/');
	*len = e ? (gsize)(e - p) : strlen(p);
	return p;
}

static gboolean
has_prefix_suffix(const char *s, gsize len, const char *prefix, const char *suffix)
{
	gsize pl = strlen(prefix), sl = strlen(suffix);

	return len > pl + sl && !strncmp(s, prefix, pl) && !strncmp(s + len - sl, suffix, sl);
}

gboolean
kv_cgroup_is_libvirt_machine(const char *path)
{
	const char *first, *second;
	gsize n1, n2;

	if (!path || path[0] != '/')
		return FALSE;
	first = component(path, &n1);
	second = component(first + n1, &n2);
	if (n2 == 0)
		return FALSE;
	/* libvirt's own cgroup layout (no systemd). */
	if (n1 == 7 && !strncmp(first, "machine", 7))
		return has_prefix_suffix(second, n2, "qemu-", ".libvirt-qemu");
	/* systemd-machined's: machine-qemu\x2dN\x2dNAME.scope */
	if (n1 == 13 && !strncmp(first, "machine.slice", 13))
		return has_prefix_suffix(second, n2, "machine-qemu", ".scope");
	return FALSE;
}

static void note(KvGuestIdent *id, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
note(KvGuestIdent *id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(id->notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

static void
read_pid_files(KvGuestIdent *id)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) names = kv_ctx_list_dir(id->ctx, LIBVIRT_QEMU_RUN_DIR, &err);
	guint seen = 0;

	if (!names)
		return; /* no libvirt, or not running any guest */
	for (guint i = 0; i < names->len && seen < MAX_PID_FILES; i++) {
		const char *name = names->pdata[i];
		g_autofree char *path = NULL, *buf = NULL;
		guint64 pid;

		if (!g_str_has_suffix(name, ".pid") || name[0] == '.')
			continue;
		seen++;
		path = g_build_filename(LIBVIRT_QEMU_RUN_DIR, name, NULL);
		if (!kv_ctx_read(id->ctx, path, SMALL_FILE_BYTES, &buf, NULL, NULL))
			continue;
		g_strstrip(buf);
		if (kv_parse_u64(buf, &pid, NULL) && pid > 0 && pid <= G_MAXINT)
			g_hash_table_add(id->pidfile_pids, GINT_TO_POINTER((int)pid));
	}
}

static void
resolve_qemu_user(KvGuestIdent *id, const char *qemu_user)
{
	g_autofree char *conf = NULL, *conf_user = NULL, *passwd = NULL;
	const char *user = qemu_user;

	if (!user) {
		if (kv_ctx_read(id->ctx, QEMU_CONF, CONF_FILE_BYTES, &conf, NULL, NULL))
			conf_user = kv_qemu_conf_user_parse(conf);
		user = conf_user ? conf_user : KV_QEMU_USER_DEFAULT;
	}
	if (kv_ctx_read(id->ctx, "/etc/passwd", CONF_FILE_BYTES, &passwd, NULL, NULL) &&
	    kv_passwd_lookup(passwd, user, &id->qemu_uid)) {
		id->have_uid = TRUE;
		return;
	}
	if (user[0] == '+' && kv_passwd_lookup(NULL, user, &id->qemu_uid)) {
		id->have_uid = TRUE;
		return;
	}
	/* Users from NSS (LDAP, ...) exist only on the real system. */
	if (!id->ctx->root || !id->ctx->root[0]) {
		struct passwd pw, *res = NULL;
		char buf[4096];

		if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res) {
			id->qemu_uid = (guint)res->pw_uid;
			id->have_uid = TRUE;
			return;
		}
	}
	note(id, "QEMU user %s is unknown: only guests libvirt names are reported", user);
}

KvGuestIdent *
kv_guest_ident_new(const KvCtx *ctx, const GPtrArray *domains, const char *qemu_user)
{
	KvGuestIdent *id = g_new0(KvGuestIdent, 1);

	id->ctx = ctx;
	id->libvirt_pids = g_hash_table_new(g_direct_hash, g_direct_equal);
	id->pidfile_pids = g_hash_table_new(g_direct_hash, g_direct_equal);
	id->notes = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; domains && i < domains->len; i++) {
		const KvDomain *d = domains->pdata[i];

		if (d->pid > 0)
			g_hash_table_add(id->libvirt_pids, GINT_TO_POINTER(d->pid));
	}
	read_pid_files(id);
	resolve_qemu_user(id, qemu_user);
	return id;
}

void
kv_guest_ident_free(KvGuestIdent *id)
{
	if (!id)
		return;
	g_hash_table_destroy(id->libvirt_pids);
	g_hash_table_destroy(id->pidfile_pids);
	g_ptr_array_unref(id->notes);
	g_free(id);
}

const GPtrArray *
kv_guest_ident_notes(const KvGuestIdent *id)
{
	return id->notes;
}

gboolean
kv_guest_ident_check(const KvGuestIdent *id, int pid, const KvProcStatus *status, const char **why)
{
	g_autofree char *path = NULL, *buf = NULL, *cg = NULL;
	KvCgroupVersion ver;
	const char *dummy;

	if (!why)
		why = &dummy;
	if (g_hash_table_contains(id->libvirt_pids, GINT_TO_POINTER(pid)))
		return TRUE;
	if (!g_hash_table_contains(id->pidfile_pids, GINT_TO_POINTER(pid))) {
		*why = "no libvirt pid file names it";
		return FALSE;
	}
	if (!id->have_uid || !(status->have & KV_PROC_STATUS_HAVE_UID) || status->uid_real != id->qemu_uid ||
	    status->uid_effective != id->qemu_uid) {
		*why = "not owned by the user libvirt runs QEMU as";
		return FALSE;
	}
	path = g_strdup_printf("/proc/%d/cgroup", pid);
	if (!kv_ctx_read(id->ctx, path, 64 * 1024, &buf, NULL, NULL) || !(cg = kv_cgroup_parse(buf, &ver)) ||
	    !kv_cgroup_is_libvirt_machine(cg)) {
		*why = "not in a libvirt machine cgroup";
		return FALSE;
	}
	return TRUE;
}
