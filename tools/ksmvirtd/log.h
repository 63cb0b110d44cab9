/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h: what ksmvirtd tells its supervisor: one levelled log line per
 * message on stderr, and sd_notify(3) states. */
#pragma once

#include <glib.h>
#include <syslog.h> /* LOG_ERR ... LOG_DEBUG, the levels of sd-daemon(3) */

G_BEGIN_DECLS

/* kvd_log_set_max_level: messages above LEVEL (LOG_INFO by default,
 * LOG_DEBUG with --verbose) are dropped.  Set once, by main. */
void kvd_log_set_max_level(int level);

/* kvd_log: "ksmvirtd: MESSAGE" on stderr, escaped to one line without
 * terminal controls (messages carry guest names).  Under systemd, where
 * stderr is the journal, the line starts with its level ("<4>"). */
G_GNUC_PRINTF(2, 3)
void kvd_log(int level, const char *fmt, ...);

/* kvd_notify_systemd: sd_notify(3) without libsystemd: STATE as one
 * datagram to $NOTIFY_SOCKET, nothing when there is none. */
void kvd_notify_systemd(const char *state);

G_END_DECLS
