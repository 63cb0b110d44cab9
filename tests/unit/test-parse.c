/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: number parsing and keyed lines. */
#include "kv-parse.h"

#include <string.h>

static void
test_u64(void)
{
	static const struct {
		const char *in;
		gboolean ok;
		guint64 want;
	} cases[] = {
		{ "0", TRUE, 0 },
		{ "42\n", TRUE, 42 },
		{ "  7 kB", TRUE, 7 },
		{ "18446744073709551615", TRUE, G_MAXUINT64 },
		{ "18446744073709551616", FALSE, 0 },
		{ "99999999999999999999", FALSE, 0 },
		{ "", FALSE, 0 },
		{ "abc", FALSE, 0 },
		{ "-1", FALSE, 0 },
		{ "+1", FALSE, 0 },
		{ "12abc", FALSE, 0 },
		{ "0x10", FALSE, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint64 v = 12345;
		gboolean ok = kv_parse_u64(cases[i].in, &v, NULL);

		g_test_message("u64 case %u: '%s'", i, cases[i].in);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (ok)
			g_assert_cmpuint(v, ==, cases[i].want);
	}
	g_assert_false(kv_parse_u64(NULL, NULL, NULL));
}

static void
test_i64(void)
{
	static const struct {
		const char *in;
		gboolean ok;
		gint64 want;
	} cases[] = {
		{ "-5", TRUE, -5 },
		{ "9223372036854775807", TRUE, G_MAXINT64 },
		{ "-9223372036854775808", TRUE, G_MININT64 },
		{ "9223372036854775808", FALSE, 0 },
		{ "-9223372036854775809", FALSE, 0 },
		{ "--1", FALSE, 0 },
		{ "-", FALSE, 0 },
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		gint64 v = 0;
		gboolean ok = kv_parse_i64(cases[i].in, &v, NULL);

		g_test_message("i64 case %u: '%s'", i, cases[i].in);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (ok)
			g_assert_cmpint(v, ==, cases[i].want);
	}
}

static void
test_hex_and_size(void)
{
	guint64 v;
	static const struct {
		const char *in;
		char def;
		gboolean ok;
		guint64 want;
	} sizes[] = {
		{ "512", 'M', TRUE, 512ull << 20 }, { "512M", 'B', TRUE, 512ull << 20 },
		{ "1G", 'M', TRUE, 1ull << 30 },    { "1048576k", 'M', TRUE, 1ull << 30 },
		{ "262144", 'B', TRUE, 262144 },    { "4096B", 'M', TRUE, 4096 },
		{ "1MiB", 'B', TRUE, 1ull << 20 },  { "16E", 'M', FALSE, 0 },
		{ "lots", 'M', FALSE, 0 },          { "-1", 'B', FALSE, 0 },
		{ "99999999999G", 'M', FALSE, 0 },
	};

	g_assert_true(kv_parse_hex_u64("8000000\n", &v));
	g_assert_cmpuint(v, ==, 0x8000000);
	g_assert_true(kv_parse_hex_u64("0x7ff5b2ba6000", &v));
	g_assert_cmpuint(v, ==, 0x7ff5b2ba6000);
	g_assert_false(kv_parse_hex_u64("xyz", &v));
	g_assert_false(kv_parse_hex_u64("11112222333344445", &v));
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_test_message("size case %u: '%s'", i, sizes[i].in);
		g_assert_cmpint(kv_parse_size(sizes[i].in, sizes[i].def, &v), ==, sizes[i].ok);
		if (sizes[i].ok)
			g_assert_cmpuint(v, ==, sizes[i].want);
	}
}

typedef struct {
	guint64 a, b;
} Two;

static void
test_keyed_lines(void)
{
	static const KvField fields[] = {
		{ "Alpha", G_STRUCT_OFFSET(Two, a), 0 },
		{ "beta", G_STRUCT_OFFSET(Two, b), 1 },
	};
	Two t = { 0, 0 };
	guint64 have = 0;

	g_assert_cmpuint(kv_parse_keyed_lines("Alpha:   12 kB\nAlphaX: 3\nbeta 7\n", fields, 2, &t, &have),
			 ==, 2);
	g_assert_cmpuint(t.a, ==, 12);
	g_assert_cmpuint(t.b, ==, 7);
	g_assert_cmpuint(have, ==, 3);
	have = 0;
	memset(&t, 0, sizeof(t));
	g_assert_cmpuint(kv_parse_keyed_lines("Alpha: x\nbeta", fields, 2, &t, &have), ==, 0);
	g_assert_cmpuint(have, ==, 0);
	/* Truncated last line without a newline still parses. */
	g_assert_cmpuint(kv_parse_keyed_lines("beta 9", fields, 2, &t, &have), ==, 1);
	g_assert_cmpuint(t.b, ==, 9);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/parse/u64", test_u64);
	g_test_add_func("/parse/i64", test_i64);
	g_test_add_func("/parse/hex-size", test_hex_and_size);
	g_test_add_func("/parse/keyed-lines", test_keyed_lines);
	return g_test_run();
}
