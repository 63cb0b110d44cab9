/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-qemu.h: recognising QEMU processes and reading their configuration
 * from the command line (guest name, UUID, RAM, memory backends, NUMA). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	KV_TRISTATE_UNSET = -1,
	KV_TRISTATE_OFF = 0,
	KV_TRISTATE_ON = 1,
} KvTristate;

typedef struct {
	char *id;       /* backend id ("pc.ram", "ram-node0", ...) */
	char *qom_type; /* memory-backend-ram, -memfd, -file */
	guint64 size_bytes;
	KvTristate merge; /* merge= property */
	KvTristate share; /* share= property */
	gboolean hugetlb; /* memfd hugetlb=on, or a file under hugetlbfs */
	char *mem_path;   /* memory-backend-file */
	int guest_node;   /* guest NUMA node id, -1 when not a NUMA node */
} KvQemuBackend;

typedef struct {
	char *name;            /* -name guest=NAME (or NULL) */
	char *uuid;            /* -uuid (or NULL) */
	guint64 ram_bytes;     /* -m size; 0 when unknown */
	KvTristate mem_merge;  /* -machine mem-merge= */
	char *machine_backend; /* -machine memory-backend=ID */
	GPtrArray *backends;   /* KvQemuBackend, command-line order */
} KvQemuInfo;

/* kv_qemu_is_qemu: TRUE when COMM or ARGV[0] names a QEMU system emulator. */
gboolean kv_qemu_is_qemu(const char *comm, const char *const *argv);

/* kv_qemu_keyval_parse: QEMU "a=b,c=d" option syntax with ",," escapes;
 * a first element without '=' is stored under IMPLIED_KEY (if not NULL).
 * Returns a new table key -> value. */
GHashTable *kv_qemu_keyval_parse(const char *s, const char *implied_key);

/* kv_qemu_parse_argv: parses a QEMU command line.  Never fails: options it
 * cannot parse are skipped; check the fields.  Returns a new KvQemuInfo. */
KvQemuInfo *kv_qemu_parse_argv(const char *const *argv);
void kv_qemu_info_free(KvQemuInfo *qi);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvQemuInfo, kv_qemu_info_free)

/* kv_qemu_guest_ram: the backends that hold guest RAM, one per guest NUMA
 * node or the single machine RAM backend.  When the command line names no
 * backend, returns one implicit "pc.ram" entry of RAM_BYTES.  The array
 * borrows from QI except the implicit entry, which it owns. */
GPtrArray *kv_qemu_guest_ram(const KvQemuInfo *qi);

/* kv_qemu_backend_unmergeable_reason: why KSM cannot merge BACKEND's
 * memory (shared mapping, hugetlb), or NULL when it can. */
const char *kv_qemu_backend_unmergeable_reason(const KvQemuBackend *b);

G_END_DECLS
