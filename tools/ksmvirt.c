/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ksmvirt: report what KSM saves per guest, per guest NUMA node and per
 * host NUMA node.
 *
 * Exit status (see ksmvirt(1)):
 *   0  success
 *   1  failure while reading the system (I/O, libvirt required but unreachable)
 *   2  usage error (bad option, --root is not a directory)
 *   3  the kernel has no KSM
 *   4  not privileged enough (the census needs CAP_SYS_ADMIN; advise --apply refused)
 *   5  a balancer action failed (balance --oneshot)
 */
#include "kv-file.h"
#include "kv-report.h"
#include "kv-paths.h"
#include "kv-balancer.h"
#include "kv-config.h"
#include "kv-registry.h"
#include "kv-table.h"
#include "kv-escape.h"
#include "kv-inspect.h"
#include "kv-inspect-queue.h"
#include "kv-advise.h"
#include "kv-ident.h"
#include "kv-policy-apply.h"

#include <json-glib/json-glib.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NO_KSM 3
#define EXIT_PRIV 4
#define EXIT_ACTION 5

#define DEFAULT_SOCKET KV_PATH_SOCKET

#ifndef KSMVIRT_VERSION
#define KSMVIRT_VERSION "0.1"
#endif

static int
exit_code_for(const GError *e)
{
	if (g_error_matches(e, KV_ERROR, KV_ERROR_UNSUPPORTED))
		return EXIT_NO_KSM;
	if (g_error_matches(e, KV_ERROR, KV_ERROR_ACCESS))
		return EXIT_PRIV;
	return EXIT_FAIL;
}

static gboolean
set_errno_error(GError **error, int errsv, const char *what, const char *why)
{
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "%s: %s%s", what, why ? why : "",
		    g_strerror(errsv));
	return FALSE;
}

/* write_all: all of DATA to FD (kv_write_all), WHAT naming it in the
 * error.  Returns TRUE or FALSE with ERROR. */
static gboolean
write_all(int fd, const char *what, const char *data, gsize len, GError **error)
{
	return kv_write_all(fd, data, len) || set_errno_error(error, errno, what, NULL);
}

/* A device or FIFO the user named is written where it is: no O_CREAT, no
 * O_TRUNC, so /dev/null stays /dev/null.  FOLLOW: PATH is a symlink the
 * caller found pointing at one. */
static gboolean
write_in_place(const char *path, gboolean follow, const char *data, GError **error)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	struct stat st;
	gboolean ok;

	if (fd < 0)
		return set_errno_error(error, errno, path, NULL);
	/* Replaced since lstat(): write only to what was checked. */
	if (fstat(fd, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(fd);
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "%s: changed while being opened: not written", path);
		return FALSE;
	}
	ok = write_all(fd, path, data, strlen(data), error);
	if (close(fd) < 0 && ok)
		ok = set_errno_error(error, errno, path, NULL);
	return ok;
}

/* A regular file (or a new one) is replaced atomically: a temporary file
 * in the same directory, fsync, rename.  OLD: what PATH is now, whose
 * mode and owner the new file keeps, or NULL. */
static gboolean
write_replace(const char *path, const struct stat *old, const char *data, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
	g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	mode_t mask = umask(0);
	int fd, dfd;

	umask(mask);
	fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return set_errno_error(error, errno, path, "cannot create a temporary file: ");
	/* Root writing a user's file leaves it the user's. */
	if (old && fchown(fd, old->st_uid, old->st_gid) < 0 && errno != EPERM)
		goto fail;
	/* Its permissions, never set-id bits, on what is now a report. */
	if (fchmod(fd, old ? old->st_mode & 0777 : 0666 & ~mask) < 0)
		goto fail;
	if (!write_all(fd, path, data, strlen(data), error))
		goto fail_set;
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	/* The rename itself reaches the disk with the directory. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return TRUE;
fail:
	set_errno_error(error, errno, path, NULL);
fail_set:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return FALSE;
}

/* write_file: DATA to PATH as the user named it.  A regular file is
 * replaced atomically, a character device or FIFO written in place (also
 * through a symlink), anything else refused: a symlink to a file or to
 * nothing, a directory, a socket, a block device.  Returns TRUE or FALSE
 * with ERROR. */
static gboolean
write_file(const char *path, const char *data, GError **error)
{
	struct stat st, target;
	const char *what;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? write_replace(path, NULL, data, error)
				       : set_errno_error(error, errno, path, NULL);
	if (S_ISREG(st.st_mode))
		return write_replace(path, &st, data, error);
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
		return write_in_place(path, FALSE, data, error);
	if (S_ISLNK(st.st_mode)) {
		if (stat(path, &target) == 0 && (S_ISCHR(target.st_mode) || S_ISFIFO(target.st_mode)))
			return write_in_place(path, TRUE, data, error);
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "%s: is a symbolic link: not replaced (name the file itself)", path);
		return FALSE;
	}
	what = S_ISDIR(st.st_mode)    ? "a directory"
	       : S_ISSOCK(st.st_mode) ? "a socket"
	       : S_ISBLK(st.st_mode)  ? "a block device"
				      : "not a regular file";
	g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST, "%s: is %s: not written", path, what);
	return FALSE;
}

/* print_out: TEXT on standard output, written now; a failure (a full
 * disk, a closed pipe) is reported as "ksmvirt CMD: ..." and FALSE. */
static gboolean
print_out(const char *cmd, const char *text)
{
	g_autoptr(GError) err = NULL;

	fflush(stdout);
	if (write_all(STDOUT_FILENO, "standard output", text, strlen(text), &err))
		return TRUE;
	g_printerr("ksmvirt %s: %s\n", cmd, err->message);
	return FALSE;
}

/* finish_stdout: what is left in stdio's buffer flushed and stdout
 * closed; a failure makes a successful RC EXIT_FAIL. */
static int
finish_stdout(int rc)
{
	int errsv = 0;

	if (fflush(stdout) != 0)
		errsv = errno;
	else if (ferror(stdout))
		errsv = EIO;
	if (fclose(stdout) != 0 && !errsv)
		errsv = errno;
	if (!errsv)
		return rc;
	g_printerr("ksmvirt: standard output: %s\n", g_strerror(errsv));
	return rc ? rc : EXIT_FAIL;
}

