/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ksmvirt-hook: libvirt qemu hook that tells ksmvirtd about guests.
 *
 * Installed as /etc/libvirt/hooks/qemu.d/50-ksmvirt.  libvirt runs it as
 *
 *     50-ksmvirt OBJECT OP SUBOP EXTRA     (domain XML on stdin)
 *
 * for the operations prepare, start, started, stopped, release, migrate,
 * restore, reconnect and attach.  The hook parses the XML, sends one event
 * line to ksmvirtd over its Unix socket and waits briefly for the "ok"
 * acknowledgement.  When no daemon listens or it does not answer within
 * the budget, the event goes to the spool directory, which the daemon
 * replays when it starts.  For migrate and restore libvirt takes the hook's
 * output as the new domain XML: the hook copies its input there unchanged.
 *
 * libvirt waits for the hook before it goes on with the guest, so the hook
 * parses and passes the XML through, then forks: the parent exits at once
 * and the child, detached from libvirt's pipes, delivers the event (or
 * spools it) and logs to STATE_DIR/hook.log.
 *
 * The hook never talks to libvirt (libvirtd waits for the hook: that would
 * deadlock) and never fails a guest operation: it exits 0 whatever happens
 * to the event, and 2 only on a malformed invocation.
 *
 * Environment (for tests):
 *   KSMVIRT_SOCKET           daemon socket  [RUNSTATEDIR/ksmvirt/ksmvirtd.sock]
 *   KSMVIRT_STATE_DIR        spool is STATE_DIR/spool [LOCALSTATEDIR/lib/ksmvirt]
 *   KSMVIRT_HOOK_TIMEOUT_MS  budget for the socket exchange
 *                            [2000 in the background, 20 in the foreground]
 *   KSMVIRT_HOOK_FOREGROUND  when 1, deliver before exiting (no fork) and
 *                            report on stderr
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "kv-event.h"
#include "kv-spool.h"
#include "kv-paths.h"

#define DEFAULT_SOCKET KV_PATH_SOCKET
#define DEFAULT_STATE_DIR KV_PATH_STATE_DIR
/* Delivery budgets: in the foreground libvirt waits for us, in the
 * background (the default) only the daemon's own latency matters. */
#define FOREGROUND_TIMEOUT_MS 20
#define BACKGROUND_TIMEOUT_MS 2000
#define HOOK_LOG_MAX_BYTES (1 << 20)

static const char *prog = "ksmvirt-hook";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s OBJECT OP SUBOP EXTRA < DOMAIN-XML\n"
		"  a libvirt qemu hook: OP is prepare, start, started, stopped, release,\n"
		"  migrate, restore, reconnect or attach; see ksmvirt-hook(8)\n",
		prog);
}

/* Read all of fd.  Returns FALSE with errno set on a read error. */
static gboolean read_all(int fd, GByteArray *out)
{
	guint8 buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FALSE;
		}
		if (n == 0)
			return TRUE;
		g_byte_array_append(out, buf, (guint)n);
	}
}

static gboolean is_blank(const guint8 *buf, gsize len)
{
	for (gsize i = 0; i < len; i++)
		if (!g_ascii_isspace(buf[i]))
			return FALSE;
	return TRUE;
}

static gint64 remaining_ms(gint64 deadline_us)
{
	gint64 left = deadline_us - g_get_monotonic_time();
	return left <= 0 ? 0 : (left + 999) / 1000;
}

/* Wait for events on fd until the deadline.  Returns TRUE when ready. */
static gboolean wait_fd(int fd, short events, gint64 deadline_us)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		gint64 ms = remaining_ms(deadline_us);
		if (ms == 0)
			return FALSE;
		int r = poll(&p, 1, (int)ms);
		if (r > 0)
			return TRUE;
		if (r == 0)
			return FALSE;
		if (errno != EINTR)
			return FALSE;
	}
}

/* Connect to the daemon without blocking past the deadline.  Returns the
 * socket, or -1 with *why set. */
