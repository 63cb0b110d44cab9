/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the bounded JSON parser, and every JSON reader of ksmvirt
 * fed nesting deeper than json-glib's recursion survives (each of these
 * overflowed the stack before all JSON went through kv_json_parse). */
#include "kv-json.h"
#include "kv-balancer.h"
#include "kv-event.h"
#include "kv-history.h"
#include "kv-inspect.h"
#include "kv-inspect-queue.h"
#include "kv-qemu.h"
#include "kv-qmp.h"
#include "kv-registry.h"

#include <string.h>
#include <glib/gstdio.h>

#define DEEP 100000

/* PREFIX, then DEPTH copies of OPEN, then SUFFIX. */
static char *
nested(const char *prefix, const char *open, guint depth, const char *suffix)
{
	GString *s = g_string_new(prefix);

	for (guint i = 0; i < depth; i++)
		g_string_append(s, open);
	g_string_append(s, suffix);
	return g_string_free(s, FALSE);
}

/* DEPTH arrays, properly closed. */
static char *
arrays(guint depth)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < depth; i++)
		g_string_append_c(s, '[');
	for (guint i = 0; i < depth; i++)
		g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

static void
test_depth_bound(void)
{
	g_autofree char *at = arrays(8);
	g_autofree char *over = arrays(9);
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonNode) ok = kv_json_parse(at, -1, 0, 8, &err);
	g_autoptr(JsonNode) bad = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(ok);
	g_assert_true(JSON_NODE_HOLDS_ARRAY(ok));
	bad = kv_json_parse(over, -1, 0, 8, &err);
	g_assert_null(bad);
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
	g_assert_nonnull(strstr(err->message, "deeper than 8"));
	g_clear_error(&err);
	/* Objects count like arrays, and depth goes down again. */
	g_assert_true(kv_json_check_depth("{\"a\":{\"b\":[1]},\"c\":[{}]}", 24, 3, NULL));
	g_assert_false(kv_json_check_depth("{\"a\":{\"b\":[{}]}}", 16, 3, NULL));
	/* A scalar document has depth 0. */
	{
		g_autoptr(JsonNode) n = kv_json_parse("42", -1, 0, 1, &err);

		g_assert_no_error(err);
		g_assert_cmpint(json_node_get_int(n), ==, 42);
	}
}

