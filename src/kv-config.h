/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-config.h: ksmvirtd.conf (GKeyFile), every key documented in
 * ksmvirtd.conf(5).  A missing file means every default. */
#pragma once

#include <glib.h>

#include "kv-policy.h"

G_BEGIN_DECLS

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define KV_CONFIG_DEFAULT_PATH SYSCONFDIR "/ksmvirt/ksmvirtd.conf"

/* kv_config_parse: sets CFG to the defaults, then applies DATA (key file
 * text).  Unknown groups and keys are listed in WARNINGS (char*; may be
 * NULL).  Returns FALSE with ERROR on syntax errors and bad values, leaving
 * CFG at the defaults. */
gboolean kv_config_parse(const char *data, gsize len, KvConfig *cfg, GPtrArray *warnings,
			 GError **error);

/* The configuration file is read up to this size; a larger one is an error. */
#define KV_CONFIG_MAX_BYTES (1u << 20)

/* kv_config_load: kv_config_parse() of the file at PATH (symlinks
 * followed, read without blocking, at most KV_CONFIG_MAX_BYTES).  A missing
 * file gives the defaults and returns TRUE. */
gboolean kv_config_load(const char *path, KvConfig *cfg, GPtrArray *warnings, GError **error);

/* kv_config_reload: kv_config_load() for a running daemon: a missing file is
 * an error (G_FILE_ERROR_NOENT) like a broken one, so the caller keeps its
 * running configuration rather than falling back to the defaults. */
gboolean kv_config_reload(const char *path, KvConfig *cfg, GPtrArray *warnings, GError **error);

/* kv_config_guest_selected: TRUE when guest NAME matches the guests key
 * (every guest when it is empty). */
gboolean kv_config_guest_selected(const KvConfig *cfg, const char *name);

/* kv_config_to_string: the effective configuration as key file text. */
char *kv_config_to_string(const KvConfig *cfg);

G_END_DECLS