#define DEFAULT_REGISTRY KV_PATH_REGISTRY
#define DEFAULT_OS_MAP KV_PATH_OS_MAP

/* The merge group of a libvirt guest, from kv_policy_groups(). */
static char *
libvirt_group(const char *uuid, const char *name, gpointer data)
{
	return name ? g_strdup(g_hash_table_lookup(data, name)) : NULL;
}

/* The merge groups of the running libvirt guests by ksmvirtd's [isolation]
 * (its configuration file, or the defaults); NULL without libvirt. */
static GHashTable *
report_group_map(KvHv *hv, char **summary)
{
	g_auto(KvConfig) cfg = { 0 };

	if (!hv)
		return NULL;
	if (!kv_config_load(KV_CONFIG_DEFAULT_PATH, &cfg, NULL, NULL))
		kv_config_defaults(&cfg);
	return kv_policy_groups(hv, &cfg, summary, NULL);
}

static char *
registry_name(const char *uuid, gpointer data)
{
	const KvRegistryGuest *g = kv_registry_lookup_uuid(data, uuid);

	return g && g->name ? g_strdup(g->name) : NULL;
}

/* The prologue of every command that reads the system: --pid PIDS parsed
 * into PIDS (when given), --root (else $KSMVIRT_ROOT) checked to be a
 * directory, the context over it in CTX.  Returns 0, or EXIT_USAGE after
 * a message "ksmvirt CMD: ...". */
static int
cli_prologue(const char *cmd, char **root, char **pid_args, GArray *pids, KvCtx **ctx)
{
	for (guint i = 0; pid_args && pid_args[i]; i++) {
		guint64 v;

		if (!g_ascii_string_to_unsigned(pid_args[i], 10, 1, G_MAXINT, &v, NULL)) {
			g_printerr("ksmvirt %s: --pid %s: not a process id\n", cmd, pid_args[i]);
			return EXIT_USAGE;
		}
		g_array_append_val(pids, (int){ (int)v });
	}
	if (!*root && g_getenv("KSMVIRT_ROOT") && *g_getenv("KSMVIRT_ROOT"))
		*root = g_strdup(g_getenv("KSMVIRT_ROOT"));
	if (*root && !g_file_test(*root, G_FILE_TEST_IS_DIR)) {
		g_printerr("ksmvirt %s: --root %s: not a directory\n", cmd, *root);
		return EXIT_USAGE;
	}
	*ctx = kv_ctx_new(*root);
	return 0;
}

/* cli_wants_libvirt: libvirt is asked unless --no-libvirt, and under
 * --root only when --connect names it. */
static gboolean
cli_wants_libvirt(gboolean no_libvirt, const char *uri, const char *root)
{
	return !no_libvirt && (uri || !root);
}

/* cli_libvirt: a read-only connection in HV when wanted and reachable;
 * unreachable is a failure only when --connect named the URI.  Returns 0
 * or EXIT_FAIL after a message. */
static int
cli_libvirt(const char *cmd, const KvCtx *ctx, gboolean wanted, const char *uri, KvHv **hv)
{
	g_autoptr(GError) err = NULL;

	if (!wanted)
		return 0;
	*hv = kv_hv_libvirt_open(ctx, uri, &err);
	if (!*hv && uri) {
		g_printerr("ksmvirt %s: cannot connect to libvirt: %s\n", cmd, err->message);
		return EXIT_FAIL;
	}
	return 0;
}

/* What report reads besides the system, each optional: the hook's guest
 * registry (it names guests libvirt cannot), ksmvirtd's history (for
 * --html), the OS map. */
typedef struct {
	KvRegistry *reg;
	GArray *history;
	GHashTable *os_map;
} ReportSources;

static void
report_sources_clear(ReportSources *src)
{
	g_clear_pointer(&src->reg, kv_registry_free);
	g_clear_pointer(&src->history, g_array_unref);
	g_clear_pointer(&src->os_map, g_hash_table_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ReportSources, report_sources_clear)

/* A source that did not load (LOADED NULL) is reported and done without. */
static void
report_ignoring(const char *what, gconstpointer loaded, GError **err)
{
	if (!loaded)
		g_printerr("ksmvirt report: ignoring %s: %s\n", what, (*err)->message);
	g_clear_error(err);
}

/* report_load_sources: each from the file the user named, else from its
 * default below the root; the history only WITH_HISTORY. */
static void
report_load_sources(const KvCtx *ctx, const char *registry, const char *history, gboolean with_history,
		    const char *os_map, ReportSources *src)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *reg_path = registry ? g_strdup(registry) : kv_ctx_path(ctx, DEFAULT_REGISTRY);
	g_autofree char *history_path = history ? g_strdup(history)
						: kv_ctx_path(ctx, KV_PATH_STATE_DIR "/history.jsonl");
	g_autofree char *os_map_path = os_map ? g_strdup(os_map) : kv_ctx_path(ctx, DEFAULT_OS_MAP);

	src->reg = kv_registry_load(reg_path, &err);
	report_ignoring("the guest registry", src->reg, &err);
	if (with_history) {
		src->history = kv_history_load(history_path, &err);
		report_ignoring("the history", src->history, &err);
	}
	src->os_map = kv_os_map_load(os_map_path, &err);
	report_ignoring("the OS map", src->os_map, &err);
}

/* What report writes where. */
typedef struct {
	gboolean json, prom;
	const char *html; /* --html FILE, or NULL */
	GArray *history;  /* for the HTML page, or NULL */
	gboolean watch;   /* --watch: text too, the screen cleared first */
} ReportOut;

/* report_once: one report collected and written as OUT says.  Returns 0
 * or the exit status after a message. */
