/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-server.c: the control socket (see kv-server.h). */
#include "kv-server.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kv-file.h"

#define READ_CHUNK_BYTES 65536
#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE_MS 1000
/* File descriptors kept free for everything else the daemon opens. */
#define FD_RESERVE 64

/* Things that can happen often and are logged at most once per interval. */
typedef enum {
	EV_REFUSED,      /* over the connection cap */
	EV_ACCEPT_ERROR, /* accept() failed */
	EV_LINE_TOO_LONG,
	EV_IDLE,
	EV_COUNT
} EventKind;

typedef struct {
	gint64 last_us;   /* when this kind was last logged */
	guint64 unlogged; /* occurrences since */
	char *last;       /* the newest message not logged yet */
} RateLog;

struct _KvServer {
	char *path;
	GSocket *listener;
	GSource *accept_src;
	guint resume_id; /* accepting paused after an error */
	guint sweep_id;  /* idle timer, while clients exist */
	KvServerLimits lim;
	guint cap;      /* max_clients within the file limit */
	GList *clients; /* KvServerClient* */
	guint n_clients;
	KvServerRequestFunc on_request;
	KvServerLogFunc on_log;
	gpointer data;
	RateLog rl[EV_COUNT];
	guint flush_id; /* logs the counts a quiet period left over */
};

struct _KvServerClient {
	KvServer *srv;
	GList *link;
	GSocket *sock;
	GSource *src; /* G_IO_IN while reading, G_IO_OUT while writing */
	GByteArray *in;
	char *out;
	gsize out_len, out_done;
	gboolean waiting; /* the request is handed over, no answer yet */
	gint64 last_io_us;
};

static void srv_log(KvServer *srv, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
srv_log(KvServer *srv, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	if (!srv->on_log)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	srv->on_log(msg, srv->data);
}

static void
rate_flush(KvServer *srv, EventKind k, gint64 now)
{
	RateLog *r = &srv->rl[k];

	if (r->unlogged == 1)
		srv_log(srv, "%s", r->last);
	else if (r->unlogged > 1)
		srv_log(srv, "%s (%" G_GUINT64_FORMAT " times in %.0f s)", r->last, r->unlogged,
			(now - r->last_us) / 1e6);
	r->unlogged = 0;
	r->last_us = now;
	g_clear_pointer(&r->last, g_free);
}

static gboolean
on_flush(gpointer data)
{
	KvServer *srv = data;
	gint64 now = g_get_monotonic_time();

	srv->flush_id = 0;
	for (guint k = 0; k < EV_COUNT; k++)
		if (srv->rl[k].unlogged)
			rate_flush(srv, k, now);
	return G_SOURCE_REMOVE;
}

/* Logs MSG now, or counts it and logs a summary at the end of the interval. */
static void
rate_log(KvServer *srv, EventKind k, char *msg)
{
	RateLog *r = &srv->rl[k];
	gint64 now = g_get_monotonic_time();

	g_free(r->last);
	r->last = msg;
	r->unlogged++;
	if (r->last_us == 0 || now - r->last_us >= (gint64)KV_SERVER_LOG_INTERVAL_S * G_USEC_PER_SEC) {
		rate_flush(srv, k, now);
		return;
	}
	if (!srv->flush_id)
		srv->flush_id = g_timeout_add_seconds(KV_SERVER_LOG_INTERVAL_S, on_flush, srv);
}

static void client_close(KvServerClient *c);
static void sweep_update(KvServer *srv);

/* One best-effort line to a socket we are about to close. */
static void
send_refusal(GSocket *sock, const char *text)
{
	g_socket_send_with_blocking(sock, text, strlen(text), FALSE, NULL, NULL);
}

static void
client_close(KvServerClient *c)
{
	KvServer *srv = c->srv;

	if (c->src) {
		g_source_destroy(c->src);
		g_source_unref(c->src);
	}
	g_socket_close(c->sock, NULL);
	g_object_unref(c->sock);
	g_byte_array_unref(c->in);
	g_free(c->out);
	srv->clients = g_list_delete_link(srv->clients, c->link);
	srv->n_clients--;
	g_free(c);
	sweep_update(srv);
}

static gboolean on_client_io(GSocket *sock, GIOCondition cond, gpointer data);

/* Replaces the watch in *SRC by one for COND on SOCK calling FN (none when
 * COND is 0). */
static void
socket_watch(GSource **src, GSocket *sock, GIOCondition cond, GSocketSourceFunc fn, gpointer data)
{
	if (*src) {
		g_source_destroy(*src);
		g_source_unref(*src);
		*src = NULL;
	}
	if (!cond)
		return;
	*src = g_socket_create_source(sock, cond, NULL);
	g_source_set_callback(*src, (GSourceFunc)(void (*)(void))fn, data, NULL);
	g_source_attach(*src, NULL);
}

static void
client_watch(KvServerClient *c, GIOCondition cond)
{
	socket_watch(&c->src, c->sock, cond, on_client_io, c);
}

/* Writes what the socket takes now.  Returns FALSE once C is closed. */
static gboolean
client_write(KvServerClient *c)
{
	while (c->out_done < c->out_len) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_send_with_blocking(c->sock, c->out + c->out_done,
						       c->out_len - c->out_done, FALSE, NULL, &err);

		if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			if (!c->src)
				client_watch(c, G_IO_OUT);
			return TRUE;
		}
		if (n <= 0) {
			client_close(c); /* the peer went away */
			return FALSE;
		}
		c->out_done += (gsize)n;
		c->last_io_us = g_get_monotonic_time();
	}
	client_close(c);
	return FALSE;
}