static void
test_strings(void)
{
	/* Brackets inside strings, escaped quotes and backslashes do not nest. */
	const char *doc = "{\"a\":\"[[[[{{{{\",\"b\":\"x\\\"[[[[\",\"c\":\"\\\\\",\"d\":[\"]]]]\"]}";
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonNode) n = kv_json_parse(doc, -1, 0, 2, &err);
	JsonObject *o;

	g_assert_no_error(err);
	o = json_node_get_object(n);
	g_assert_cmpstr(json_object_get_string_member(o, "a"), ==, "[[[[{{{{");
	g_assert_cmpstr(json_object_get_string_member(o, "b"), ==, "x\"[[[[");
	g_assert_cmpstr(json_object_get_string_member(o, "c"), ==, "\\");
	/* After "\\" the string has ended: the brackets that follow count. */
	g_assert_false(kv_json_check_depth("[\"\\\\\",[[[]]]]", 13, 3, NULL));
	g_assert_true(kv_json_check_depth("[\"\\\\\",[[]]]", 11, 3, NULL));
	/* An unterminated string hides the rest: json-glib rejects it. */
	g_assert_null(kv_json_parse("[\"[[[[[", -1, 0, 2, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
}

static void
test_size_cap(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonNode) a = kv_json_parse("[1,2,3]", -1, 7, 0, &err);
	g_autoptr(JsonNode) b = NULL;

	g_assert_no_error(err);
	g_assert_nonnull(a);
	b = kv_json_parse("[1,2,3] ", -1, 7, 0, &err);
	g_assert_null(b);
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
	g_clear_error(&err);
	/* LEN limits what is read: the tail past it is not parsed. */
	{
		g_autoptr(JsonNode) c = kv_json_parse("[1][[[[", 3, 3, 1, &err);

		g_assert_no_error(err);
		g_assert_true(JSON_NODE_HOLDS_ARRAY(c));
	}
	g_assert_null(kv_json_parse("", -1, 0, 0, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
}

/* Callers add members to what they parsed (the daemon's status gets its
 * "inspection" member so): the tree must not be sealed. */
static void
test_mutable(void)
{
	g_autoptr(JsonNode) n = kv_json_parse("{\"a\":1}", -1, 0, 0, NULL);

	g_assert_false(json_node_is_immutable(n));
	json_object_set_int_member(json_node_get_object(n), "b", 2);
	g_assert_cmpint(json_object_get_int_member(json_node_get_object(n), "b"), ==, 2);
}

static void
test_deep_default(void)
{
	g_autofree char *deep = nested("", "[", DEEP, "");
	g_autoptr(GError) err = NULL;

	g_assert_null(kv_json_parse(deep, -1, 0, 0, &err));
	g_assert_error(err, KV_ERROR, KV_ERROR_PARSE);
}

/* QEMU command line: a QEMU-named process carrying a deep -object. */
static void
test_deep_qemu_argv(void)
{
	g_autofree char *obj = nested("{\"qom-type\":\"memory-backend-ram\",\"id\":\"x\",\"a\":", "[", DEEP, "");
	const char *argv[] = { "qemu-system-x86_64", "-m", "1G", "-object", obj, NULL };
	g_autoptr(KvQemuInfo) qi = kv_qemu_parse_argv(argv);

	g_assert_cmpuint(qi->ram_bytes, ==, 1ull << 30);
	g_assert_cmpuint(qi->backends->len, ==, 0);
}

static void
test_deep_qmp(void)
{
	g_autofree char *reply = nested("{\"return\":", "[", DEEP, "");
	g_autoptr(GError) err = NULL;

	g_assert_null(kv_qmp_parse_memdevs(reply, &err));
	g_assert_nonnull(err);
}

static void
test_deep_event_line(void)
{
	g_autofree char *line = nested("", "[", DEEP, "");
	g_autoptr(GError) err = NULL;

	g_assert_null(kv_event_from_json_line(line, strlen(line), &err));
	g_assert_error(err, KV_EVENT_ERROR, KV_EVENT_ERROR_JSON);
}

static void
test_deep_registry(void)
{
	g_autofree char *doc = nested("{\"schema\":\"ksmvirt-registry/1\",\"guests\":", "[", DEEP, "");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvRegistry) r = kv_registry_from_json(doc, strlen(doc), &err);

	g_assert_null(r);
	g_assert_nonnull(err);
}

static void
test_deep_history(void)
{
	g_autofree char *deep = nested("{\"schema\":\"ksmvirt-history/1\",\"x\":", "[", DEEP, "");
	g_autofree char *buf = g_strconcat("{\"schema\":\"ksmvirt-history/1\",\"time\":1,\"pages_sharing\":2}\n",
					   deep, "\n", NULL);
	g_autoptr(GArray) pts = g_array_new(FALSE, TRUE, sizeof(KvHistoryPoint));

	g_assert_cmpuint(kv_history_parse(buf, pts), ==, 1);
	g_assert_cmpuint(pts->len, ==, 1);
}

static void
test_deep_inspection(void)
{
	g_autofree char *deep = nested("{\"type\":", "[", DEEP, "");
	g_autofree char *status = nested("{\"inspection\":", "[", DEEP, "");
	g_autoptr(GError) err = NULL;
	g_autofree char *text = NULL;

	g_assert_null(kv_os_info_from_json(deep, &err));
	g_assert_nonnull(err);
	g_clear_error(&err);
	text = kv_inspect_status_render_text(status);
	g_assert_cmpstr(text, ==, "");
	g_assert_null(kv_status_render_text(status, &err));
	g_assert_nonnull(err);
}

/* Files: the OS map, the inspection cache and the balancer's own state. */
static void
test_deep_files(void)
{
	g_autofree char *dir = g_dir_make_tmp("kv-json-XXXXXX", NULL);
	g_autofree char *osmap = g_build_filename(dir, "os.json", NULL);
	g_autofree char *cache = g_build_filename(dir, "cache.json", NULL);
	g_autofree char *deep = nested("{\"schema\":\"x\",\"guests\":", "[", DEEP, "");
	g_autoptr(GError) err = NULL;
	g_autoptr(GHashTable) map = NULL;
	g_autoptr(KvInspectCache) c = NULL;

	g_assert_true(g_file_set_contents(osmap, deep, -1, NULL));
	g_assert_true(g_file_set_contents(cache, deep, -1, NULL));
	map = kv_os_map_load(osmap, &err);
	g_assert_null(map);
	g_assert_nonnull(err);
	g_clear_error(&err);
	c = kv_inspect_cache_load(cache, &err);
	g_assert_null(c);
	g_assert_nonnull(err);
	g_unlink(osmap);
	g_unlink(cache);
	g_rmdir(dir);
}

/* json-glib's scanner takes C's octal escapes and lone surrogates and
 * hands out strings that are not UTF-8, which no writer can save and
 * read back (found by fuzz/fuzz-registry). */
static void
test_escapes(void)
{
	static const struct {
		const char *json;
		gboolean ok;
	} cases[] = {
		{ "[\"a\\n\\t\\\"\\\\\\/\\b\\f\\r\"]", TRUE },
		{ "[\"caf\\u00e9\"]", TRUE },
		{ "[\"\\u0041\\uFFFD\"]", TRUE },
		{ "[\"0a1b2\\301\"]", FALSE },
		{ "[\"\\x41\"]", FALSE },
		{ "[\"\\ud800\"]", FALSE },
		{ "[\"\\uDC00\"]", FALSE },
		{ "[\"be\\udddcarto\"]", FALSE },
		{ "[\"\\uDFFF\"]", FALSE },
		{ "[\"\\u12\"]", FALSE },
		{ "[\"\\u12G4\"]", FALSE },
		{ "[\"\\", FALSE },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) err = NULL;
		g_autoptr(JsonNode) n = kv_json_parse(cases[i].json, -1, 0, 0, &err);

		g_test_message("case %u: %s", i, cases[i].json);
		g_assert_cmpint(n != NULL, ==, cases[i].ok);
		if (n) {
			const char *s = json_array_get_string_element(json_node_get_array(n), 0);

			g_assert_true(g_utf8_validate(s, -1, NULL));
		}
	}
}