static int
report_once(const KvCtx *ctx, const KvReportOptions *opts, const ReportOut *o)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KvReport) r = kv_report_collect(ctx, opts, &err);
	g_autofree char *out = NULL;

	if (!r) {
		g_printerr("ksmvirt report: %s\n", err->message);
		return exit_code_for(err);
	}
	if (o->html) {
		g_autofree char *page = NULL;

		if (o->history)
			r->history = g_array_ref(o->history);
		page = kv_render_html(r);
		if (!write_file(o->html, page, &err)) {
			g_printerr("ksmvirt report: %s\n", err->message);
			return EXIT_FAIL;
		}
	}
	if (o->json)
		out = kv_render_json(r);
	else if (o->prom)
		out = kv_render_prometheus(r);
	else if (!o->html || o->watch)
		out = kv_render_text(r);
	if (o->watch && isatty(STDOUT_FILENO) && !print_out("report", "\033[H\033[2J"))
		return EXIT_FAIL;
	if (out && !print_out("report", out))
		return EXIT_FAIL;
	if (!out && o->html)
		g_printerr("ksmvirt report: wrote %s\n", o->html);
	return 0;
}

/* report_groups: --group PID=NAME arguments into GROUPS (pid -> name).
 * Returns 0, or EXIT_USAGE after a message. */
static int
report_groups(char **args, GHashTable *groups)
{
	for (guint i = 0; args && args[i]; i++) {
		const char *eq = strchr(args[i], '=');
		g_autofree char *pid_s = eq ? g_strndup(args[i], (gsize)(eq - args[i])) : NULL;
		guint64 pid;

		if (!eq || !g_ascii_string_to_unsigned(pid_s, 10, 1, G_MAXINT, &pid, NULL) || !eq[1] ||
		    !g_utf8_validate(eq + 1, -1, NULL)) {
			g_autofree char *arg = kv_escape_term(args[i]);

			g_printerr("ksmvirt report: --group %s: want PID=NAME (a process id, a UTF-8 name)\n",
				   arg);
			return EXIT_USAGE;
		}
		g_hash_table_replace(groups, GINT_TO_POINTER((int)pid), g_strdup(eq + 1));
	}
	return 0;
}

/* report_watch: report once, or every WATCH_S seconds (> 0) until
 * interrupted.  Returns the exit status. */
static int
report_watch(const KvCtx *ctx, const KvReportOptions *opts, const ReportOut *o, gint watch_s)
{
	for (;;) {
		int rc = report_once(ctx, opts, o);

		if (rc || !watch_s)
			return rc;
		/* The ksmd sample already took interval_ms of the period. */
		if ((guint64)watch_s * 1000 > opts->interval_ms)
			g_usleep(((guint64)watch_s * 1000 - opts->interval_ms) * 1000);
	}
}

static int
cmd_report(int argc, char **argv)
{
	gboolean json = FALSE, prom = FALSE, census = FALSE, no_libvirt = FALSE, qmp = FALSE, sharing = FALSE;
	g_autofree char *html = NULL, *root = NULL, *uri = NULL, *registry = NULL, *bad = NULL;
	g_autofree char *os_map_arg = NULL, *history_arg = NULL, *qemu_user = NULL;
	g_auto(ReportSources) src = { 0 };
	gint watch_s = 0, interval_ms = 1000;
	int rc;
	g_auto(GStrv) pid_args = NULL, group_args = NULL;
	g_autoptr(GArray) pids = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GHashTable) pid_groups = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	g_autoptr(GHashTable) group_map = NULL;
	g_autofree char *isolation = NULL;
	g_autoptr(GOptionContext) oc = g_option_context_new("- KSM sharing per guest, guest node and host node");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvCtx) ctx = NULL;
	g_autoptr(KvHv) hv = NULL;
	GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json, "JSON output (schema ksmvirt-report/1)", NULL },
		{ "prometheus", 'p', 0, G_OPTION_ARG_NONE, &prom, "Prometheus text exposition", NULL },
		{ "html", 0, 0, G_OPTION_ARG_FILENAME, &html, "Write a self-contained HTML page to FILE", "FILE" },
		{ "census", 'c', 0, G_OPTION_ARG_NONE, &census,
		  "Walk pagemap and kpageflags: guest pages per host NUMA node (root)", NULL },
		{ "sharing", 0, 0, G_OPTION_ARG_NONE, &sharing,
		  "KSM frames each pair of guests and of groups both map; implies --census (root)", NULL },
		{ "group", 0, 0, G_OPTION_ARG_STRING_ARRAY, &group_args,
		  "Put the guest or process PID in merge-isolation group NAME; repeatable", "PID=NAME" },
		{ "qmp", 0, 0, G_OPTION_ARG_NONE, &qmp,
		  "Ask QEMUs started with -qmp unix:PATH for per-backend KSM figures (query-memdev)", NULL },
		{ "watch", 'w', 0, G_OPTION_ARG_INT, &watch_s, "Repeat every SECONDS until interrupted",
		  "SECONDS" },
		{ "interval", 'i', 0, G_OPTION_ARG_INT, &interval_ms,
		  "Sample ksmd CPU over MS milliseconds (0: don't; default 1000)", "MS" },
		{ "root", 'r', 0, G_OPTION_ARG_FILENAME, &root,
		  "Read /proc, /sys and /run below DIR (default $KSMVIRT_ROOT or /)", "DIR" },
		{ "connect", 0, 0, G_OPTION_ARG_STRING, &uri,
		  "libvirt URI (default qemu:///system if running)", "URI" },
		{ "pid", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pid_args,
		  "Also report process PID (not QEMU) like a guest; repeatable", "PID" },
		{ "qemu-user", 0, 0, G_OPTION_ARG_STRING, &qemu_user,
		  "The user libvirt runs QEMU as (default: qemu.conf's \"user\", else " KV_QEMU_USER_DEFAULT ")",
		  "USER" },
		{ "registry", 0, 0, G_OPTION_ARG_FILENAME, &registry,
		  "The libvirt hook's guest registry (default below --root: " DEFAULT_REGISTRY ")", "FILE" },
		{ "os-map", 0, 0, G_OPTION_ARG_FILENAME, &os_map_arg,
		  "Guest OS per UUID, as ksmvirtd or \"ksmvirt inspect --record\" keep it (default below --root: " DEFAULT_OS_MAP
		  ")",
		  "FILE" },
		{ "history", 0, 0, G_OPTION_ARG_FILENAME, &history_arg,
		  "ksmvirtd's time series to plot with --html (default below --root: " KV_PATH_STATE_DIR
		  "/history.jsonl)",
		  "FILE" },
		{ "no-libvirt", 0, 0, G_OPTION_ARG_NONE, &no_libvirt,
		  "Name guests from QEMU's command line only", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};

	g_option_context_set_summary(oc, "Reports what kernel samepage merging saves on this host.");
	g_option_context_set_description(oc, "Exit status: 0 success, 1 failure reading the system, 2 usage error,\n"
					     "3 the kernel has no KSM, 4 not privileged enough for --census or --sharing.\n"
					     "See ksmvirt(1).");
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err))
		bad = g_strdup(err->message);
	else if (argc > 1)
		bad = g_strdup_printf("unexpected argument '%s'", argv[1]);
	else if (json && prom)
		bad = g_strdup("--json and --prometheus exclude each other");
	else if (watch_s < 0 || interval_ms < 0)
		bad = g_strdup("--watch and --interval take a number >= 0");
	if (bad) {
		g_printerr("ksmvirt report: %s\n", bad);
		return EXIT_USAGE;
	}
	rc = report_groups(group_args, pid_groups);
	if (!rc)
		rc = cli_prologue("report", &root, pid_args, pids, &ctx);
	if (rc)
		return rc;
	report_load_sources(ctx, registry, history_arg, html != NULL, os_map_arg, &src);
	rc = cli_libvirt("report", ctx, cli_wants_libvirt(no_libvirt, uri, root), uri, &hv);
	if (rc)
		return rc;
	group_map = report_group_map(hv, &isolation);

	KvReportOptions opts = { .interval_ms = (guint64)interval_ms,
				 .census = census,
				 .qmp = qmp,
				 .hv = hv,
				 .pids = pids,
				 .lookup_name = src.reg ? registry_name : NULL,
				 .lookup_data = src.reg,
				 .os_map = src.os_map,
				 .qemu_user = qemu_user,
				 .note_impostors = TRUE,
				 .sharing = sharing,
				 .pid_groups = pid_groups,
				 .group_of = group_map ? libvirt_group : NULL,
				 .group_data = group_map,
				 .note = isolation };
	ReportOut out = { .json = json, .prom = prom, .html = html, .history = src.history, .watch = watch_s > 0 };

	return report_watch(ctx, &opts, &out, watch_s);
}

