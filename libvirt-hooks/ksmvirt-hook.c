/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ksmvirt-hook: libvirt qemu hook that tells ksmvirtd about guests.
 *
 * Installed as /etc/libvirt/hooks/qemu.d/50-ksmvirt.  libvirt runs it as
 *
 *     50-ksmvirt OBJECT OP SUBOP EXTRA     (domain XML on stdin)
 *
 * for the operations prepare, start, started, stopped, release, migrate,
 * restore, reconnect and attach, and waits for it before it goes on with
 * the guest.  So the hook only reads its standard input to the end (libvirt
 * cancels an incoming migration when that write fails), takes the next
 * number of the per-boot event sequence (kv-order.h) and forks: the parent
 * exits 0 at once, having printed nothing (for migrate and restore libvirt
 * takes the output as the new domain XML, and empty output means
 * "unchanged").  The child, detached from libvirt's pipes, parses the XML
 * (kv-xml.h: bounded, no entities), sends one event line to ksmvirtd over
 * its Unix socket and waits briefly for the "ok" acknowledgement; when no
 * daemon listens or it does not answer within the budget, the event goes
 * to the spool directory, which the daemon replays.  The child logs to
 * STATE_DIR/hook.log (never through a symlink, rotated past 1 MiB).
 *
 * The hook never talks to libvirt (libvirtd waits for the hook: that would
 * deadlock) and never fails a guest operation: it exits 0 whatever happens
 * to the event or to its pipes, and 2 only on a malformed invocation.
 *
 * Environment (for tests):
 *   KSMVIRT_SOCKET           daemon socket  [RUNSTATEDIR/ksmvirt/ksmvirtd.sock];
 *                            its directory holds the sequence counter
 *   KSMVIRT_STATE_DIR        spool is STATE_DIR/spool [LOCALSTATEDIR/lib/ksmvirt]
 *   KSMVIRT_ROOT             read /proc below this directory [/]
 *   KSMVIRT_HOOK_TIMEOUT_MS  budget for the socket exchange
 *                            [2000 in the background, 20 in the foreground]
 *   KSMVIRT_HOOK_FOREGROUND  when 1, deliver before exiting (no fork) and
 *                            report on stderr
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "kv-event.h"
#include "kv-order.h"
#include "kv-owned.h"
#include "kv-spool.h"
#include "kv-paths.h"
#include "kv-xml.h"

#define DEFAULT_SOCKET KV_PATH_SOCKET
#define DEFAULT_STATE_DIR KV_PATH_STATE_DIR
/* Delivery budgets: in the foreground libvirt waits for us, in the
 * background (the default) only the daemon's own latency matters. */
#define FOREGROUND_TIMEOUT_MS 20
#define BACKGROUND_TIMEOUT_MS 2000
/* hook.log is rotated to hook.log.1 past this size. */
#define HOOK_LOG_MAX_BYTES (1 << 20)
#define HOOK_LOG "hook.log"
#define HOOK_LOG_OLD "hook.log.1"

static const char *prog = "ksmvirt-hook";

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: %s OBJECT OP SUBOP EXTRA < DOMAIN-XML\n"
		"  a libvirt qemu hook: OP is prepare, start, started, stopped, release,\n"
		"  migrate, restore, reconnect or attach; see ksmvirt-hook(8)\n",
		prog);
}

/* Read fd to its end, keeping at most max_bytes in out and counting the
 * rest in *dropped (libvirt's write fails if we stop reading).  Returns
 * FALSE with errno set on a read error. */
static gboolean
read_all_bounded(int fd, GByteArray *out, gsize max_bytes, gsize *dropped)
{
	guint8 buf[65536];
	*dropped = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FALSE;
		}
		if (n == 0)
			return TRUE;
		gsize keep = MIN((gsize)n, max_bytes - MIN(out->len, max_bytes));
		g_byte_array_append(out, buf, (guint)keep);
		*dropped += (gsize)n - keep;
	}
}

static gboolean
is_blank(const guint8 *buf, gsize len)
{
	for (gsize i = 0; i < len; i++)
		if (!g_ascii_isspace(buf[i]))
			return FALSE;
	return TRUE;
}

static gint64
remaining_ms(gint64 deadline_us)
{
	gint64 left = deadline_us - g_get_monotonic_time();
	return left <= 0 ? 0 : (left + 999) / 1000;
}

/* Wait for events on fd until the deadline.  Returns TRUE when ready. */
static gboolean
wait_fd(int fd, short events, gint64 deadline_us)
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
static int
connect_daemon(const char *socket_path, gint64 deadline_us, gchar **why)
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
static gboolean
exchange(int fd, const char *line, gint64 deadline_us, gchar **why)
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
static gboolean
send_event(const char *socket_path, const char *line, gint64 deadline_us, gchar **why)
{
	int fd = connect_daemon(socket_path, deadline_us, why);
	if (fd < 0)
		return FALSE;
	gboolean ok = exchange(fd, line, deadline_us, why);
	close(fd);
	return ok;
}

