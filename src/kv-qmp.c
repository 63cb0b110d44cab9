/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-qmp.c: a minimal, bounded QMP client and the query-memdev parser. */
#include "kv-qmp.h"
#include "kv-qemu.h"
#include "kv-json.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <poll.h>
#include <string.h>

/* read_line() takes up to this much; query-memdev nests three levels. */
#define KV_QMP_REPLY_MAX_BYTES (8u << 20)
#define KV_QMP_JSON_MAX_DEPTH 16u
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void
kv_qmp_memdev_free(KvQmpMemdev *m)
{
	if (!m)
		return;
	g_free(m->id);
	g_free(m);
}

static guint64
member_size(JsonObject *o, const char *name, gboolean *have)
{
	JsonNode *n = json_object_get_member(o, name);

	*have = n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64;
	return *have ? (guint64)json_node_get_int(n) : 0;
}

GPtrArray *
kv_qmp_parse_memdevs(const char *reply, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)kv_qmp_memdev_free);
	g_autoptr(JsonNode)
		root = kv_json_parse(reply, -1, KV_QMP_REPLY_MAX_BYTES, KV_QMP_JSON_MAX_DEPTH, error);
	JsonNode *ret;
	JsonArray *arr;

	if (!root)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(root) ||
	    !(ret = json_object_get_member(json_node_get_object(root), "return")) ||
	    !JSON_NODE_HOLDS_ARRAY(ret)) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "query-memdev: no \"return\" array in reply");
		return NULL;
	}
	arr = json_node_get_array(ret);
	for (guint i = 0; i < json_array_get_length(arr); i++) {
		JsonNode *e = json_array_get_element(arr, i);
		JsonObject *o;
		KvQmpMemdev *m;
		gboolean have;

		if (!JSON_NODE_HOLDS_OBJECT(e))
			continue;
		o = json_node_get_object(e);
		m = g_new0(KvQmpMemdev, 1);
		m->id = g_strdup(kv_json_get_str(o, "id", ""));
		m->size_bytes = member_size(o, "size", &have);
		m->merge = kv_json_get_bool(o, "merge", FALSE);
		if (json_object_has_member(o, "ksm-mergeable")) {
			m->have_mergeable = TRUE;
			m->mergeable = kv_json_get_bool(o, "ksm-mergeable", FALSE);
		}
		m->merged_bytes = member_size(o, "ksm-merged-size", &m->have_merged);
		m->swapped_bytes = member_size(o, "swapped-size", &m->have_swapped);
		g_ptr_array_add(out, m);
	}
	return g_steal_pointer(&out);
}

GStrv
kv_qmp_sockets_from_argv(const char *const *argv)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 1; argv && argv[0] && argv[i] && argv[i + 1]; i++) {
		g_autoptr(GHashTable) kv = NULL;
		const char *v;

		if (strcmp(argv[i], "-qmp") != 0 && strcmp(argv[i], "--qmp") != 0)
			continue;
		if (!g_str_has_prefix(argv[i + 1], "unix:"))
			continue;
		kv = kv_qemu_keyval_parse(argv[i + 1] + 5, "path");
		v = g_hash_table_lookup(kv, "path");
		if (v && *v)
			g_ptr_array_add(out, g_strdup(v));
	}
	g_ptr_array_add(out, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

/* Reads one line (up to '\n') into LINE within DEADLINE (monotonic us). */
static gboolean
read_line(int fd, GString *pending, char **line, gint64 deadline, GError **error)
{
	for (;;) {
		char *nl = memchr(pending->str, '\n', pending->len);
		char chunk[4096];
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
		ssize_t n;

		if (nl) {
			*line = g_strndup(pending->str, (gsize)(nl - pending->str));
			g_string_erase(pending, 0, nl - pending->str + 1);
			return TRUE;
		}
		if (pending->len > KV_QMP_REPLY_MAX_BYTES) {
			g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "QMP reply too long");
			return FALSE;
		}
		if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) <= 0) {
			g_set_error(error, KV_ERROR, KV_ERROR_IO, "QMP: no answer in time");
			return FALSE;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, KV_ERROR, KV_ERROR_IO, "QMP: connection closed");
			return FALSE;
		}
		g_string_append_len(pending, chunk, n);
	}
}

static gboolean
send_all(int fd, const char *s, GError **error)
{
	gsize len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kv_set_error_errno(error, errno, "QMP send");
			return FALSE;
		}
		off += (gsize)n;
	}
	return TRUE;
}

/* Reads lines until one that is not an asynchronous event. */
static char *
read_reply(int fd, GString *pending, gint64 deadline, GError **error)
{
	for (;;) {
		char *line = NULL;

		if (!read_line(fd, pending, &line, deadline, error))
			return NULL;
		if (strstr(line, "\"event\"") && !strstr(line, "\"return\""))
			g_free(line);
		else
			return line;
	}
}

char *
kv_qmp_query(const KvCtx *ctx, const char *path, const char *command, guint timeout_ms, GError **error)
{
	g_autofree char *full = kv_ctx_path(ctx, path);
	g_autoptr(GString) pending = g_string_new(NULL);
	g_autofree char *greeting = NULL, *caps = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	char *reply = NULL;
	g_autofree char *cmd = g_strconcat(command, "\n", NULL);
	int fd;

	if (strlen(full) >= sizeof(sa.sun_path)) {
		g_set_error(error, KV_ERROR, KV_ERROR_FAILED, "%s: socket path too long", full);
		return NULL;
	}
	strcpy(sa.sun_path, full);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		kv_set_error_errno(error, errno, "socket");
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		kv_set_error_errno(error, errno, full);
		close(fd);
		return NULL;
	}
	if ((greeting = read_reply(fd, pending, deadline, error)) && strstr(greeting, "\"QMP\"") &&
	    send_all(fd, "{\"execute\":\"qmp_capabilities\"}\n", error) &&
	    (caps = read_reply(fd, pending, deadline, error)) && strstr(caps, "\"return\"") &&
	    send_all(fd, cmd, error))
		reply = read_reply(fd, pending, deadline, error);
	else if (error && !*error)
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "%s: not a QMP server", full);
	close(fd);
	return reply;
}