/* inspect_disks: the OS on DISKS, in a child process killed after
 * TIMEOUT_S seconds, or in this one when TIMEOUT_S is 0. */
static KvOsInfo *
inspect_disks(char **disks, gint timeout_s)
{
	g_autoptr(GPtrArray) child = g_ptr_array_new();

	if (timeout_s <= 0)
		return kv_inspect_disks((const char *const *)disks);
	g_ptr_array_add(child, (gpointer) "/proc/self/exe");
	g_ptr_array_add(child, (gpointer) "inspect");
	g_ptr_array_add(child, (gpointer) "--json");
	for (guint i = 0; disks[i]; i++)
		g_ptr_array_add(child, disks[i]);
	g_ptr_array_add(child, NULL);
	return kv_inspect_run_child((const char *const *)child->pdata, (guint)timeout_s);
}

/* inspect_record: OS kept for the guest with UUID RECORD in the OS map at
 * PATH (NULL: the default).  Returns 0 or the exit status after a
 * message. */
static int
inspect_record(const char *record, const char *path, const KvOsInfo *os)
{
	g_autofree char *uuid = kv_uuid_normalize(record);
	g_autoptr(GHashTable) map = NULL;
	g_autoptr(GError) err = NULL;

	if (!uuid) {
		g_printerr("ksmvirt inspect: --record %s: not a UUID\n", record);
		return EXIT_USAGE;
	}
	map = kv_os_map_load(path ? path : DEFAULT_OS_MAP, &err);
	if (map) {
		g_hash_table_replace(map, g_strdup(uuid), kv_os_info_copy(os));
		if (kv_os_map_save(map, path ? path : DEFAULT_OS_MAP, &err))
			return 0;
	}
	g_printerr("ksmvirt inspect: %s\n", err->message);
	return EXIT_FAIL;
}

/* inspect_render: OS as a line of JSON or as text, escaped. */
static char *
inspect_render(const KvOsInfo *os, gboolean json)
{
	if (json) {
		g_autofree char *s = kv_os_info_to_json(os);
		g_autofree char *valid = kv_escape_json_text(s);

		return g_strconcat(valid, "\n", NULL);
	} else {
		g_autofree char *family = kv_os_info_family(os);
		g_autofree char *type = kv_escape_term(os->type), *fam = kv_escape_term(family);
		g_autofree char *distro = kv_escape_term(os->distro ? os->distro : "-");
		g_autofree char *product = kv_escape_term(os->product_name ? os->product_name : "-");
		g_autofree char *arch = kv_escape_term(os->arch ? os->arch : "-");
		g_autofree char *reason = os->reason ? kv_escape_term(os->reason) : NULL;

		return g_strdup_printf("type:     %s\ndistro:   %s\nproduct:  %s\nversion:  %d.%d\n"
				       "arch:     %s\nfamily:   %s\n%s%s%s",
				       type, distro, product, os->major, os->minor, arch, fam,
				       reason ? "reason:   " : "", reason ? reason : "", reason ? "\n" : "");
	}
}