void
kv_server_client_answer(KvServerClient *c, const char *text)
{
	gsize len = strlen(text);

	c->waiting = FALSE;
	c->last_io_us = g_get_monotonic_time();
	if (len > c->srv->lim.max_answer_bytes) {
		c->out = g_strdup_printf("error the answer is too large (%" G_GSIZE_FORMAT
					 " bytes, at most %" G_GSIZE_FORMAT ")\n",
					 len, c->srv->lim.max_answer_bytes);
		len = strlen(c->out);
	} else {
		c->out = g_strdup(text);
	}
	c->out_len = len;
	c->out_done = 0;
	client_watch(c, 0);
	sweep_update(c->srv);
	client_write(c);
}

/* Refuses C's request: TEXT is its answer; KIND and LOG go to the log. */
static void
client_refuse(KvServerClient *c, EventKind kind, const char *text, char *log)
{
	rate_log(c->srv, kind, log);
	kv_server_client_answer(c, text);
}

static void
client_request(KvServerClient *c, gsize line_len)
{
	c->in->data[line_len] = '\0';
	c->waiting = TRUE;
	client_watch(c, 0);
	sweep_update(c->srv);
	c->srv->on_request(c, (const char *)c->in->data, line_len, c->srv->data);
}

static gboolean
on_client_io(GSocket *sock, GIOCondition cond, gpointer data)
{
	KvServerClient *c = data;
	KvServer *srv = c->srv;
	gsize max = srv->lim.max_line_bytes;

	if (c->out) {
		client_write(c);
		return G_SOURCE_CONTINUE; /* client_watch() replaced or destroyed it */
	}
	for (;;) {
		g_autoptr(GError) err = NULL;
		gsize old = c->in->len;
		/* Never hold more than the bound plus one byte (to see it cut). */
		gsize want = MIN((gsize)READ_CHUNK_BYTES, max + 1 - old);
		const guint8 *nl;
		gssize n;

		g_byte_array_set_size(c->in, (guint)(old + want + 1));
		n = g_socket_receive_with_blocking(sock, (char *)c->in->data + old, want, FALSE, NULL, &err);
		g_byte_array_set_size(c->in, (guint)(old + MAX(n, 0)));
		if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
			return G_SOURCE_CONTINUE;
		if (n < 0) {
			client_close(c);
			return G_SOURCE_CONTINUE;
		}
		if (n == 0) {
			/* End of input: what came without a newline is the line. */
			if (c->in->len == 0) {
				client_close(c);
				return G_SOURCE_CONTINUE;
			}
			g_byte_array_set_size(c->in, c->in->len + 1);
			client_request(c, c->in->len - 1);
			return G_SOURCE_CONTINUE;
		}
		c->last_io_us = g_get_monotonic_time();
		nl = memchr(c->in->data + old, '\n', (gsize)n);
		if (nl && (gsize)(nl - c->in->data) <= max) {
			client_request(c, (gsize)(nl - c->in->data));
			return G_SOURCE_CONTINUE;
		}
		if (c->in->len > max) {
			g_autofree char *ans =
				g_strdup_printf("error line too long (more than %" G_GSIZE_FORMAT " bytes)\n",
						max);

			client_refuse(c, EV_LINE_TOO_LONG, ans,
				      g_strdup_printf("refused a request: line too long (more than %" G_GSIZE_FORMAT
						      " bytes)",
						      max));
			return G_SOURCE_CONTINUE;
		}
	}
}

