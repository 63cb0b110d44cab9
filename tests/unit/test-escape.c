/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: escaping outside strings for the terminal, HTML, JSON and
 * Prometheus. */
#include "kv-escape.h"

#include <string.h>

typedef char *(*EscapeFn)(const char *);

typedef struct {
	const char *in, *want;
} Case;

static void
run_cases(const char *what, EscapeFn fn, const Case *cases, guint n)
{
	for (guint i = 0; i < n; i++) {
		g_autofree char *got = fn(cases[i].in);

		g_test_message("%s case %u", what, i);
		g_assert_true(g_utf8_validate(got, -1, NULL));
		g_assert_cmpstr(got, ==, cases[i].want);
	}
}

static const Case term_cases[] = {
	{ NULL, "" },
	{ "", "" },
	{ "web-1", "web-1" },
	{ "db \"primary\",ü", "db \"primary\",ü" },
	{ "a\\b", "a\\\\b" },
	{ "\\x1b", "\\\\x1b" },
	{ "red\x1b[31mX", "red\\x1b[31mX" },
	{ "title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07" },
	{ "two\nlines\r\tx", "two\\nlines\\r\\tx" },
	{ "del\x7f", "del\\x7f" },
	{ "\x01\x1f", "\\x01\\x1f" },
	/* C1 CSI (U+009B) is a control in UTF-8 terminals too. */
	{ "c1\xc2\x9b"
	  "31m",
	  "c1\\u009b31m" },
	{ "\xc2\x85next", "\\u0085next" },
	{ "\xc2\xa0nbsp", "\xc2\xa0nbsp" },
	/* Right-to-left override and isolates. */
	{ "evil\xe2\x80\xae"
	  "fdp.exe",
	  "evil\\u202efdp.exe" },
	{ "\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069" },
	/* Invalid UTF-8: each byte shown. */
	{ "bad\xff", "bad\\xff" },
	{ "\xc3(", "\\xc3(" },
	{ "\xe2\x82", "\\xe2\\x82" },
	{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },          /* a UTF-16 surrogate */
	{ "\xc0\xaf", "\\xc0\\xaf" },                   /* overlong '/' */
	{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" }, /* beyond U+10FFFF */
	{ "日本語", "日本語" },
	{ "😀", "😀" },
	{ "<script>&'", "<script>&'" },
};

static void
test_term(void)
{
	run_cases("term", kv_escape_term, term_cases, G_N_ELEMENTS(term_cases));
}

static const Case html_cases[] = {
	{ NULL, "" },
	{ "web-1", "web-1" },
	{ "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;" },
	{ "a&b", "a&amp;b" },
	{ "\"q\" 'a'", "&quot;q&quot; &#39;a&#39;" },
	{ "\" onload=\"x", "&quot; onload=&quot;x" },
	{ "esc\x1b[31m", "esc\\x1b[31m" },
	{ "nl\n", "nl\\n" },
	{ "a\\b", "a\\\\b" },
	{ "bad\xff<", "bad\\xff&lt;" },
	{ "ü", "ü" },
};

static void
test_html(void)
{
	run_cases("html", kv_escape_html, html_cases, G_N_ELEMENTS(html_cases));
}

static const Case html_pre_cases[] = {
	{ NULL, "" },
	{ "  NAME\n  a\\x1b <b>\n", "  NAME\n  a\\x1b &lt;b&gt;\n" },
	{ "tab\there", "tab\there" },
	{ "raw\x1b", "raw\\x1b" },
	{ "cr\r", "cr\\x0d" },
	{ "a\\\\b", "a\\\\b" },
	{ "bad\xfe", "bad\\xfe" },
	{ "&\"'", "&amp;&quot;&#39;" },
};

static void
test_html_pre(void)
{
	run_cases("html-pre", kv_escape_html_pre, html_pre_cases, G_N_ELEMENTS(html_pre_cases));
}

static const Case utf8_cases[] = {
	{ NULL, "" },
	{ "web-1", "web-1" },
	{ "esc\x1b\n\"\\", "esc\x1b\n\"\\" },
	{ "bad\xff", "bad\\xff" },
	{ "\xc3", "\\xc3" },
	{ "ü\xc3(", "ü\\xc3(" },
};

static void
test_utf8(void)
{
	run_cases("utf8", kv_escape_utf8, utf8_cases, G_N_ELEMENTS(utf8_cases));
}

static const Case json_text_cases[] = {
	{ "{\"name\":\"web-1\"}", "{\"name\":\"web-1\"}" },
	{ "{\"name\":\"a\\u001b\\\\\"}", "{\"name\":\"a\\u001b\\\\\"}" },
	{ "{\"name\":\"bad\xff\"}", "{\"name\":\"bad\\\\xff\"}" },
	{ "[\"\xc3\", \"ü\"]", "[\"\\\\xc3\", \"ü\"]" },
};

static void
test_json_text(void)
{
	run_cases("json-text", kv_escape_json_text, json_text_cases, G_N_ELEMENTS(json_text_cases));
}

static const Case prom_cases[] = {
	{ NULL, "" },
	{ "web-1", "web-1" },
	{ "a\\b", "a\\\\b" },
	{ "say \"hi\"", "say \\\"hi\\\"" },
	{ "two\nlines", "two\\nlines" },
	/* The format escapes nothing else: ESC and tab stay (valid UTF-8). */
	{ "esc\x1b\t", "esc\x1b\t" },
	/* Invalid UTF-8 is not allowed in a label value: \xNN, its
	 * backslash escaped like any other. */
	{ "bad\xff", "bad\\\\xff" },
	{ "ü", "ü" },
};

static void
test_prom(void)
{
	run_cases("prom", kv_escape_prom_label, prom_cases, G_N_ELEMENTS(prom_cases));
}

/* Every byte value alone and after a lead byte: the result is valid UTF-8
 * without raw controls (terminal) or markup characters (HTML). */
static void
test_all_bytes(void)
{
	for (guint a = 1; a < 256; a++) {
		for (guint b = 0; b < 256; b += (a >= 0xc0 ? 1 : 255)) {
			char in[3] = { (char)a, (char)b, 0 };
			g_autofree char *t = kv_escape_term(in);
			g_autofree char *h = kv_escape_html(in);
			g_autofree char *p = kv_escape_prom_label(in);

			g_assert_true(g_utf8_validate(t, -1, NULL));
			g_assert_true(g_utf8_validate(h, -1, NULL));
			g_assert_true(g_utf8_validate(p, -1, NULL));
			for (const char *c = t; *c; c = g_utf8_next_char(c)) {
				gunichar u = g_utf8_get_char(c);

				g_assert_false(u < 0x20 || (u >= 0x7f && u < 0xa0));
			}
			g_assert_null(strpbrk(h, "<>\"'"));
			g_assert_null(strchr(p, '\n'));
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/escape/term", test_term);
	g_test_add_func("/escape/html", test_html);
	g_test_add_func("/escape/html-pre", test_html_pre);
	g_test_add_func("/escape/utf8", test_utf8);
	g_test_add_func("/escape/json-text", test_json_text);
	g_test_add_func("/escape/prom", test_prom);
	g_test_add_func("/escape/all-bytes", test_all_bytes);
	return g_test_run();
}
