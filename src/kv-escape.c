/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-escape.c: outside strings escaped for the terminal, HTML, JSON and
 * Prometheus. */
#include "kv-escape.h"

#include <string.h>

enum {
	ESC_TERM = 1 << 0,      /* backslash and every control as an escape */
	ESC_PRE = 1 << 1,       /* controls but newline and tab; backslash kept */
	ESC_MARKUP = 1 << 2,    /* & < > " ' as character references */
	ESC_JSON_TEXT = 1 << 3, /* invalid bytes as \\xNN (inside JSON text) */
};

/* Characters that steer a terminal or reorder text around them. */
static gboolean
is_invisible_control(gunichar c)
{
	return (c >= 0x80 && c < 0xa0) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static void
append_char(GString *out, gunichar c, const char *p, gsize len, guint flags)
{
	if (flags & (ESC_TERM | ESC_PRE)) {
		if ((flags & ESC_TERM) && c == '\\') {
			g_string_append(out, "\\\\");
			return;
		}
		if (c == '\n' || c == '\t') {
			if (flags & ESC_PRE)
				g_string_append_c(out, (char)c);
			else
				g_string_append(out, c == '\n' ? "\\n" : "\\t");
			return;
		}
		if (c == '\r' && (flags & ESC_TERM)) {
			g_string_append(out, "\\r");
			return;
		}
		if (c < 0x20 || c == 0x7f) {
			g_string_append_printf(out, "\\x%02x", c);
			return;
		}
		if (is_invisible_control(c)) {
			g_string_append_printf(out, "\\u%04x", c);
			return;
		}
	}
	if (flags & ESC_MARKUP) {
		switch (c) {
		case '&':
			g_string_append(out, "&amp;");
			return;
		case '<':
			g_string_append(out, "&lt;");
			return;
		case '>':
			g_string_append(out, "&gt;");
			return;
		case '"':
			g_string_append(out, "&quot;");
			return;
		case '\'':
			g_string_append(out, "&#39;");
			return;
		default:
			break;
		}
	}
	g_string_append_len(out, p, (gssize)len);
}

static char *
escape(const char *s, guint flags)
{
	const char *p = s ? s : "", *end = p + strlen(p);
	GString *out = g_string_sized_new((gsize)(end - p) + 16);

	while (p < end) {
		gunichar c = g_utf8_get_char_validated(p, end - p);

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			/* Not UTF-8: show the byte, resynchronise on the next. */
			g_string_append_printf(out, (flags & ESC_JSON_TEXT) ? "\\\\x%02x" : "\\x%02x",
					       (unsigned char)*p);
			p++;
			continue;
		}
		append_char(out, c, p, (gsize)g_utf8_skip[*(const guchar *)p], flags);
		p += g_utf8_skip[*(const guchar *)p];
	}
	return g_string_free(out, FALSE);
}

char *
kv_escape_term(const char *s)
{
	return escape(s, ESC_TERM);
}

char *
kv_escape_html(const char *s)
{
	return escape(s, ESC_TERM | ESC_MARKUP);
}

char *
kv_escape_html_pre(const char *s)
{
	return escape(s, ESC_PRE | ESC_MARKUP);
}

char *
kv_escape_utf8(const char *s)
{
	return escape(s, 0);
}

char *
kv_escape_json_text(const char *json)
{
	if (!json || g_utf8_validate(json, -1, NULL))
		return g_strdup(json ? json : "");
	return escape(json, ESC_JSON_TEXT);
}

char *
kv_escape_prom_label(const char *s)
{
	g_autofree char *valid = kv_escape_utf8(s);
	GString *out = g_string_sized_new(strlen(valid) + 8);

	for (const char *p = valid; *p; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '"')
			g_string_append(out, "\\\"");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}