/* ksmvirt inspect: the guest OS on DISK... (libguestfs, read-only). */
static int
cmd_inspect(int argc, char **argv)
{
	gboolean json = FALSE;
	gint timeout_s = 0;
	g_autofree char *cache_path = NULL, *record = NULL, *os_map_path = NULL;
	g_autoptr(GOptionContext) oc = g_option_context_new("DISK... - the operating system on a guest's disks");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvInspectCache) cache = NULL;
	g_autoptr(KvOsInfo) os = NULL;
	g_autofree char *key = NULL, *why = NULL, *out = NULL;
	int rc;
	GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json, "JSON output", NULL },
		{ "cache", 0, 0, G_OPTION_ARG_FILENAME, &cache_path,
		  "Reuse and keep results in FILE, keyed by each disk's path, size and mtime", "FILE" },
		{ "record", 0, 0, G_OPTION_ARG_STRING, &record,
		  "Keep the result for the guest with this UUID in the OS map that the report and advise read",
		  "UUID" },
		{ "os-map", 0, 0, G_OPTION_ARG_FILENAME, &os_map_path,
		  "The OS map (default " DEFAULT_OS_MAP ")", "FILE" },
		{ "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
		  "Inspect in a child process killed after SECONDS (0: in this process)", "SECONDS" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};

	g_option_context_set_description(oc,
					 "Opens the disks read-only with libguestfs and prints the OS type, distribution,\n"
					 "product name, version and architecture, or \"unknown\" with the reason.\n"
					 "Exit status: 0 (also for an unknown OS), 1 failure, 2 usage error.");
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		g_printerr("ksmvirt inspect: %s\n", err->message);
		return EXIT_USAGE;
	}
	if (argc < 2 || timeout_s < 0) {
		g_printerr("ksmvirt inspect: give one or more disk images (and --timeout >= 0)\n");
		return EXIT_USAGE;
	}
	if (cache_path) {
		cache = kv_inspect_cache_load(cache_path, &err);
		if (!cache) {
			g_printerr("ksmvirt inspect: %s\n", err->message);
			return EXIT_FAIL;
		}
		key = kv_inspect_cache_key((const char *const *)argv + 1, &why);
		if (key && kv_inspect_cache_lookup(cache, key))
			os = kv_os_info_copy(kv_inspect_cache_lookup(cache, key));
	}
	if (!os && why) {
		os = kv_os_info_new_unknown(why);
	} else if (!os) {
		os = inspect_disks(argv + 1, timeout_s);
	}
	/* Only a real answer is cached: a timeout may pass next time. */
	if (cache && key && !kv_inspect_cache_lookup(cache, key) && !kv_os_info_is_transient(os)) {
		kv_inspect_cache_store(cache, key, os);
		if (!kv_inspect_cache_save(cache, cache_path, &err)) {
			g_printerr("ksmvirt inspect: %s\n", err->message);
			return EXIT_FAIL;
		}
	}
	if (record && (rc = inspect_record(record, os_map_path, os)))
		return rc;
	out = inspect_render(os, json);
	return print_out("inspect", out) ? 0 : EXIT_FAIL;
}

/* advise_report: the report advise works from: with the census for the
 * nodes guests run on (without it when not privileged: then they are
 * unknown).  Returns NULL with ERROR. */
static KvReport *
advise_report(const KvCtx *ctx, KvHv *hv, GHashTable *os_map, GError **error)
{
	KvReportOptions opts = { .census = TRUE, .hv = hv, .os_map = os_map };
	g_autoptr(GError) err = NULL;
	g_autoptr(KvReport) r = kv_report_collect(ctx, &opts, &err);

	if (!r && g_error_matches(err, KV_ERROR, KV_ERROR_ACCESS)) {
		/* Without the census the current nodes are unknown. */
		g_clear_error(&err);
		opts.census = FALSE;
		r = kv_report_collect(ctx, &opts, &err);
	}
	if (!r)
		g_propagate_error(error, g_steal_pointer(&err));
	return g_steal_pointer(&r);
}

/* advise_apply: pins each libvirt guest that should move to its proposed
 * node through the hypervisor interface (read-write connection to URI,
 * NULL: qemu:///system).  Returns 0, EXIT_PRIV when a guest could not be
 * pinned, EXIT_FAIL when the output failed. */
static int
advise_apply(const KvCtx *ctx, const KvAdvice *a, const char *uri)
{
	g_autoptr(GError) open_err = NULL;
	g_autoptr(KvHv) hv = NULL;
	int rc = 0;

	for (guint i = 0; i < a->guests->len; i++) {
		const KvAdvicePlacement *p = &g_array_index(a->guests, KvAdvicePlacement, i);
		g_autofree char *nodeset = g_strdup_printf("%d", p->node_proposed);
		g_autofree char *got = NULL, *name = kv_escape_term(p->name), *why = NULL, *line = NULL;
		g_autoptr(GError) err = NULL;

		if (!kv_advice_moves(p))
			continue;
		if (!p->libvirt) {
			g_printerr("ksmvirt advise: %s: not a libvirt domain, not moved\n", name);
			continue;
		}
		if (!hv && !open_err)
			hv = kv_hv_libvirt_open_rw(ctx, uri ? uri : "qemu:///system", &open_err);
		got = hv ? kv_hv_set_nodeset(hv, p->name, nodeset, &err) : NULL;
		if (!got) {
			why = kv_escape_term(hv ? err->message : open_err->message);
			g_printerr("ksmvirt advise: %s: %s\n", name, why);
			rc = EXIT_PRIV;
			continue;
		}
		line = g_strdup_printf("applied: %s numatune nodeset %s (strict)\n", name, got);
		if (!print_out("advise", line))
			return EXIT_FAIL;
	}
	return rc;
}