static gboolean
on_sweep(gpointer data)
{
	KvServer *srv = data;
	gint64 now = g_get_monotonic_time();
	gint64 idle_us = (gint64)srv->lim.idle_timeout_ms * 1000;
	GList *l = srv->clients;

	while (l) {
		KvServerClient *c = l->data;

		l = l->next;
		if (c->waiting || now - c->last_io_us < idle_us)
			continue;
		if (c->out) {
			/* It does not read its answer: drop it. */
			rate_log(srv, EV_IDLE,
				 g_strdup_printf("closed a connection that did not read its answer "
						 "for %.1f s",
						 srv->lim.idle_timeout_ms / 1000.0));
			client_close(c);
			continue;
		}
		g_autofree char *ans =
			g_strdup_printf("error idle for %.1f s: closing\n", srv->lim.idle_timeout_ms / 1000.0);
		send_refusal(c->sock, ans);
		rate_log(srv, EV_IDLE,
			 g_strdup_printf("closed a connection idle for %.1f s",
					 srv->lim.idle_timeout_ms / 1000.0));
		client_close(c);
	}
	return G_SOURCE_CONTINUE;
}

/* The idle timer runs while some connection could time out. */
static void
sweep_update(KvServer *srv)
{
	gboolean need = FALSE;

	for (GList *l = srv->clients; l && !need; l = l->next)
		need = !((KvServerClient *)l->data)->waiting;
	if (need && !srv->sweep_id) {
		guint every_ms = CLAMP(srv->lim.idle_timeout_ms / 4, 50, 1000);

		srv->sweep_id = g_timeout_add(every_ms, on_sweep, srv);
	} else if (!need && srv->sweep_id) {
		g_source_remove(srv->sweep_id);
		srv->sweep_id = 0;
	}
}

static gboolean on_accept(GSocket *sock, GIOCondition cond, gpointer data);

static void
accept_watch(KvServer *srv, gboolean on)
{
	socket_watch(&srv->accept_src, srv->listener, on ? G_IO_IN : 0, on_accept, srv);
}

static gboolean
on_resume(gpointer data)
{
	KvServer *srv = data;

	srv->resume_id = 0;
	accept_watch(srv, TRUE);
	return G_SOURCE_REMOVE;
}

static gboolean
on_accept(GSocket *sock, GIOCondition cond, gpointer data)
{
	KvServer *srv = data;

	for (guint i = 0; i < ACCEPT_BATCH; i++) {
		g_autoptr(GError) err = NULL;
		GSocket *cs = g_socket_accept(sock, NULL, &err);
		KvServerClient *c;

		if (!cs) {
			if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				return G_SOURCE_CONTINUE;
			if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
				continue; /* ECONNABORTED: the peer gave up */
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM...: retrying at once
			 * would spin; pause. */
			rate_log(srv, EV_ACCEPT_ERROR,
				 g_strdup_printf("cannot accept a connection: %s; pausing for %d ms",
						 err->message, ACCEPT_PAUSE_MS));
			accept_watch(srv, FALSE);
			srv->resume_id = g_timeout_add(ACCEPT_PAUSE_MS, on_resume, srv);
			return G_SOURCE_CONTINUE;
		}
		g_socket_set_blocking(cs, FALSE);
		if (srv->n_clients >= srv->cap) {
			g_autofree char *ans =
				g_strdup_printf("error too many connections (%u): try again later\n", srv->cap);

			send_refusal(cs, ans);
			g_socket_close(cs, NULL);
			g_object_unref(cs);
			rate_log(srv, EV_REFUSED,
				 g_strdup_printf("refused a connection: too many connections (%u)", srv->cap));
			continue;
		}
		c = g_new0(KvServerClient, 1);
		c->srv = srv;
		c->sock = cs;
		c->in = g_byte_array_new();
		c->last_io_us = g_get_monotonic_time();
		srv->clients = g_list_prepend(srv->clients, c);
		c->link = srv->clients;
		srv->n_clients++;
		client_watch(c, G_IO_IN);
		sweep_update(srv);
	}
	return G_SOURCE_CONTINUE;
}