static int connect_daemon(const char *socket_path, gint64 deadline_us, gchar **why)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof sa.sun_path) {
		*why = g_strdup("socket path too long");
		return -1;
	}
	strcpy(sa.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = g_strdup_printf("socket: %s", g_strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return fd;
	int err = errno;
	if (err != EINPROGRESS && err != EAGAIN) {
		*why = g_strdup_printf("connect: %s", g_strerror(err));
		close(fd);
		return -1;
	}
	/* A Unix socket whose backlog is full: wait for room. */
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (!wait_fd(fd, POLLOUT, deadline_us)) {
		*why = g_strdup("connect timed out");
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
		*why = g_strdup_printf("connect: %s", g_strerror(soerr ? soerr : errno));
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* Send line and a newline, then read the daemon's one-line answer.
 * Returns TRUE when it starts with "ok"; otherwise FALSE with *why set. */
static gboolean exchange(int fd, const char *line, gint64 deadline_us, gchar **why)
{
	g_autofree gchar *msg = g_strconcat(line, "\n", NULL);
	gsize len = strlen(msg), done = 0;
	while (done < len) {
		ssize_t n = send(fd, msg + done, len - done, MSG_NOSIGNAL);
		if (n >= 0) {
			done += (gsize)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			*why = g_strdup_printf("send: %s", g_strerror(errno));
			return FALSE;
		}
		if (!wait_fd(fd, POLLOUT, deadline_us)) {
			*why = g_strdup("daemon does not read (timeout)");
			return FALSE;
		}
	}

	char ack[256];
	gsize got = 0;
	while (got < sizeof ack - 1) {
		ssize_t n = recv(fd, ack + got, sizeof ack - 1 - got, 0);
		if (n > 0) {
			got += (gsize)n;
			if (memchr(ack, '\n', got) != NULL)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			*why = g_strdup_printf("recv: %s", g_strerror(errno));
			return FALSE;
		}
		if (!wait_fd(fd, POLLIN, deadline_us)) {
			*why = g_strdup("daemon did not acknowledge (timeout)");
			return FALSE;
		}
	}
	ack[got] = '\0';
	if (strncmp(ack, "ok", 2) != 0) {
		*why = g_strdup_printf("daemon refused the event: %s",
				       got ? g_strchomp(ack) : "connection closed");
		return FALSE;
	}
	return TRUE;
}

/* Deliver line to the daemon and wait for its acknowledgement, all before
 * the deadline.  Returns TRUE when acknowledged; otherwise FALSE with *why
 * describing what went wrong. */
static gboolean send_event(const char *socket_path, const char *line,
			   gint64 deadline_us, gchar **why)
{
	int fd = connect_daemon(socket_path, deadline_us, why);
	if (fd < 0)
		return FALSE;
	gboolean ok = exchange(fd, line, deadline_us, why);
	close(fd);
	return ok;
}

static gint64 timeout_ms_from_env(gint64 fallback_ms)
{
	const char *s = g_getenv("KSMVIRT_HOOK_TIMEOUT_MS");
	guint64 v;
	if (s != NULL && g_ascii_string_to_unsigned(s, 10, 1, 60000, &v, NULL))
		return (gint64)v;
	return fallback_ms;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = g_getenv(name);
	return v != NULL && *v != '\0' ? v : fallback;
}

/* Send line to the daemon or else spool it; report on stderr.  Returns
 * TRUE unless the event is lost. */
static gboolean deliver(const KvEvent *ev, const char *line, const char *object,
			const char *op_name, gint64 timeout_ms, gboolean stamp)
{
	const char *socket_path = env_or("KSMVIRT_SOCKET", DEFAULT_SOCKET);
	const char *state_dir = env_or("KSMVIRT_STATE_DIR", DEFAULT_STATE_DIR);
	gint64 t0_us = g_get_monotonic_time();
	g_autofree gchar *why = NULL;
	if (send_event(socket_path, line, t0_us + timeout_ms * 1000, &why))
		return TRUE;

	g_autofree gchar *when = NULL;
	if (stamp) {
		g_autoptr(GDateTime) now = g_date_time_new_now_utc();
		when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ ");
	}
	g_autofree gchar *spool_dir = g_build_filename(state_dir, "spool", NULL);
	g_autofree gchar *path = NULL;
	g_autoptr(GError) err = NULL;
	if (kv_spool_write(spool_dir, line, ev->time_us, &path, &err)) {
		fprintf(stderr, "%s%s: %s %s: ksmvirtd at %s: %s; event spooled as %s (%.1f ms)\n",
			when ? when : "", prog, object, op_name, socket_path, why, path,
			(double)(g_get_monotonic_time() - t0_us) / 1000.0);
		return TRUE;
	}
	fprintf(stderr, "%s%s: %s %s: ksmvirtd at %s: %s; event LOST: %s\n",
		when ? when : "", prog, object, op_name, socket_path, why, err->message);
	return FALSE;
}

/*
 * Leave libvirt's critical path: fork a child that delivers the event while
 * the parent exits at once.  The child closes the pipes libvirt reads (it
 * waits for them to close) and logs to STATE_DIR/hook.log instead.
 * Returns 1 in the parent, 0 in the child, -1 when fork failed.
 */
static int detach(void)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid > 0 ? 1 : -1;
	setsid();
	const char *state_dir = env_or("KSMVIRT_STATE_DIR", DEFAULT_STATE_DIR);
	g_autofree gchar *log_path = g_build_filename(state_dir, "hook.log", NULL);
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	g_mkdir_with_parents(state_dir, 0755);
	int log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	struct stat st;
	/* Keep the log bounded: start over when it grew too large. */
	if (log_fd >= 0 && fstat(log_fd, &st) == 0 && st.st_size > HOOK_LOG_MAX_BYTES &&
	    ftruncate(log_fd, 0) < 0) {
		close(log_fd);
		log_fd = -1;
	}
	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
	}
	dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 5 || argv[1][0] == '\0' || argv[2][0] == '\0') {
		fprintf(stderr, "%s: malformed invocation (%d arguments, want 4)\n",
			prog, argc - 1);
		usage(stderr);
		return 2;
	}
	const char *object = argv[1], *op_name = argv[2];
	KvEventOp op = kv_event_op_from_string(op_name);

	g_autoptr(GByteArray) xml = g_byte_array_new();
	if (!read_all(STDIN_FILENO, xml))
		fprintf(stderr, "%s: %s %s: cannot read the domain XML: %s\n",
			prog, object, op_name, g_strerror(errno));

	/* libvirt uses what we print as the new XML: give it back unchanged
	 * before anything else can go wrong. */
	if (kv_event_op_passes_xml(op) && xml->len > 0 &&
	    !kv_write_all(STDOUT_FILENO, xml->data, xml->len))
		fprintf(stderr, "%s: %s %s: cannot pass the domain XML through: %s\n",
			prog, object, op_name, g_strerror(errno));

	if (op == KV_EVENT_OP_UNKNOWN) {
		fprintf(stderr, "%s: %s: ignoring unknown operation '%s'\n",
			prog, object, op_name);
		return 0;
	}

	g_autoptr(KvEvent) ev = kv_event_new(op, argv[3], argv[4]);
	ev->name = g_strdup(object);
	if (!is_blank(xml->data, xml->len)) {
		g_autoptr(GError) err = NULL;
		if (!kv_event_parse_domain_xml(ev, (const char *)xml->data, xml->len, &err))
			fprintf(stderr, "%s: %s %s: %s; sending the event without domain facts\n",
				prog, object, op_name, err->message);
		else if (ev->policy_error != NULL)
			fprintf(stderr, "%s: %s %s: %s\n", prog, object, op_name,
				ev->policy_error);
	}
	g_autofree gchar *line = kv_event_to_json_line(ev);

	const char *fg = g_getenv("KSMVIRT_HOOK_FOREGROUND");
	if (fg == NULL || *fg == '\0' || strcmp(fg, "0") == 0) {
		int r = detach();
		if (r == 1)
			return 0;
		if (r == 0) {
			deliver(ev, line, object, op_name,
				timeout_ms_from_env(BACKGROUND_TIMEOUT_MS), TRUE);
			_exit(0);
		}
		fprintf(stderr, "%s: %s %s: fork: %s; delivering in the foreground\n",
			prog, object, op_name, g_strerror(errno));
	}
	deliver(ev, line, object, op_name, timeout_ms_from_env(FOREGROUND_TIMEOUT_MS), FALSE);
	return 0;
}