/* ksmvirt advise: NUMA placement that maximises expected KSM sharing. */
static int
cmd_advise(int argc, char **argv)
{
	gboolean json = FALSE, apply = FALSE, no_libvirt = FALSE;
	double share = 0.25, capacity_ratio = 1.0;
	g_autofree char *root = NULL, *uri = NULL, *os_map_arg = NULL, *os_map_path = NULL, *out = NULL;
	g_autoptr(GOptionContext) oc = g_option_context_new("- NUMA placement advice for KSM");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvCtx) ctx = NULL;
	g_autoptr(KvHv) hv = NULL;
	g_autoptr(GHashTable) os_map = NULL;
	g_autoptr(KvReport) r = NULL;
	g_autoptr(KvAdvice) advice = NULL;
	int rc;
	GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json, "JSON output", NULL },
		{ "apply", 0, 0, G_OPTION_ARG_NONE, &apply,
		  "Pin each guest that should move with libvirt's numatune (strict); nothing changes without it",
		  NULL },
		{ "share", 0, 0, G_OPTION_ARG_DOUBLE, &share,
		  "Fraction of RAM a guest shares with alike guests when it has no merged pages yet (0.25)", "F" },
		{ "capacity", 0, 0, G_OPTION_ARG_DOUBLE, &capacity_ratio,
		  "Guest RAM a node may hold, as a multiple of its memory (1.0)", "R" },
		{ "root", 'r', 0, G_OPTION_ARG_FILENAME, &root, "Read /proc, /sys and state below DIR", "DIR" },
		{ "os-map", 0, 0, G_OPTION_ARG_FILENAME, &os_map_arg,
		  "The OS map (default " DEFAULT_OS_MAP ")", "FILE" },
		{ "connect", 0, 0, G_OPTION_ARG_STRING, &uri, "libvirt URI", "URI" },
		{ "no-libvirt", 0, 0, G_OPTION_ARG_NONE, &no_libvirt, "Do not ask libvirt", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};

	g_option_context_set_description(
		oc,
		"With merge_across_nodes=0, KSM merges pages only within a host NUMA node: guests of the\n"
		"same OS family and version (from ksmvirtd's inspection or \"ksmvirt inspect --record\") save the most on one node.\n"
		"Proposes a node per guest and the expected savings; changes nothing unless --apply.\n"
		"Exit status: 0 success, 1 failure, 2 usage error, 3 no KSM, 4 --apply failed for a guest.");
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err) || argc > 1 || share < 0 || share > 1 ||
	    capacity_ratio <= 0) {
		g_printerr("ksmvirt advise: %s\n", err ? err->message : "bad arguments (see --help)");
		return EXIT_USAGE;
	}
	rc = cli_prologue("advise", &root, NULL, NULL, &ctx);
	if (!rc)
		rc = cli_libvirt("advise", ctx, cli_wants_libvirt(no_libvirt, uri, root), uri, &hv);
	if (rc)
		return rc;
	os_map_path = os_map_arg ? g_strdup(os_map_arg) : kv_ctx_path(ctx, DEFAULT_OS_MAP);
	os_map = kv_os_map_load(os_map_path, &err);
	if (!os_map) {
		g_printerr("ksmvirt advise: %s\n", err->message);
		return EXIT_FAIL;
	}
	r = advise_report(ctx, hv, os_map, &err);
	if (!r) {
		g_printerr("ksmvirt advise: %s\n", err->message);
		return exit_code_for(err);
	}
	if (!r->topo && !(r->topo = kv_numa_read(ctx, &err))) {
		g_printerr("ksmvirt advise: %s\n", err->message);
		return EXIT_FAIL;
	}
	advice = kv_advice_from_report(r, share, capacity_ratio);
	out = json ? kv_render_advise_json(advice) : kv_render_advise_text(advice, apply);
	if (!print_out("advise", out))
		return EXIT_FAIL;
	return apply ? advise_apply(ctx, advice, uri) : 0;
}

/* ksmvirt status: ask ksmvirtd for its guests and last decisions. */
static int
cmd_status(int argc, char **argv)
{
	gboolean json = FALSE;
	g_autofree char *sock = NULL, *doc = NULL, *text = NULL;
	g_autoptr(GOptionContext) oc = g_option_context_new("- what ksmvirtd sees and decided, and why");
	g_autoptr(GError) err = NULL;
	GOptionEntry entries[] = { { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
				     "JSON output (schema ksmvirt-status/1)", NULL },
				   { "socket", 's', 0, G_OPTION_ARG_FILENAME, &sock,
				     "ksmvirtd socket (default $KSMVIRT_SOCKET or " DEFAULT_SOCKET ")", "PATH" },
				   { NULL, 0, 0, 0, NULL, NULL, NULL } };

	g_option_context_set_description(oc, "Exit status: 0 success, 1 ksmvirtd not reachable, 2 usage error.");
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err) || argc > 1) {
		g_printerr("ksmvirt status: %s\n", err ? err->message : "unexpected argument");
		return EXIT_USAGE;
	}
	if (!sock)
		sock = g_strdup(g_getenv("KSMVIRT_SOCKET") ? g_getenv("KSMVIRT_SOCKET") : DEFAULT_SOCKET);
	doc = kv_status_query(sock, &err);
	if (doc) {
		/* The daemon copies guest names as they are: make them UTF-8. */
		char *valid = kv_escape_json_text(doc);

		g_free(doc);
		doc = valid;
	}
	if (doc && !json)
		text = kv_status_render_text(doc, &err);
	if (!doc || (!json && !text)) {
		g_printerr("ksmvirt status: %s\n", err->message);
		return EXIT_FAIL;
	}
	if (!print_out("status", json ? doc : text))
		return EXIT_FAIL;
	if (json) {
		if (!print_out("status", "\n"))
			return EXIT_FAIL;
	} else {
		g_autofree char *insp = kv_inspect_status_render_text(doc);

		if (!print_out("status", insp))
			return EXIT_FAIL;
	}
	return 0;
}

/* KvOsLookup over an OS map (UUID -> KvOsInfo); DATA may be NULL. */
static gboolean
os_map_is_windows(const char *uuid, const char *name, gpointer data)
{
	g_autofree char *u = uuid ? g_ascii_strdown(uuid, -1) : NULL;

	return data && u && kv_os_info_is_windows(g_hash_table_lookup(data, u));
}

/* balance --print-config: the effective configuration of CONFIG (NULL:
 * the default file).  Returns the exit status. */
static int
balance_print_config(const char *config)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) err = NULL;
	g_autofree char *text = NULL;
	g_auto(KvConfig) cfg = { 0 };

	if (!kv_config_load(config ? config : KV_CONFIG_DEFAULT_PATH, &cfg, warnings, &err)) {
		g_printerr("ksmvirt balance: %s\n", err->message);
		return EXIT_FAIL;
	}
	text = kv_config_to_string(&cfg);
	return print_out("balance", text) ? 0 : EXIT_FAIL;
}

/* balance_ticks: TICKS ticks of BAL, INTERVAL_MS apart.  Returns 0,
 * EXIT_ACTION when an action of the last tick failed, EXIT_FAIL (after a
 * message) when nothing could be sensed. */
