/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-server: ksmvirtd's control socket, a Unix stream socket on which each
 * connection carries one request line and gets one answer, then is closed.
 *
 * Everything runs in the thread-default GMainContext; nothing blocks:
 *   - the socket is bound under umask 0177, so it is born with mode 0600
 *     (no window with a wider mode), in a directory that must belong to
 *     the effective user and be writable by nobody else (kv-file.h);
 *   - at most max_clients connections are served at once; a connection
 *     over the cap gets "error too many connections ..." and is closed;
 *   - a request line is read in pieces and cut at max_line_bytes ("error
 *     line too long ..."), so no input makes the daemon buffer more;
 *   - answers are written without blocking, at most max_answer_bytes per
 *     client: a client that does not read holds its own buffer, never the
 *     main loop;
 *   - a connection that moves no byte for idle_timeout_ms is answered
 *     "error idle ..." (when it has not asked yet) and closed;
 *   - accept errors (EMFILE, ENFILE, ENOMEM...) pause accepting for a
 *     second; refusals and errors are reported through the log callback at
 *     most once per KV_SERVER_LOG_INTERVAL_S each kind, with counts.
 * The library does not log by itself: it calls the log function.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KV_SERVER_LOG_INTERVAL_S 10

typedef struct {
	guint max_clients;      /* connections served at once */
	guint idle_timeout_ms;  /* no byte moved for this long: closed */
	gsize max_line_bytes;   /* longest request line */
	gsize max_answer_bytes; /* longest answer buffered for one client */
} KvServerLimits;

typedef struct _KvServer KvServer;
typedef struct _KvServerClient KvServerClient;

/* A complete request: LINE (LEN bytes without the newline, NUL-terminated,
 * borrowed) from CLIENT.  The callee answers exactly once with
 * kv_server_client_answer(), now or later (the client waits meanwhile and
 * is not timed out while it waits). */
typedef void (*KvServerRequestFunc)(KvServerClient *client, const char *line, gsize len, gpointer data);
/* A message for the daemon's log. */
typedef void (*KvServerLogFunc)(const char *msg, gpointer data);

/* kv_server_new: listens on PATH (see above: the directory is created
 * when missing, then checked; a stale socket is replaced, a live daemon or
 * a file that is not a socket is not).  Returns NULL with ERROR set. */
KvServer *kv_server_new(const char *path, const KvServerLimits *limits, KvServerRequestFunc on_request,
			KvServerLogFunc on_log, gpointer data, GError **error);

/* kv_server_set_limits: new limits for new connections and requests. */
void kv_server_set_limits(KvServer *srv, const KvServerLimits *limits);

/* kv_server_client_answer: queue TEXT (the whole answer, with its newline)
 * for CLIENT and close the connection once it is written.  An answer
 * longer than max_answer_bytes is replaced by an error line. */
void kv_server_client_answer(KvServerClient *client, const char *text);

/* kv_server_n_clients: connections open now. */
guint kv_server_n_clients(const KvServer *srv);

/* kv_server_free: closes every connection (waiting ones unanswered),
 * stops listening and removes the socket file. */
void kv_server_free(KvServer *srv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvServer, kv_server_free)

G_END_DECLS
