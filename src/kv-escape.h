/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-escape.h: strings from outside (guest names, OS names, labels, QEMU's
 * arguments, the hook's registry) escaped for where they are shown.
 *
 * Every function takes any bytes (NULL is ""), returns a newly allocated,
 * valid UTF-8 string, and never fails.  A byte that is not part of valid
 * UTF-8 becomes the four characters \xNN in every destination. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* kv_escape_term: for a terminal or a log line.  Backslash becomes \\,
 * newline, tab and carriage return \n, \t, \r, other C0 controls and DEL
 * \xNN, C1 controls and the bidirectional overrides (U+202A-U+202E,
 * U+2066-U+2069) \uNNNN: nothing can move the cursor, set a title or
 * reorder what follows. */
char *kv_escape_term(const char *s);

/* kv_escape_html: kv_escape_term, then &, <, >, " and ' as character
 * references: safe in HTML and SVG text and in a double- or single-quoted
 * attribute. */
char *kv_escape_html(const char *s);

/* kv_escape_html_pre: text already escaped for a terminal (a rendered
 * report) for an HTML or SVG text node: newlines and tabs stay, any other
 * control character becomes \xNN, then the five characters above become
 * character references.  Backslashes are kept as they are. */
char *kv_escape_html_pre(const char *s);

/* kv_escape_utf8: S with only its invalid UTF-8 bytes replaced by \xNN;
 * everything else, controls included, is kept.  For JSON string values,
 * whose generator escapes controls itself. */
char *kv_escape_utf8(const char *s);

/* kv_escape_json_text: JSON text from a generator that copies string
 * bytes as they are (json-glib) made valid UTF-8: every invalid byte,
 * which can only be inside a string, becomes \\xNN (a JSON-escaped
 * backslash, then xNN).  Valid input is returned unchanged. */
char *kv_escape_json_text(const char *json);

/* kv_escape_prom_label: a Prometheus label value (text exposition format
 * 0.0.4): valid UTF-8, then backslash, double quote and newline as \\,
 * \" and \n. */
char *kv_escape_prom_label(const char *s);

G_END_DECLS