static int
balance_ticks(KvBalancer *bal, gint ticks, guint64 interval_ms, gboolean dry_run)
{
	g_autoptr(GError) err = NULL;
	guint failed = 0;

	for (gint i = 0; i < ticks; i++) {
		const KvPlan *plan;

		if (i > 0)
			g_usleep(interval_ms * 1000);
		plan = kv_balancer_tick(bal, dry_run, &err);
		if (!plan) {
			g_printerr("ksmvirt balance: %s\n", err->message);
			return EXIT_FAIL;
		}
		failed = 0;
		for (guint j = 0; j < plan->actions->len; j++) {
			const KvAction *a = g_ptr_array_index(plan->actions, j);

			if (a->result == KV_RESULT_TRANSIENT || a->result == KV_RESULT_PERMANENT)
				failed++;
		}
	}
	return failed ? EXIT_ACTION : 0;
}

/* balance_print: the balancer's notes on stderr, its status on stdout
 * (JSON or text).  Returns FALSE after a message. */
static gboolean
balance_print(KvBalancer *bal, gboolean json)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) notes = kv_balancer_take_notes(bal);
	g_autofree char *doc = kv_balancer_status_json(bal);
	g_autofree char *text = json ? NULL : kv_status_render_text(doc, &err);

	for (guint i = 0; i < notes->len; i++)
		g_printerr("ksmvirt balance: %s\n", (char *)g_ptr_array_index(notes, i));
	if (!json && !text) {
		g_printerr("ksmvirt balance: %s\n", err->message);
		return FALSE;
	}
	return print_out("balance", json ? doc : text) && (!json || print_out("balance", "\n"));
}

/* The guest OS (for use_zero_pages) from the OS map ksmvirtd keeps, or
 * NULL after a warning. */
static GHashTable *
balance_os_map(const KvCtx *ctx)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *path = kv_ctx_path(ctx, DEFAULT_OS_MAP);
	GHashTable *os_map = kv_os_map_load(path, &err);

	if (!os_map)
		g_printerr("ksmvirt balance: %s: guest OS unknown\n", err->message);
	return os_map;
}

/* ksmvirt balance --oneshot: one balancer tick (or a few) in this process. */
static int
cmd_balance(int argc, char **argv)
{
	gboolean oneshot = FALSE, dry_run = FALSE, json = FALSE, no_libvirt = FALSE, print_config = FALSE;
	g_autofree char *root = NULL, *uri = NULL, *config = NULL, *state_dir = NULL, *qemu_user = NULL;
	gint ticks = 1, interval_ms = -1;
	g_auto(GStrv) pid_args = NULL;
	g_autoptr(GArray) pids = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GOptionContext) oc = g_option_context_new("--oneshot - one balancer tick: sense, decide, act");
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) err = NULL;
	g_autoptr(KvCtx) ctx = NULL;
	g_autoptr(KvBalancer) bal = NULL;
	g_autoptr(GHashTable) os_map = NULL;
	g_auto(KvConfig) cfg = { 0 };
	int rc;
	GOptionEntry entries[] = {
		{ "oneshot", '1', 0, G_OPTION_ARG_NONE, &oneshot, "Run in this process and exit (required)", NULL },
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Only print what would be done", NULL },
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json, "JSON output (schema ksmvirt-status/1)", NULL },
		{ "config", 'C', 0, G_OPTION_ARG_FILENAME, &config,
		  "Configuration file (default " KV_CONFIG_DEFAULT_PATH ")", "FILE" },
		{ "ticks", 't', 0, G_OPTION_ARG_INT, &ticks, "Run N ticks (default 1)", "N" },
		{ "print-config", 0, 0, G_OPTION_ARG_NONE, &print_config,
		  "Print the effective configuration and exit", NULL },
		{ "interval", 'i', 0, G_OPTION_ARG_INT, &interval_ms,
		  "Milliseconds between ticks (default: tick-seconds)", "MS" },
		{ "state-dir", 'd', 0, G_OPTION_ARG_FILENAME, &state_dir,
		  "Keep state and history in DIR (default: none)", "DIR" },
		{ "root", 'r', 0, G_OPTION_ARG_FILENAME, &root,
		  "Read and write /proc and /sys below DIR (default $KSMVIRT_ROOT or /)", "DIR" },
		{ "connect", 0, 0, G_OPTION_ARG_STRING, &uri,
		  "libvirt URI (default qemu:///system if running)", "URI" },
		{ "no-libvirt", 0, 0, G_OPTION_ARG_NONE, &no_libvirt, "Do not ask libvirt", NULL },
		{ "pid", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pid_args,
		  "Also treat process PID as a guest; repeatable", "PID" },
		{ "qemu-user", 0, 0, G_OPTION_ARG_STRING, &qemu_user,
		  "The user libvirt runs QEMU as (default: qemu.conf's \"user\", else " KV_QEMU_USER_DEFAULT ")",
		  "USER" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};

	g_option_context_set_description(
		oc, "Exit status: 0 success, 1 failure reading the system or the configuration,\n"
		    "2 usage error, 5 an action failed.  See ksmvirt(1) and ksmvirtd.conf(5).");
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err) || argc > 1) {
		g_printerr("ksmvirt balance: %s\n", err ? err->message : "unexpected argument");
		return EXIT_USAGE;
	}
	if (print_config)
		return balance_print_config(config);
	if (!oneshot || ticks < 1 || ticks > 100000) {
		g_printerr("ksmvirt balance: %s\n", !oneshot ? "only --oneshot is supported; the continuous "
							       "balancer is ksmvirtd(8)"
							     : "--ticks takes 1..100000");
		return EXIT_USAGE;
	}
	rc = cli_prologue("balance", &root, pid_args, pids, &ctx);
	if (rc)
		return rc;
	if (!kv_config_load(config ? config : KV_CONFIG_DEFAULT_PATH, &cfg, warnings, &err)) {
		g_printerr("ksmvirt balance: %s\n", err->message);
		return EXIT_FAIL;
	}
	if (config && !g_file_test(config, G_FILE_TEST_EXISTS)) {
		g_printerr("ksmvirt balance: --config %s: no such file\n", config);
		return EXIT_USAGE;
	}
	for (guint i = 0; i < warnings->len; i++)
		g_printerr("ksmvirt balance: %s\n", (char *)g_ptr_array_index(warnings, i));
	os_map = balance_os_map(ctx);
	bal = kv_balancer_new(&(KvBalancerOptions){ .ctx = ctx,
						    .use_libvirt = cli_wants_libvirt(no_libvirt, uri, root),
						    .uri = uri,
						    .state_dir = state_dir,
						    .pids = pids,
						    .qemu_user = qemu_user,
						    .lookup_data = os_map,
						    .is_windows = os_map_is_windows },
			      &cfg);
	rc = balance_ticks(bal, ticks, (guint64)(interval_ms >= 0 ? (guint)interval_ms : cfg.tick_ms), dry_run);
	if (rc == EXIT_FAIL)
		return rc;
	return balance_print(bal, json) ? rc : EXIT_FAIL;
}

