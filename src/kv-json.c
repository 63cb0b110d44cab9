/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-json.c: the one way ksmvirt parses JSON (see kv-json.h). */
#include "kv-json.h"
#include "kv-ctx.h"

#include <errno.h>
#include <stdio.h>

gboolean
kv_json_check_depth(const char *buf, gsize len, guint max_depth, GError **error)
{
	gboolean in_string = FALSE, escaped = FALSE;
	guint depth = 0;

	for (gsize i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (escaped) {
				escaped = FALSE;
				/* Only JSON's escapes: json-glib's scanner also takes
				 * C's octal ones and makes bytes that are not UTF-8. */
				if (!strchr("\"\\/bfnrtu", c) || c == '\0' ||
				    (c == 'u' && (i + 4 >= len || !g_ascii_isxdigit(buf[i + 1]) ||
						  !g_ascii_isxdigit(buf[i + 2]) ||
						  !g_ascii_isxdigit(buf[i + 3]) || !g_ascii_isxdigit(buf[i + 4]) ||
						  (g_ascii_tolower(buf[i + 1]) == 'd' &&
						   strchr("89abcdefABCDEF", buf[i + 2]))))) {
					g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
						    "JSON string with an invalid or surrogate escape (at byte %" G_GSIZE_FORMAT
						    ")",
						    i);
					return FALSE;
				}
			} else if (c == '\\')
				escaped = TRUE;
			else if (c == '"')
				in_string = FALSE;
			continue;
		}
		switch (c) {
		case '"':
			in_string = TRUE;
			break;
		case '[':
		case '{':
			if (++depth > max_depth) {
				g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
					    "JSON nested deeper than %u levels (at byte %" G_GSIZE_FORMAT ")",
					    max_depth, i);
				return FALSE;
			}
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return TRUE;
}

JsonNode *
kv_json_parse(const char *buf, gssize len, gsize max_bytes, guint max_depth, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) local = NULL;
	gsize n = len < 0 ? strlen(buf) : (gsize)len;
	JsonNode *root;

	if (max_bytes == 0)
		max_bytes = KV_JSON_MAX_BYTES;
	if (max_depth == 0)
		max_depth = KV_JSON_MAX_DEPTH;
	if (n > max_bytes || n > G_MAXSSIZE) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
			    "JSON of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GSIZE_FORMAT " bytes",
			    n, max_bytes);
		return NULL;
	}
	if (!kv_json_check_depth(buf, n, max_depth, error))
		return NULL;
	parser = json_parser_new();
	if (!json_parser_load_from_data(parser, buf, (gssize)n, &local)) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "%s", local->message);
		return NULL;
	}
	root = json_parser_steal_root(parser);
	if (!root) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "empty JSON document");
		return NULL;
	}
	return root;
}

/* The member NAME of O when it is a plain value of TYPE (G_TYPE_INT64 also
 * accepts doubles, G_TYPE_DOUBLE also int64s), else NULL. */
static JsonNode *
typed_member(JsonObject *o, const char *name, GType type)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	GType vt;

	if (!n || JSON_NODE_TYPE(n) != JSON_NODE_VALUE)
		return NULL;
	vt = json_node_get_value_type(n);
	if (vt == type)
		return n;
	if ((type == G_TYPE_INT64 || type == G_TYPE_DOUBLE) && (vt == G_TYPE_INT64 || vt == G_TYPE_DOUBLE))
		return n;
	return NULL;
}

gboolean
kv_json_get_bool(JsonObject *o, const char *name, gboolean def)
{
	JsonNode *n = typed_member(o, name, G_TYPE_BOOLEAN);

	return n ? json_node_get_boolean(n) : def;
}

gint64
kv_json_get_int(JsonObject *o, const char *name, gint64 def)
{
	JsonNode *n = typed_member(o, name, G_TYPE_INT64);
	double d;

	if (!n)
		return def;
	if (json_node_get_value_type(n) == G_TYPE_INT64)
		return json_node_get_int(n);
	d = json_node_get_double(n);
	/* NaN fails both tests: a double out of range is no int64. */
	if (!(d >= -9.2e18 && d <= 9.2e18))
		return def;
	return (gint64)d;
}

double
kv_json_get_double(JsonObject *o, const char *name, double def)
{
	JsonNode *n = typed_member(o, name, G_TYPE_DOUBLE);

	if (!n)
		return def;
	return json_node_get_value_type(n) == G_TYPE_INT64 ? (double)json_node_get_int(n)
							   : json_node_get_double(n);
}

const char *
kv_json_get_str(JsonObject *o, const char *name, const char *def)
{
	JsonNode *n = typed_member(o, name, G_TYPE_STRING);

	return n ? json_node_get_string(n) : def;
}

JsonObject *
kv_json_get_object(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

JsonArray *
kv_json_get_array(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

JsonObject *
kv_json_array_object(JsonArray *a, guint i)
{
	JsonNode *n = a && i < json_array_get_length(a) ? json_array_get_element(a, i) : NULL;

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

const char *
kv_json_array_str(JsonArray *a, guint i)
{
	JsonNode *n = a && i < json_array_get_length(a) ? json_array_get_element(a, i) : NULL;

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
		       ? json_node_get_string(n)
		       : NULL;
}
