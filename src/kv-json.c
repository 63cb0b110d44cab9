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
			if (escaped)
				escaped = FALSE;
			else if (c == '\\')
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