static gint64
timeout_ms_from_env(gint64 fallback_ms)
{
	const char *s = g_getenv("KSMVIRT_HOOK_TIMEOUT_MS");
	guint64 v;
	if (s != NULL && g_ascii_string_to_unsigned(s, 10, 1, 60000, &v, NULL))
		return (gint64)v;
	return fallback_ms;
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = g_getenv(name);
	return v != NULL && *v != '\0' ? v : fallback;
}

/* One line on stderr about object and op: prefixed with the UTC time when
 * stamp (stderr is hook.log then). */
G_GNUC_PRINTF(4, 5)
static void
report(gboolean stamp, const char *object, const char *op_name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree gchar *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_autofree gchar *when = NULL;
	if (stamp) {
		g_autoptr(GDateTime) now = g_date_time_new_now_utc();
		when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ ");
	}
	fprintf(stderr, "%s%s: %s %s: %s\n", when ? when : "", prog, object, op_name, msg);
}

/* Send line to the daemon or else spool it; report on stderr.  Returns
 * TRUE unless the event is lost. */
static gboolean
deliver(const KvEvent *ev, const char *line, const char *object, const char *op_name, gint64 timeout_ms,
	gboolean stamp)
{
	const char *socket_path = env_or("KSMVIRT_SOCKET", DEFAULT_SOCKET);
	const char *state_dir = env_or("KSMVIRT_STATE_DIR", DEFAULT_STATE_DIR);
	gint64 t0_us = g_get_monotonic_time();
	g_autofree gchar *why = NULL;
	if (send_event(socket_path, line, t0_us + timeout_ms * 1000, &why))
		return TRUE;

	g_autofree gchar *spool_dir = g_build_filename(state_dir, "spool", NULL);
	g_autofree gchar *path = NULL;
	g_autoptr(GError) err = NULL;
	if (kv_spool_write(spool_dir, line, ev->time_us, &path, &err)) {
		report(stamp, object, op_name, "ksmvirtd at %s: %s; event spooled as %s (%.1f ms)",
		       socket_path, why, path, (double)(g_get_monotonic_time() - t0_us) / 1000.0);
		return TRUE;
	}
	report(stamp, object, op_name, "ksmvirtd at %s: %s; event LOST: %s", socket_path, why, err->message);
	return FALSE;
}

/* Open STATE_DIR/hook.log for appending (kv-owned.h: no symlink, no FIFO,
 * no directory others may write to), first rotating it to hook.log.1 when
 * it grew past HOOK_LOG_MAX_BYTES.  Returns the fd, or -1: then the child
 * logs nowhere. */
static int
open_log(const char *state_dir)
{
	int dfd = kv_owned_dir_open(state_dir, NULL);
	if (dfd < 0)
		return -1;
	const int flags = O_WRONLY | O_APPEND | O_CREAT;
	int fd = kv_owned_file_openat(dfd, HOOK_LOG, flags, 0640, NULL);
	struct stat st, now;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > HOOK_LOG_MAX_BYTES) {
		/* Whoever gets the lock first renames; the others then find
		 * that the name no longer leads to their file. */
		if (flock(fd, LOCK_EX) == 0 && fstatat(dfd, HOOK_LOG, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_dev == st.st_dev && now.st_ino == st.st_ino)
			renameat(dfd, HOOK_LOG, dfd, HOOK_LOG_OLD);
		close(fd);
		fd = kv_owned_file_openat(dfd, HOOK_LOG, flags, 0640, NULL);
	}
	close(dfd);
	return fd;
}

/*
 * Leave libvirt's critical path: fork a child that parses the XML and
 * delivers the event while the parent exits at once.  The child leaves the
 * pipes libvirt reads (it waits for them to close) and logs to
 * STATE_DIR/hook.log instead.  Returns 1 in the parent, 0 in the child, -1
 * when fork failed.
 */
static int
detach(const char *state_dir)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid > 0 ? 1 : -1;
	setsid();
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log_fd = open_log(state_dir);
	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
	}
	dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);
	if (log_fd > STDERR_FILENO)
		close(log_fd);
	if (null_fd > STDERR_FILENO)
		close(null_fd);
	return 0;
}

/* Stamp ev with this boot's id and the next sequence number (kv-order.h);
 * cheap enough for libvirt's critical path, and taken there so the
 * numbers follow the order in which libvirt ran the hooks.  Returns why
 * that failed (the event still gets a usable number), or NULL. */