/* ksmvirt policy: change a guest's KSM policy, live and persistent. */
static int
cmd_policy(int argc, char **argv)
{
	gboolean dry_run = FALSE;
	g_autofree char *uri = NULL, *config = NULL;
	g_auto(GStrv) rest = NULL;
	g_autoptr(GOptionContext) oc =
		g_option_context_new("GUEST [merge=on|off|default] [group=NAME|-] [cell=N:on|off|default]... "
				     "- change a guest's KSM policy and apply it");
	g_autoptr(GError) err = NULL;
	g_autoptr(KvCtx) ctx = kv_ctx_new(NULL);
	g_autoptr(KvHv) hv = NULL;
	g_autoptr(KvPolicyChange) c = NULL;
	g_auto(KvConfig) cfg = { 0 };
	g_autofree char *name = NULL, *group = NULL, *out = NULL;
	GString *s;
	GOptionEntry entries[] = {
		{ "connect", 0, 0, G_OPTION_ARG_STRING, &uri, "libvirt URI (default qemu:///system)", "URI" },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config,
		  "ksmvirtd's configuration, for [isolation] and the unmerge reserve (default " KV_CONFIG_DEFAULT_PATH
		  ")",
		  "FILE" },
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Say what would change; change nothing", NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};

	g_option_context_add_main_entries(oc, entries, NULL);
	g_option_context_set_description(
		oc,
		"merge=off turns KSM merging off for the guest's RAM now (QEMU's memory backend property, set\n"
		"through libvirt's monitor passthrough: libvirt marks the domain tainted, custom-monitor) and\n"
		"keeps it off; it is refused, changing nothing, when its merged pages would not fit in\n"
		"MemAvailable minus [ksm] unmerge-reserve-mib.  group= puts it in a merge-isolation group\n"
		"(ksmvirtd.conf(5) [isolation]).  The policy is stored in the domain's metadata, live and\n"
		"persistent.  See ksmvirt(1).");
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		g_printerr("ksmvirt policy: %s\n", err->message);
		return EXIT_USAGE;
	}
	if (!rest || !rest[0]) {
		g_printerr("ksmvirt policy: which guest?  (ksmvirt policy --help)\n");
		return EXIT_USAGE;
	}
	if (!kv_config_load(config ? config : KV_CONFIG_DEFAULT_PATH, &cfg, NULL, &err)) {
		g_printerr("ksmvirt policy: %s\n", err->message);
		return EXIT_FAIL;
	}
	hv = kv_hv_libvirt_open_rw(ctx, uri ? uri : "qemu:///system", &err);
	if (!hv) {
		g_autofree char *why = kv_escape_term(err->message);

		g_printerr("ksmvirt policy: libvirt: %s\n", why);
		return EXIT_FAIL;
	}
	c = kv_policy_change(ctx, hv, &cfg, rest[0], (const char *const *)rest + 1, dry_run, &err);
	if (!c) {
		g_autofree char *why = kv_escape_term(err->message);

		g_printerr("ksmvirt policy: %s\n", why);
		return err->domain == G_OPTION_ERROR ? EXIT_USAGE : EXIT_FAIL;
	}
	name = kv_escape_term(c->guest);
	group = kv_escape_term(c->group);
	s = g_string_new(NULL);
	g_string_append_printf(s, "%s: policy %s -> %s%s\n", name, c->before, c->after,
			       dry_run ? " (dry run: not written)" : " (live and persistent)");
	g_string_append_printf(s, "%s: group %s; isolation %s\n", name, group, c->isolation);
	if (!c->active)
		g_string_append_printf(s, "%s: not running: applies when it starts\n", name);
	for (guint i = 0; i < c->applied->len; i++) {
		g_autofree char *line = kv_escape_term(c->applied->pdata[i]);

		g_string_append_printf(s, "%s: %s\n", name, line);
	}
	out = g_string_free(s, FALSE);
	return print_out("policy", out) ? 0 : EXIT_FAIL;
}

static void
usage(FILE *f)
{
	fputs("Usage: ksmvirt [COMMAND] [OPTION...]\n"
	      "\n"
	      "Commands:\n"
	      "  report     KSM sharing per guest, guest NUMA node and host NUMA node (default)\n"
	      "  inspect    the operating system on a guest's disks (libguestfs, read-only)\n"
	      "  advise     NUMA placement that maximises KSM sharing (merge_across_nodes=0)\n"
	      "  status     what ksmvirtd sees, its last decisions and why\n"
	      "  balance    --oneshot [--dry-run]: one balancer tick in this process\n"
	      "  policy     GUEST merge=on|off group=NAME: change a guest's KSM policy, live\n"
	      "  help       this text; \"ksmvirt COMMAND --help\" for a command's options\n"
	      "  version    print the version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error, 3 no KSM in this kernel,\n"
	      "4 not privileged enough, 5 a balancer action failed.  See ksmvirt(1).\n",
	      f);
}

static int
run_command(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "report";

	if (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[1], "--version")) {
			printf("ksmvirt %s\n", KSMVIRT_VERSION);
			return 0;
		}
		/* Options without a command belong to "report". */
		return cmd_report(argc, argv);
	}
	if (!strcmp(cmd, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(cmd, "advise"))
		return cmd_advise(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "balance"))
		return cmd_balance(argc - 1, argv + 1);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc - 1, argv + 1);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version")) {
		printf("ksmvirt %s\n", KSMVIRT_VERSION);
		return 0;
	}
	g_printerr("ksmvirt: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	/* Numbers in machine-readable output never use a locale's comma. */
	setlocale(LC_NUMERIC, "C");
	/* Output that did not reach its file is a failure, whatever wrote it. */
	return finish_stdout(run_command(argc, argv));
}
