/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-event: what the libvirt hook learns about a guest at one moment.
 *
 * An event is one hook invocation: the operation libvirt reports (start,
 * stopped, ...) plus the facts read from the domain XML that matter to KSM:
 * name, UUID, memory size, guest NUMA cells, <memoryBacking> settings that
 * disable or prevent merging, and the ksmvirt policy metadata.
 *
 * Events travel as one line of JSON (kv_event_to_json_line() /
 * kv_event_from_json_line()): over the daemon socket and in spool files.
 */
#pragma once

#include <glib.h>
#include "kv-guest-policy.h"

G_BEGIN_DECLS

#define KV_EVENT_ERROR (kv_event_error_quark())
GQuark kv_event_error_quark(void);

typedef enum {
	KV_EVENT_ERROR_XML,    /* the domain XML does not parse */
	KV_EVENT_ERROR_DOMAIN, /* it parses but is no usable <domain> */
	KV_EVENT_ERROR_JSON,   /* an event line does not decode */
	KV_EVENT_ERROR_VALUE,  /* a number or unit is out of range */
} KvEventError;

/* The qemu hook operations of libvirt, in the order a guest sees them. */
typedef enum {
	KV_EVENT_OP_UNKNOWN = 0,
	KV_EVENT_OP_PREPARE,
	KV_EVENT_OP_START,
	KV_EVENT_OP_STARTED,
	KV_EVENT_OP_STOPPED,
	KV_EVENT_OP_RELEASE,
	KV_EVENT_OP_MIGRATE,
	KV_EVENT_OP_RESTORE,
	KV_EVENT_OP_RECONNECT,
	KV_EVENT_OP_ATTACH,
} KvEventOp;

/* Returns KV_EVENT_OP_UNKNOWN for names libvirt does not document. */
KvEventOp kv_event_op_from_string(const char *name);
/* Returns a static string; "unknown" for KV_EVENT_OP_UNKNOWN. */
const char *kv_event_op_to_string(KvEventOp op);
/* TRUE for the operations whose hook output libvirt uses as the new
 * domain XML (migrate, restore).  Empty output means "unchanged": the hook
 * prints nothing. */
gboolean kv_event_op_passes_xml(KvEventOp op);

typedef struct {
	guint id;
	guint64 memory_kib;
	gchar *cpus; /* libvirt cpuset string, e.g. "0-1,4"; may be NULL */
} KvEventCell;

/* Where the owner of a domain is in its <metadata>: the first element
 * whose namespace URI starts with NS_PREFIX and whose name is the first
 * part of PATH ("instance/owner/project@uuid"), then each next part a
 * child element; "@attr" last reads an attribute, else the text. */
typedef struct {
	const char *ns_prefix;
	const char *path;
} KvOwnerRule;

#define KV_EVENT_SCHEMA "ksmvirt-event/1"

/* A new cell (for ev->cells, which frees it). */
KvEventCell *kv_event_cell_new(guint id, guint64 memory_kib, const char *cpus);

typedef struct {
	KvEventOp op;
	gchar *subop; /* "begin", "end", "-", ... as libvirt passed it */
	gchar *extra;
	gint64 time_us; /* wall clock (g_get_real_time()) of the hook run */
	gchar *boot_id; /* the boot the hook ran in (kv-order.h), or NULL */
	guint64 seq;    /* its place in that boot's sequence; 0: none */
	gchar *id;      /* unique per event: deduplicates replays */

	/* Facts from the domain XML; has_xml is FALSE when there was none or it
	 * did not parse (then name is the hook's object argument). */
	gboolean has_xml;
	gchar *name;
	gchar *uuid; /* lower-case canonical form, or NULL */
	guint64 memory_kib;
	guint64 current_memory_kib;
	guint64 min_guarantee_kib; /* <memtune><min_guarantee>; 0: none */
	GPtrArray *cells;          /* of KvEventCell*, guest NUMA cells; never NULL */

	/* <memoryBacking> */
	gboolean nosharepages;  /* merging disabled on purpose (QEMU mem-merge=off) */
	gboolean hugepages;     /* KSM does not merge huge pages */
	gboolean memfd;         /* <source type='memfd'/>: shmem, not mergeable */
	gboolean file_backed;   /* <source type='file'/> */
	gboolean shared_access; /* <access mode='shared'/> (or a shared cell) */

	/* <metadata><ksmvirt:policy .../></metadata> */
	gboolean has_policy;
	KvPolicyMerge merge;
	gboolean has_priority;
	gint priority;
	gboolean has_min_balloon;
	guint64 min_balloon_mib;
	gchar *group;
	GArray *cell_merge;  /* KvCellMerge, in document order; never NULL */
	gchar *policy_error; /* a bad attribute value, ignored; or NULL */
	/* The owner by the rule given to kv_event_parse_domain_xml_owner()
	 * (OpenStack Nova's project by default), or NULL. */
	gchar *owner;
} KvEvent;

KvEvent *kv_event_new(KvEventOp op, const char *subop, const char *extra);
void kv_event_free(KvEvent *ev);
KvEvent *kv_event_copy(const KvEvent *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvEvent, kv_event_free)

/* Fill ev's domain facts from the domain XML in buf (len bytes, need not be
 * NUL-terminated).  The root may be <domain> or a wrapper holding one
 * (<domstatus>).  Returns TRUE on success; FALSE with error set when the
 * XML does not parse or holds no domain name, leaving ev's facts
 * untouched.  Parses with kv_xml_parse() (kv-xml.h): at most
 * KV_XML_MAX_BYTES, no network, and a DOCTYPE declaring entities is
 * refused. */
gboolean kv_event_parse_domain_xml(KvEvent *ev, const char *buf, gsize len, GError **error);
/* The same, reading the owner by RULE (NULL: OpenStack Nova's project). */
gboolean kv_event_parse_domain_xml_owner(KvEvent *ev, const char *buf, gsize len, const KvOwnerRule *rule,
					 GError **error);

/* Why KSM cannot merge this guest's RAM at all, one phrase per reason, or
 * an empty vector.  nosharepages and merge="off" are not listed here: they
 * are a choice (see kv_event_merging_disabled()).  Free with g_strfreev. */
gchar **kv_event_ksm_impossible(const KvEvent *ev);
/* TRUE when the domain asks for no merging: <nosharepages/> or a policy
 * with merge="off". */
gboolean kv_event_merging_disabled(const KvEvent *ev);

/* Convert a libvirt memory value with its unit attribute (NULL means KiB)
 * to KiB.  Returns FALSE with error set on a bad number or unit. */
gboolean kv_event_memory_to_kib(const char *value, const char *unit, guint64 *out_kib, GError **error);

/* One line of JSON, without the trailing newline. */
gchar *kv_event_to_json_line(const KvEvent *ev);
/* Decode what kv_event_to_json_line() wrote (kv-event-decode.c) (len bytes; a trailing newline
 * is allowed).  Returns a new event or NULL with error set. */
KvEvent *kv_event_from_json_line(const char *buf, gsize len, GError **error);

G_END_DECLS
