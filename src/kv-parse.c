/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-parse.c: strict number parsing shared by every parser. */
#include "kv-parse.h"

#include <string.h>

static gboolean
is_term(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads decimal digits at *P into *OUT, advancing *P.  FALSE when there
 * are none or the number exceeds 2^64-1. */
static gboolean
take_digits(const char **p, guint64 *out)
{
	guint64 v = 0;
	const char *s = *p;

	if (!g_ascii_isdigit(*s))
		return FALSE;
	for (; g_ascii_isdigit(*s); s++) {
		guint d = (guint)(*s - '0');

		if (v > (G_MAXUINT64 - d) / 10)
			return FALSE;
		v = v * 10 + d;
	}
	*out = v;
	*p = s;
	return TRUE;
}

gboolean
kv_parse_u64(const char *s, guint64 *out, const char **end)
{
	guint64 v = 0;
	const char *p = s;

	if (!s)
		return FALSE;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!take_digits(&p, &v))
		return FALSE;
	if (!is_term(*p))
		return FALSE;
	*out = v;
	if (end)
		*end = p;
	return TRUE;
}

gboolean
kv_parse_i64(const char *s, gint64 *out, const char **end)
{
	const char *p = s;
	gboolean neg = FALSE;
	guint64 u;

	if (!s)
		return FALSE;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '-') {
		neg = TRUE;
		p++;
	}
	if (!kv_parse_u64(p, &u, end))
		return FALSE;
	if (neg) {
		if (u > (guint64)G_MAXINT64 + 1)
			return FALSE;
		*out = u == (guint64)G_MAXINT64 + 1 ? G_MININT64 : -(gint64)u;
	} else {
		if (u > (guint64)G_MAXINT64)
			return FALSE;
		*out = (gint64)u;
	}
	return TRUE;
}

gboolean
kv_parse_hex_u64(const char *s, guint64 *out)
{
	guint64 v = 0;
	const char *p = s;
	gboolean any = FALSE;

	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; g_ascii_isxdigit(*p); p++) {
		if (v >> 60)
			return FALSE;
		v = (v << 4) | (guint64)g_ascii_xdigit_value(*p);
		any = TRUE;
	}
	if (!any || !is_term(*p))
		return FALSE;
	*out = v;
	return TRUE;
}

gboolean
kv_parse_size(const char *s, char default_suffix, guint64 *bytes)
{
	guint64 v = 0, mult;
	const char *p = s;
	char suffix;

	if (!s || !take_digits(&p, &v))
		return FALSE;
	suffix = *p ? *p : default_suffix;
	if (*p && p[1] != '\0' &&
	    !((p[1] == 'i' || p[1] == 'B') && (p[2] == '\0' || (p[2] == 'B' && p[3] == '\0'))))
		return FALSE;
	switch (g_ascii_toupper(suffix)) {
	case 'B':
	case '\0':
		mult = 1;
		break;
	case 'K':
		mult = 1ull << 10;
		break;
	case 'M':
		mult = 1ull << 20;
		break;
	case 'G':
		mult = 1ull << 30;
		break;
	case 'T':
		mult = 1ull << 40;
		break;
	default:
		return FALSE;
	}
	if (v > G_MAXUINT64 / mult)
		return FALSE;
	*bytes = v * mult;
	return TRUE;
}

guint
kv_parse_keyed_lines(const char *buf, const KvField *fields, gsize n_fields, void *target, guint64 *have)
{
	const char *line = buf;
	guint found = 0;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		gsize klen = strcspn(line, ": \t\n");

		for (gsize i = 0; i < n_fields; i++) {
			const char *val;
			guint64 v;

			if (fields[i].name[0] != line[0] || strncmp(fields[i].name, line, klen) != 0 ||
			    fields[i].name[klen] != '\0')
				continue;
			val = line + klen;
			if (*val == ':')
				val++;
			/* "123 kB": the number ends at a blank or the newline. */
			if (kv_parse_u64(val, &v, NULL)) {
				memcpy((char *)target + fields[i].offset, &v, sizeof(v));
				*have |= G_GUINT64_CONSTANT(1) << fields[i].flag_bit;
				found++;
			}
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
	return found;
}
