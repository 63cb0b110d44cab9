/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the configuration's owned strings (lock-file, cache,
 * guests): any length up to the bound, copied, cleared, read back. */
#include "kv-config.h"

#include <limits.h>
#include <string.h>

/* "[GROUP]\nKEY = VALUE\n" with VALUE a path of LEN bytes. */
static char *
long_path_conf(const char *group, const char *key, gsize len)
{
	g_autofree char *tail = g_strnfill(len - 1, 'p');

	return g_strdup_printf("[%s]\n%s = /%s\n", group, key, tail);
}

/* A path is not cut at any buffer: 300 bytes load and read back; a path
 * of PATH_MAX bytes cannot be opened, so it is refused. */
static void
test_long_strings(void)
{
	static const struct {
		const char *group, *key;
		gsize offset;
	} keys[] = {
		{ "ksm", "lock-file", G_STRUCT_OFFSET(KvConfig, ksm_lock_file) },
		{ "inspect", "cache", G_STRUCT_OFFSET(KvConfig, inspect_cache_file) },
	};

	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autofree char *text = long_path_conf(keys[i].group, keys[i].key, 300);
		g_autofree char *too_long = long_path_conf(keys[i].group, keys[i].key, PATH_MAX);
		g_autofree char *printed = NULL;
		g_auto(KvConfig) cfg = { 0 };
		g_auto(KvConfig) again = { 0 };
		g_autoptr(GError) err = NULL;
		const char *value;

		g_test_message("key [%s] %s", keys[i].group, keys[i].key);
		g_assert_true(kv_config_parse(text, strlen(text), &cfg, NULL, &err));
		g_assert_no_error(err);
		value = G_STRUCT_MEMBER(const char *, &cfg, keys[i].offset);
		g_assert_cmpuint(strlen(value), ==, 300);
		g_assert_nonnull(strstr(text, value));
		printed = kv_config_to_string(&cfg);
		g_assert_nonnull(strstr(printed, value));
		g_assert_true(kv_config_parse(printed, strlen(printed), &again, NULL, NULL));
		g_assert_cmpstr(G_STRUCT_MEMBER(const char *, &again, keys[i].offset), ==, value);

		kv_config_clear(&cfg);
		g_assert_false(kv_config_parse(too_long, strlen(too_long), &cfg, NULL, &err));
		g_assert_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
		/* Refused: the defaults stay. */
		g_assert_cmpstr(cfg.inspect_cache_file, ==, "");
	}
	{
		g_autofree char *globs = g_strnfill(1000, '?');
		g_autofree char *text = g_strdup_printf("[daemon]\nguests = x%s web-*\n", globs);
		g_auto(KvConfig) cfg = { 0 };

		g_assert_true(kv_config_parse(text, strlen(text), &cfg, NULL, NULL));
		g_assert_cmpuint(strlen(cfg.guests), ==, 1007);
		g_assert_true(kv_config_guest_selected(&cfg, "web-1"));
		g_assert_false(kv_config_guest_selected(&cfg, "db-1"));
	}
}

/* Defaults: the strings are set, never NULL. */
static void
test_defaults(void)
{
	g_auto(KvConfig) cfg = { 0 };

	kv_config_defaults(&cfg);
	g_assert_cmpstr(cfg.guests, ==, "");
	g_assert_cmpstr(cfg.inspect_cache_file, ==, "");
	g_assert_nonnull(cfg.ksm_lock_file);
	g_assert_true(g_str_has_suffix(cfg.ksm_lock_file, "/ksmvirt-ksm.lock"));
	g_assert_true(kv_config_guest_selected(&cfg, "any"));
}

/* A copy owns its strings: it outlives its source and a second copy over
 * it frees the first (AddressSanitizer and LeakSanitizer see any slip). */