static gchar *
stamp_order(KvEvent *ev, const char *socket_path)
{
	g_autoptr(KvCtx) ctx = kv_ctx_new(g_getenv("KSMVIRT_ROOT"));
	g_autoptr(GError) err = NULL;
	g_autofree gchar *run_dir = g_path_get_dirname(socket_path);
	ev->boot_id = kv_order_boot_id(ctx, &err);
	if (ev->boot_id == NULL)
		return g_strdup_printf("no boot id: %s", err->message);
	if (!kv_order_next_seq(run_dir, &ev->seq, &err))
		return g_strdup_printf("no sequence number from %s/" KV_ORDER_SEQ_FILE
				       ": %s; using the time since boot",
				       run_dir, err->message);
	return NULL;
}

/* Fill ev from the domain XML read (xml, plus dropped bytes over the cap),
 * reporting problems (and order_why, when not NULL) on stderr. */
static void
describe(KvEvent *ev, const GByteArray *xml, gsize dropped, const char *order_why, const char *object,
	 const char *op_name, gboolean stamp)
{
	if (order_why != NULL)
		report(stamp, object, op_name, "%s", order_why);
	if (dropped > 0) {
		report(stamp, object, op_name,
		       "domain XML is refused: %" G_GSIZE_FORMAT
		       " bytes, over the limit of %u MiB; sending the event without domain facts",
		       xml->len + dropped, KV_XML_MAX_BYTES >> 20);
		return;
	}
	if (is_blank(xml->data, xml->len))
		return;
	g_autoptr(GError) err = NULL;
	if (!kv_event_parse_domain_xml(ev, (const char *)xml->data, xml->len, &err))
		report(stamp, object, op_name, "%s; sending the event without domain facts", err->message);
	else if (ev->policy_error != NULL)
		report(stamp, object, op_name, "%s", ev->policy_error);
}

int
main(int argc, char **argv)
{
	/* libvirt may close our pipes early: a write must fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 5 || argv[1][0] == '\0' || argv[2][0] == '\0') {
		fprintf(stderr, "%s: malformed invocation (%d arguments, want 4)\n", prog, argc - 1);
		usage(stderr);
		return 2;
	}
	const char *object = argv[1], *op_name = argv[2];
	KvEventOp op = kv_event_op_from_string(op_name);

	/* For migrate and restore libvirt takes what we print as the new
	 * domain XML, and empty output means "unchanged": print nothing. */
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd >= 0 && null_fd != STDOUT_FILENO) {
		dup2(null_fd, STDOUT_FILENO);
		close(null_fd);
	}

	/* Read to the end even past the cap: libvirt's write must not fail. */
	g_autoptr(GByteArray) xml = g_byte_array_new();
	gsize dropped = 0;
	if (!read_all_bounded(STDIN_FILENO, xml, KV_XML_MAX_BYTES, &dropped))
		fprintf(stderr, "%s: %s %s: cannot read the domain XML: %s\n", prog, object, op_name,
			g_strerror(errno));

	if (op == KV_EVENT_OP_UNKNOWN) {
		fprintf(stderr, "%s: %s: ignoring unknown operation '%s'\n", prog, object, op_name);
		return 0;
	}

	const char *socket_path = env_or("KSMVIRT_SOCKET", DEFAULT_SOCKET);
	const char *state_dir = env_or("KSMVIRT_STATE_DIR", DEFAULT_STATE_DIR);
	g_autoptr(KvEvent) ev = kv_event_new(op, argv[3], argv[4]);
	ev->name = g_strdup(object);
	g_autofree gchar *order_why = stamp_order(ev, socket_path);

	const char *fg = g_getenv("KSMVIRT_HOOK_FOREGROUND");
	gboolean foreground = fg != NULL && *fg != '\0' && strcmp(fg, "0") != 0;
	if (!foreground) {
		int r = detach(state_dir);
		if (r == 1)
			return 0;
		if (r == 0) {
			/* From here on nothing holds libvirt up. */
			describe(ev, xml, dropped, order_why, object, op_name, TRUE);
			g_autofree gchar *line = kv_event_to_json_line(ev);
			deliver(ev, line, object, op_name, timeout_ms_from_env(BACKGROUND_TIMEOUT_MS), TRUE);
			_exit(0);
		}
		fprintf(stderr, "%s: %s %s: fork: %s; delivering in the foreground\n", prog, object, op_name,
			g_strerror(errno));
	}
	describe(ev, xml, dropped, order_why, object, op_name, FALSE);
	g_autofree gchar *line = kv_event_to_json_line(ev);
	deliver(ev, line, object, op_name, timeout_ms_from_env(FOREGROUND_TIMEOUT_MS), FALSE);
	return 0;
}
