/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The resident-set floor of a process that uses libvirt: the smallest
 * programs that do what ksmvirtd does with libvirt, one stage at a time,
 * each built with -DSTAGE=N.  bench/daemon-footprint.py builds and
 * measures them next to ksmvirtd.
 *
 *   0  a GLib main loop with a 5 s timeout, nothing else
 *   1  the same, linked to libvirt (a libvirt symbol referenced, never called)
 *   2  + virInitialize()
 *   3  + a read-only connection to test:///default and, every tick,
 *        virConnectGetAllDomainStats() for the balloon statistics
 */
#include <glib.h>
#include <stdio.h>
#if STAGE >= 1
#include <libvirt/libvirt.h>
#endif

#if STAGE >= 3
static virConnectPtr conn;

static gboolean
tick(gpointer data)
{
	virDomainStatsRecordPtr *recs = NULL;
	int n = virConnectGetAllDomainStats(conn, VIR_DOMAIN_STATS_BALLOON, &recs,
					    VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE);

	(void)data;
	if (n >= 0)
		virDomainStatsRecordListFree(recs);
	return G_SOURCE_CONTINUE;
}
#else
static gboolean
tick(gpointer data)
{
	(void)data;
	return G_SOURCE_CONTINUE;
}
#endif

int
main(int argc, char **argv)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);

	(void)argv;
#if STAGE == 1
	/* Keeps libvirt linked under --as-needed without calling it. */
	if (argc > 99)
		virGetVersion(NULL, NULL, NULL);
#else
	(void)argc;
#endif
#if STAGE >= 2
	if (virInitialize() < 0)
		return 1;
#endif
#if STAGE >= 3
	conn = virConnectOpenReadOnly("test:///default");
	if (!conn)
		return 1;
	tick(NULL);
#endif
	g_timeout_add_seconds(5, tick, NULL);
	printf("ready\n");
	fflush(stdout);
	g_main_loop_run(loop);
	return 0;
}