/* Members of the wrong type give the default, without a critical (which
 * the test harness makes fatal). */
static void
test_typed_members(void)
{
	g_autoptr(JsonNode) n = kv_json_parse("{\"b\": true, \"i\": 7, \"d\": 2.5, \"s\": \"x\", "
					      "\"o\": {}, \"a\": [], \"z\": null, \"big\": 1e300}",
					      -1, 0, 0, NULL);
	JsonObject *o = json_node_get_object(n);
	const char *names[] = { "b", "i", "d", "s", "o", "a", "z", "missing" };

	g_assert_true(kv_json_get_bool(o, "b", FALSE));
	g_assert_cmpint(kv_json_get_int(o, "i", -1), ==, 7);
	g_assert_cmpint(kv_json_get_int(o, "d", -1), ==, 2);
	g_assert_cmpint(kv_json_get_int(o, "big", -1), ==, -1);
	g_assert_cmpfloat(kv_json_get_double(o, "d", -1), ==, 2.5);
	g_assert_cmpfloat(kv_json_get_double(o, "i", -1), ==, 7);
	g_assert_cmpstr(kv_json_get_str(o, "s", NULL), ==, "x");
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (strcmp(names[i], "b"))
			g_assert_true(kv_json_get_bool(o, names[i], TRUE));
		if (strcmp(names[i], "i") && strcmp(names[i], "d") && strcmp(names[i], "big"))
			g_assert_cmpint(kv_json_get_int(o, names[i], -9), ==, -9);
		if (strcmp(names[i], "s"))
			g_assert_cmpstr(kv_json_get_str(o, names[i], "dflt"), ==, "dflt");
	}
	g_assert_true(kv_json_get_bool(NULL, "b", TRUE));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/json/depth-bound", test_depth_bound);
	g_test_add_func("/json/escapes", test_escapes);
	g_test_add_func("/json/typed-members", test_typed_members);
	g_test_add_func("/json/strings", test_strings);
	g_test_add_func("/json/size-cap", test_size_cap);
	g_test_add_func("/json/mutable", test_mutable);
	g_test_add_func("/json/deep-default", test_deep_default);
	g_test_add_func("/json/deep/qemu-argv", test_deep_qemu_argv);
	g_test_add_func("/json/deep/qmp", test_deep_qmp);
	g_test_add_func("/json/deep/event-line", test_deep_event_line);
	g_test_add_func("/json/deep/registry", test_deep_registry);
	g_test_add_func("/json/deep/history", test_deep_history);
	g_test_add_func("/json/deep/inspection", test_deep_inspection);
	g_test_add_func("/json/deep/files", test_deep_files);
	return g_test_run();
}
