/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the QMP client against a scripted server, and query-memdev. */
#include "kv-qmp.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>

static void
test_parse(void)
{
	const char *patched =
		"{\"return\": [{\"id\": \"m1\", \"size\": 268435456, \"merge\": false, \"dump\": true,"
		" \"ksm-mergeable\": false, \"ksm-merged-size\": 0, \"swapped-size\": 4096},"
		" {\"id\": \"m0\", \"size\": 134217728, \"merge\": true, \"ksm-mergeable\": true,"
		" \"ksm-merged-size\": 131072000, \"swapped-size\": 0}]}";
	const char *stock = "{\"return\": [{\"id\": \"m0\", \"size\": 1024, \"merge\": true}]}";
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) a = kv_qmp_parse_memdevs(patched, &err);
	g_autoptr(GPtrArray) b = NULL;
	KvQmpMemdev *m;

	g_assert_no_error(err);
	g_assert_cmpuint(a->len, ==, 2);
	m = a->pdata[0];
	g_assert_cmpstr(m->id, ==, "m1");
	g_assert_true(m->have_mergeable);
	g_assert_false(m->mergeable);
	g_assert_true(m->have_swapped);
	g_assert_cmpuint(m->swapped_bytes, ==, 4096);
	m = a->pdata[1];
	g_assert_true(m->mergeable);
	g_assert_cmpuint(m->merged_bytes, ==, 131072000);
	b = kv_qmp_parse_memdevs(stock, &err);
	g_assert_no_error(err);
	m = b->pdata[0];
	g_assert_false(m->have_mergeable);
	g_assert_false(m->have_merged);
	g_assert_null(kv_qmp_parse_memdevs("{\"error\": {}}", &err));
	g_assert_nonnull(err);
	g_clear_error(&err);
	g_assert_null(kv_qmp_parse_memdevs("not json", &err));
	g_assert_nonnull(err);
}

static void
test_socket_from_argv(void)
{
	const char *a[] = { "qemu",
			    "-qmp",
			    "tcp:1:2",
			    "-qmp",
			    "unix:/run/q,,x.sock,server=on,wait=off",
			    "-qmp",
			    "unix:/run/second",
			    NULL };
	const char *b[] = { "qemu", "-chardev", "socket,id=charmonitor,path=/x", NULL };
	const char *c[] = { NULL };
	g_auto(GStrv) pa = kv_qmp_sockets_from_argv(a);
	g_auto(GStrv) pb = kv_qmp_sockets_from_argv(b);
	g_auto(GStrv) pc = kv_qmp_sockets_from_argv(c);

	g_assert_cmpuint(g_strv_length(pa), ==, 2);
	g_assert_cmpstr(pa[0], ==, "/run/q,x.sock");
	g_assert_cmpstr(pa[1], ==, "/run/second");
	g_assert_cmpuint(g_strv_length(pb), ==, 0);
	g_assert_cmpuint(g_strv_length(pc), ==, 0);
}

typedef struct {
	int listen_fd;
	gboolean answer;
} Server;

/* Plays QEMU: greeting, capabilities, an event, then the reply. */
static gpointer
serve(gpointer data)
{
	Server *s = data;
	int fd = accept(s->listen_fd, NULL, NULL);
	char buf[4096];
	const char *greet = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";

	if (fd < 0)
		return NULL;
	g_assert_true(write(fd, greet, strlen(greet)) > 0);
	if (s->answer) {
		g_assert_true(read(fd, buf, sizeof(buf)) > 0);
		g_assert_true(write(fd, "{\"return\": {}}\r\n", 16) == 16);
		g_assert_true(read(fd, buf, sizeof(buf)) > 0);
		g_assert_nonnull(strstr(buf, "query-memdev"));
		{
			const char *ev = "{\"event\": \"RTC_CHANGE\", \"data\": {}}\r\n"
					 "{\"return\": [{\"id\": \"m0\", \"size\": 1, \"merge\": true}]}\r\n";

			g_assert_true(write(fd, ev, strlen(ev)) > 0);
		}
	} else {
		/* Hung: never answers capabilities. */
		g_usleep(G_USEC_PER_SEC);
	}
	close(fd);
	return NULL;
}

static void
run_server(gboolean answer)
{
	g_autofree char *dir = g_dir_make_tmp("ksmvirt-qmp-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "q.sock", NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_autoptr(KvCtx) ctx = kv_ctx_new(NULL);
	g_autoptr(GError) err = NULL;
	Server s = { .answer = answer };
	GThread *t;
	g_autofree char *reply = NULL;
	gint64 t0;

	strcpy(sa.sun_path, path);
	s.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	g_assert_cmpint(bind(s.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(s.listen_fd, 1), ==, 0);
	t = g_thread_new("qmp", serve, &s);
	t0 = g_get_monotonic_time();
	reply = kv_qmp_query(ctx, path, "{\"execute\":\"query-memdev\"}", 300, &err);
	if (answer) {
		g_assert_no_error(err);
		g_assert_nonnull(strstr(reply, "\"m0\""));
	} else {
		g_assert_null(reply);
		g_assert_error(err, KV_ERROR, KV_ERROR_IO);
		/* Bounded by the timeout, not by the server. */
		g_assert_cmpint(g_get_monotonic_time() - t0, <, 900000);
	}
	g_thread_join(t);
	close(s.listen_fd);
	unlink(path);
	g_rmdir(dir);
}

static void
test_query(void)
{
	run_server(TRUE);
}

static void
test_query_hung(void)
{
	run_server(FALSE);
}

static void
test_query_absent(void)
{
	g_autoptr(KvCtx) ctx = kv_ctx_new(NULL);
	g_autoptr(GError) err = NULL;
	g_autofree char *r = kv_qmp_query(ctx, "/nonexistent/q.sock", "{}", 100, &err);

	g_assert_null(r);
	g_assert_error(err, KV_ERROR, KV_ERROR_NOT_FOUND);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/qmp/parse", test_parse);
	g_test_add_func("/qmp/socket-from-argv", test_socket_from_argv);
	g_test_add_func("/qmp/query", test_query);
	g_test_add_func("/qmp/query-hung", test_query_hung);
	g_test_add_func("/qmp/query-absent", test_query_absent);
	return g_test_run();
}
