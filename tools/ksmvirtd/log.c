/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c: ksmvirtd's levelled log on stderr (journal-aware) and its
 * sd_notify(3) states. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kv-escape.h"

/* The process's log threshold: set once by main before the loop runs. */
static int log_max_level = LOG_INFO;

void
kvd_log_set_max_level(int level)
{
	log_max_level = level;
}

/* Under systemd, stderr goes to the journal ($JOURNAL_STREAM names it):
 * then each line starts with its syslog level, "<4>" and so on
 * (sd-daemon(3)), so warnings stand out without a journal library. */
static gboolean
stderr_is_journal(void)
{
	static int known = -1;
	if (known < 0) {
		const char *js = g_getenv("JOURNAL_STREAM");
		struct stat st;
		unsigned long long dev, ino;
		known = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
			fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
			(unsigned long long)st.st_ino == ino;
	}
	return known == 1;
}

void
kvd_log(int level, const char *fmt, ...)
{
	if (level > log_max_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	g_autofree gchar *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* Messages carry guest names: one line each, no terminal controls. */
	g_autofree gchar *line = kv_escape_term(msg);
	if (stderr_is_journal())
		fprintf(stderr, "<%d>ksmvirtd: %s\n", level, line);
	else
		fprintf(stderr, "ksmvirtd: %s\n", line);
}

void
kvd_notify_systemd(const char *state)
{
	const char *path = g_getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		kvd_log(LOG_WARNING, "sd_notify: %s", g_strerror(errno));
	close(fd);
}
