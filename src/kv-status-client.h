/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-status-client.h: asks a running ksmvirtd for its status document
 * over its control socket. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The request line the daemon answers with a status document. */
#define KV_STATUS_REQUEST "status"

/* kv_status_query: asks the daemon listening on SOCKET_PATH for its status
 * (the line "status" on its socket).  Returns the JSON document or NULL
 * with ERROR (KV_ERROR_NOT_FOUND when nothing listens). */
char *kv_status_query(const char *socket_path, GError **error);

G_END_DECLS
