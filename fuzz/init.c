/* SPDX-License-Identifier: GPL-2.0-or-later */
/* init.c: set-up shared by every fuzz target (linked into each).
 *
 * A GLib critical or warning from the library or from json-glib on hostile
 * input is a bug like any other: abort, so libFuzzer reports it and saves
 * the input (GLib's own fatal path raises SIGTRAP, which libFuzzer does not
 * catch). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void
log_abort(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) {
		fprintf(stderr, "%s: %s\n", domain ? domain : "glib", message);
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_log_set_default_handler(log_abort, NULL);
	return 0;
}
