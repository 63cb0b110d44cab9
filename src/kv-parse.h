/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-parse.h: strict number parsing and line iteration over buffers.
 * Every parser in ksmvirt takes a NUL-terminated buffer, never a path. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* kv_parse_u64: parses a decimal unsigned number from S after optional
 * blanks; stops at the first non-digit, which must be NUL, blank or
 * newline.  Returns TRUE and sets *OUT; FALSE on no digits, a sign, junk
 * or overflow beyond 2^64-1.  *END (optional) points after the number. */
gboolean kv_parse_u64(const char *s, guint64 *out, const char **end);

/* kv_parse_i64: as kv_parse_u64 with an optional leading '-'. */
gboolean kv_parse_i64(const char *s, gint64 *out, const char **end);

/* kv_parse_hex_u64: hexadecimal, with or without "0x". */
gboolean kv_parse_hex_u64(const char *s, guint64 *out);

/* kv_parse_size: QEMU/libvirt sizes: "512" (MiB when DEFAULT_SUFFIX is 'M'),
 * "512M", "1G", "1048576k", "4096B".  Returns TRUE and bytes. */
gboolean kv_parse_size(const char *s, char default_suffix, guint64 *bytes);

typedef struct {
	const char *name; /* key as it appears before the separator */
	gsize offset;     /* offset of a guint64 in the target struct */
	gsize flag_bit;   /* bit set in the struct's "have" mask */
} KvField;

/* kv_parse_keyed_lines: for "Key: 123 kB" / "key 123" lines, stores each
 * known key's number into STRUCT at its field offset and sets its bit in
 * *HAVE.  Unknown keys and values that are not numbers are skipped (a
 * non-number for a known key leaves its bit clear).  Returns the number of
 * fields found. */
guint kv_parse_keyed_lines(const char *buf, const KvField *fields, gsize n_fields, void *target, guint64 *have);

G_END_DECLS