static void
test_copy_clear(void)
{
	const char *t = "[daemon]\nguests = web-*\n[ksm]\nlock-file = /run/a.lock\n"
			"[inspect]\ncache = /var/c.json\n";
	g_auto(KvConfig) copy = { 0 };
	KvConfig src = { 0 };

	g_assert_true(kv_config_parse(t, strlen(t), &src, NULL, NULL));
	kv_config_copy(&copy, &src);
	kv_config_copy(&copy, &src);
	g_assert_true(copy.guests != src.guests);
	kv_config_clear(&src);
	g_assert_null(src.guests);
	kv_config_clear(&src); /* cleared twice: nothing happens */
	g_assert_cmpstr(copy.guests, ==, "web-*");
	g_assert_cmpstr(copy.ksm_lock_file, ==, "/run/a.lock");
	g_assert_cmpstr(copy.inspect_cache_file, ==, "/var/c.json");
	g_assert_false(kv_config_guest_selected(&copy, "db"));
}

/* Guest patterns go to g_pattern_match_simple, which asserts (and so
 * aborts ksmvirtd) on a pattern or a name that is not UTF-8 (found by
 * fuzz/fuzz-config): such a pattern is refused when the file is read,
 * and such a name is matched as its valid form, never aborting. */
static void
test_guests_not_utf8(void)
{
	static const char conf[] = "[daemon]\nguests = \x0c\xc0*\x08\xe6 \n";
	g_auto(KvConfig) cfg = { 0 };
	g_auto(KvConfig) tail = { 0 };
	g_autoptr(GError) err = NULL;

	g_assert_false(kv_config_parse(conf, sizeof(conf) - 1, &cfg, NULL, &err));
	g_assert_nonnull(err);
	g_clear_error(&err);
	g_assert_true(kv_config_parse("[daemon]\nguests = *-1\n", strlen("[daemon]\nguests = *-1\n"), &tail,
				      NULL, &err));
	g_assert_no_error(err);
	g_assert_true(kv_config_guest_selected(&tail, "web-1"));
	g_assert_false(kv_config_guest_selected(&tail, "web\xff-2"));
	g_assert_true(kv_config_guest_selected(&tail, "web\xff-1"));
}

/* [isolation]: the keys, their defaults, and bad values refused. */
static void
test_isolation(void)
{
	static const char good[] = "[isolation]\nby = guest\nfallback = warn\nmerging-group = gold\n"
				   "owner-namespace = http://acme.example/\nowner-path = tenant/id\n";
	static const char *const bad[] = { "[isolation]\nby = tenant\n", "[isolation]\nfallback = loose\n" };
	g_auto(KvConfig) cfg = { 0 };
	g_auto(KvConfig) copy = { 0 };
	g_autofree char *text = NULL;

	kv_config_defaults(&cfg);
	g_assert_cmpint(cfg.isolation_by, ==, KV_ISOLATION_BY_OWNER);
	g_assert_cmpint(cfg.isolation_fallback, ==, KV_ISOLATION_STRICT);
	g_assert_cmpstr(cfg.merging_group, ==, "");
	g_assert_cmpstr(cfg.owner_namespace, ==, KV_OWNER_NAMESPACE_NOVA);
	g_assert_cmpstr(cfg.owner_path, ==, KV_OWNER_PATH_NOVA);
	kv_config_clear(&cfg);
	g_assert_true(kv_config_parse(good, strlen(good), &cfg, NULL, NULL));
	g_assert_cmpint(cfg.isolation_by, ==, KV_ISOLATION_BY_GUEST);
	g_assert_cmpint(cfg.isolation_fallback, ==, KV_ISOLATION_WARN);
	g_assert_cmpstr(cfg.merging_group, ==, "gold");
	kv_config_copy(&copy, &cfg);
	g_assert_cmpstr(copy.owner_path, ==, "tenant/id");
	text = kv_config_to_string(&cfg);
	g_assert_nonnull(strstr(text, "[isolation]\nby = guest\nfallback = warn\nmerging-group = gold\n"));
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		g_auto(KvConfig) c = { 0 };

		g_assert_false(kv_config_parse(bad[i], strlen(bad[i]), &c, NULL, &err));
		g_assert_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/long-strings", test_long_strings);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/isolation", test_isolation);
	g_test_add_func("/config/copy-clear", test_copy_clear);
	g_test_add_func("/config/guests-not-utf8", test_guests_not_utf8);
	return g_test_run();
}
