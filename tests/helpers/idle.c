/* SPDX-License-Identifier: GPL-2.0-or-later */
/* idle: a process that does nothing until SIGTERM/SIGINT, whatever its
 * arguments.  Tests copy it under another name (qemu-system-x86_64) to
 * pose as a process it is not. */
#include <signal.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (;;)
		pause();
	return 0;
}
