/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-json.h: the json-glib builder helpers every JSON writer of ksmvirt
 * uses (reports, balancer state and history, inspection results), and the
 * one bounded parser every JSON reader uses. */
#pragma once

#include <string.h>
#include <json-glib/json-glib.h>

/* Defaults of kv_json_parse() (a bound of 0 selects them). */
#define KV_JSON_MAX_BYTES (16u << 20)
#define KV_JSON_MAX_DEPTH 64u

/* kv_json_check_depth: scans LEN bytes of JSON text for its nesting depth
 * ('[' and '{' outside strings, escapes respected) without recursing,
 * and allows in strings only JSON's escapes, \uXXXX outside the surrogate
 * range (json-glib would take C's octal escapes and lone surrogates and
 * hand out strings that are not UTF-8).  Returns FALSE with
 * KV_ERROR_PARSE when the text nests deeper than MAX_DEPTH or holds such
 * an escape. */
gboolean kv_json_check_depth(const char *buf, gsize len, guint max_depth, GError **error);

/* kv_json_parse: parses BUF (LEN bytes, or NUL-terminated when LEN < 0)
 * after checking its size against MAX_BYTES and its nesting against
 * MAX_DEPTH (0: the defaults above); json-glib recurses without a limit,
 * so nothing else in ksmvirt hands it text.  Returns the new root node
 * (never NULL on success), or NULL with KV_ERROR_PARSE. */
JsonNode *kv_json_parse(const char *buf, gssize len, gsize max_bytes, guint max_depth, GError **error);

/* Typed member readers over documents from outside: a member that is
 * missing, null, an object or an array, or a value of another type, gives
 * DEF (json-glib's own *_with_default readers log a critical for any
 * member that is not a plain value).  Numbers convert between int and
 * double; nothing else converts. */
gboolean kv_json_get_bool(JsonObject *o, const char *name, gboolean def);
gint64 kv_json_get_int(JsonObject *o, const char *name, gint64 def);
double kv_json_get_double(JsonObject *o, const char *name, double def);
const char *kv_json_get_str(JsonObject *o, const char *name, const char *def);
/* The member NAME of O (or element I of A) when it is an object (an
 * array, a string), else NULL. */
JsonObject *kv_json_get_object(JsonObject *o, const char *name);
JsonArray *kv_json_get_array(JsonObject *o, const char *name);
JsonObject *kv_json_array_object(JsonArray *a, guint i);
const char *kv_json_array_str(JsonArray *a, guint i);

/* kv_json_add_u64: json-glib numbers are int64: counters beyond 2^63-1
 * (hostile or broken sysfs) are clamped rather than wrapped negative. */
static inline void
kv_json_add_u64(JsonBuilder *b, guint64 v)
{
	json_builder_add_int_value(b, v > (guint64)G_MAXINT64 ? G_MAXINT64 : (gint64)v);
}

static inline void
kv_json_u64(JsonBuilder *b, const char *name, guint64 v)
{
	json_builder_set_member_name(b, name);
	kv_json_add_u64(b, v);
}

static inline void
kv_json_i64(JsonBuilder *b, const char *name, gint64 v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, v);
}

static inline void
kv_json_double(JsonBuilder *b, const char *name, double v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_double_value(b, v);
}

static inline void
kv_json_bool(JsonBuilder *b, const char *name, gboolean v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, v);
}

/* kv_json_str: a string member, null when V is NULL. */
static inline void
kv_json_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	if (v)
		json_builder_add_string_value(b, v);
	else
		json_builder_add_null_value(b);
}

/* kv_json_to_string: the builder's document as text (newly allocated). */
static inline char *
kv_json_to_string(JsonBuilder *b, gboolean pretty)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(b);

	json_generator_set_pretty(gen, pretty);
	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}
