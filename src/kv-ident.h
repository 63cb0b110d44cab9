/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-ident.h: who is a guest.
 *
 * A process is a guest because libvirt says so, never because of its name
 * or command line (any local user can start a "qemu-system-x86_64" with
 * any arguments).  A process is a libvirt guest when
 *  - libvirt, connected, reports it as the QEMU of a running domain, or
 *  - a libvirt pid file (RUNSTATEDIR/libvirt/qemu/NAME.pid) names it AND
 *    its memory cgroup is one libvirt made for a machine (v1
 *    /machine/qemu-N-NAME.libvirt-qemu, v2 /machine.slice/machine-qemu...
 *    .scope) AND it runs as the user libvirt runs QEMU as (qemu.conf
 *    "user", libvirt-qemu by default; root only when that user is root).
 * Only root can write those pid files or move a process into those
 * cgroups.  Every other process is an "other process": it never drives a
 * decision, a cgroup write or a QMP connection.
 */
#pragma once

#include <glib.h>
#include "kv-ctx.h"
#include "kv-proc.h"

G_BEGIN_DECLS

/* The user libvirt runs QEMU as when qemu.conf does not say (Debian's
 * libvirt is built with --with-qemu-user=libvirt-qemu). */
#define KV_QEMU_USER_DEFAULT "libvirt-qemu"

/* kv_qemu_conf_user_parse: the value of the `user = "NAME"` setting of
 * libvirt's qemu.conf text BUF, or NULL when it is not set. */
char *kv_qemu_conf_user_parse(const char *buf);

/* kv_passwd_lookup: the uid of user NAME in /etc/passwd text BUF.  "+N"
 * (libvirt's numeric form) is N.  Returns FALSE when NAME is not there. */
gboolean kv_passwd_lookup(const char *buf, const char *name, guint *uid);

/* kv_cgroup_is_libvirt_machine: TRUE when cgroup PATH (relative to its
 * hierarchy, from /proc/PID/cgroup) lies in a machine scope libvirt made
 * for a QEMU domain. */
gboolean kv_cgroup_is_libvirt_machine(const char *path);

typedef struct KvGuestIdent KvGuestIdent;

/* kv_guest_ident_new: gathers what libvirt attests: the pids of DOMAINS
 * (KvDomain of the running domains; NULL when libvirt is not reachable),
 * libvirt's pid files and the QEMU user (QEMU_USER, or NULL for qemu.conf's
 * "user", else KV_QEMU_USER_DEFAULT), all read through CTX's root.  Never
 * fails; what could not be read is in kv_guest_ident_notes(). */
KvGuestIdent *kv_guest_ident_new(const KvCtx *ctx, const GPtrArray *domains, const char *qemu_user);
void kv_guest_ident_free(KvGuestIdent *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvGuestIdent, kv_guest_ident_free)

/* kv_guest_ident_notes: char*, e.g. "QEMU user nosuch: unknown". */
const GPtrArray *kv_guest_ident_notes(const KvGuestIdent *id);

/* kv_guest_ident_check: TRUE when PID (its /proc status in STATUS) is a
 * libvirt guest.  Otherwise FALSE and *WHY (optional) says what is
 * missing (a static string). */
gboolean kv_guest_ident_check(const KvGuestIdent *id, int pid, const KvProcStatus *status, const char **why);

G_END_DECLS
