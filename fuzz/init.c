/* init.c: set-up shared by every fuzz target (linked into each).
 *
 * A GLib critical or warning from the library or from json-glib on hostile
 * input is a bug like any other: make it abort so libFuzzer reports it. */
#include <glib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	return 0;
}
