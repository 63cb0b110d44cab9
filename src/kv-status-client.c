/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-status-client.c: the control socket client of ksmvirt status (see
 * kv-status-client.h). */
#include "kv-status-client.h"

#include <string.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "kv-ctx.h"

char *
kv_status_query(const char *socket_path, GError **error)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) err = NULL;
	GOutputStream *out;
	GInputStream *in;
	GString *buf;
	char chunk[8192];
	gssize n;

	g_socket_client_set_timeout(client, 10);
	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &err);
	if (!conn) {
		g_set_error(error, KV_ERROR,
			    g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
					    g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
				    ? KV_ERROR_NOT_FOUND
				    : KV_ERROR_IO,
			    "ksmvirtd is not reachable on %s: %s", socket_path, err->message);
		return NULL;
	}
	out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
	if (!g_output_stream_write_all(out, KV_STATUS_REQUEST "\n", strlen(KV_STATUS_REQUEST) + 1, NULL, NULL,
				       &err)) {
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "%s: %s", socket_path, err->message);
		return NULL;
	}
	buf = g_string_new(NULL);
	while ((n = g_input_stream_read(in, chunk, sizeof(chunk), NULL, &err)) > 0)
		g_string_append_len(buf, chunk, n);
	if (n < 0) {
		g_string_free(buf, TRUE);
		g_set_error(error, KV_ERROR, KV_ERROR_IO, "%s: %s", socket_path, err->message);
		return NULL;
	}
	if (g_str_has_prefix(buf->str, "error ")) {
		g_set_error(error, KV_ERROR, KV_ERROR_FAILED, "ksmvirtd: %s", g_strstrip(buf->str + 6));
		g_string_free(buf, TRUE);
		return NULL;
	}
	return g_string_free(buf, FALSE);
}