static guint
effective_cap(KvServer *srv)
{
	struct rlimit rl;
	guint cap = MAX(srv->lim.max_clients, 1u);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)cap + 2 * FD_RESERVE) {
		guint fit = rl.rlim_cur > 2 * FD_RESERVE ? (guint)(rl.rlim_cur - 2 * FD_RESERVE) : 1;

		srv_log(srv, "max-connections %u does not fit the open file limit %llu: serving %u", cap,
			(unsigned long long)rl.rlim_cur, fit);
		cap = fit;
	}
	return cap;
}

void
kv_server_set_limits(KvServer *srv, const KvServerLimits *limits)
{
	srv->lim = *limits;
	srv->lim.max_line_bytes = MAX(srv->lim.max_line_bytes, 64);
	srv->lim.idle_timeout_ms = MAX(srv->lim.idle_timeout_ms, 100);
	srv->cap = effective_cap(srv);
	if (srv->sweep_id) {
		g_source_remove(srv->sweep_id);
		srv->sweep_id = 0;
	}
	sweep_update(srv);
}

/* Prepares PATH for bind(): its directory safe, no live daemon there, a
 * stale socket removed. */
static gboolean
prepare_path(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG, "socket path %s is too long", path);
		return FALSE;
	}
	if (g_mkdir_with_parents(dir, 0755) < 0) {
		int err = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot create socket directory %s: %s", dir, g_strerror(err));
		return FALSE;
	}
	if (!kv_file_check_dir(dir, error)) {
		g_prefix_error(error, "unsafe socket directory: ");
		return FALSE;
	}
	if (lstat(path, &st) < 0)
		return TRUE;
	if (!S_ISSOCK(st.st_mode)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s exists and is not a socket", path);
		return FALSE;
	}
	{
		g_autoptr(GSocket) probe = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
							G_SOCKET_PROTOCOL_DEFAULT, NULL);
		g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);

		if (probe && g_socket_connect(probe, addr, NULL, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
				    "another ksmvirtd listens on %s", path);
			return FALSE;
		}
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		int err = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot remove stale socket %s: %s", path, g_strerror(err));
		return FALSE;
	}
	return TRUE;
}

KvServer *
kv_server_new(const char *path, const KvServerLimits *limits, KvServerRequestFunc on_request,
	      KvServerLogFunc on_log, gpointer data, GError **error)
{
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GError) err = NULL;
	KvServer *srv;
	mode_t old;
	gboolean bound;

	if (!prepare_path(path, error))
		return NULL;
	srv = g_new0(KvServer, 1);
	srv->path = g_strdup(path);
	srv->on_request = on_request;
	srv->on_log = on_log;
	srv->data = data;
	srv->listener =
		g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
	if (!srv->listener) {
		kv_server_free(srv);
		return NULL;
	}
	addr = g_unix_socket_address_new(path);
	/* The socket file is born 0600: no chmod after bind(), no moment
	 * in which another user could connect. */
	old = umask(0177);
	bound = g_socket_bind(srv->listener, addr, FALSE, &err);
	umask(old);
	g_socket_set_listen_backlog(srv->listener, 128);
	if (!bound || !g_socket_listen(srv->listener, &err)) {
		g_set_error(error, G_IO_ERROR, err->code, "cannot listen on %s: %s", path, err->message);
		if (bound)
			g_unlink(path);
		g_clear_pointer(&srv->path, g_free);
		kv_server_free(srv);
		return NULL;
	}
	g_socket_set_blocking(srv->listener, FALSE);
	kv_server_set_limits(srv, limits);
	accept_watch(srv, TRUE);
	return srv;
}

guint
kv_server_n_clients(const KvServer *srv)
{
	return srv->n_clients;
}

void
kv_server_free(KvServer *srv)
{
	if (!srv)
		return;
	while (srv->clients)
		client_close(srv->clients->data);
	if (srv->flush_id)
		g_source_remove(srv->flush_id);
	on_flush(srv);
	accept_watch(srv, FALSE);
	if (srv->resume_id)
		g_source_remove(srv->resume_id);
	if (srv->sweep_id)
		g_source_remove(srv->sweep_id);
	if (srv->listener) {
		g_socket_close(srv->listener, NULL);
		g_object_unref(srv->listener);
	}
	if (srv->path)
		g_unlink(srv->path);
	for (guint k = 0; k < EV_COUNT; k++)
		g_free(srv->rl[k].last);
	g_free(srv->path);
	g_free(srv);
}
