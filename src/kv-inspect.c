/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-inspect.c: guest OS inspection with libguestfs, its cache and the
 * bounded child that runs it. */
#include "kv-inspect.h"
#include "kv-ctx.h"
#include "kv-escape.h"

#include <dlfcn.h>
#include <errno.h>
#include <guestfs.h>
#include "kv-file.h"
#include "kv-json.h"
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

KvOsInfo *
kv_os_info_new_unknown(const char *reason)
{
	KvOsInfo *os = g_new0(KvOsInfo, 1);

	os->type = g_strdup("unknown");
	os->reason = g_strdup(reason);
	return os;
}

void
kv_os_info_free(KvOsInfo *os)
{
	if (!os)
		return;
	g_free(os->type);
	g_free(os->distro);
	g_free(os->product_name);
	g_free(os->arch);
	g_free(os->reason);
	g_free(os);
}

KvOsInfo *
kv_os_info_copy(const KvOsInfo *os)
{
	KvOsInfo *c = g_new0(KvOsInfo, 1);

	c->type = g_strdup(os->type);
	c->distro = g_strdup(os->distro);
	c->product_name = g_strdup(os->product_name);
	c->major = os->major;
	c->minor = os->minor;
	c->arch = g_strdup(os->arch);
	c->reason = g_strdup(os->reason);
	return c;
}

char *
kv_os_info_family(const KvOsInfo *os)
{
	if (!os || !os->type || !strcmp(os->type, "unknown"))
		return g_strdup("unknown");
	return g_strdup_printf("%s/%s/%d", os->type, os->distro ? os->distro : "unknown", os->major);
}

gboolean
kv_os_info_is_windows(const KvOsInfo *os)
{
	return os && g_strcmp0(os->type, "windows") == 0;
}

void
kv_os_info_build_json(JsonBuilder *b, const KvOsInfo *os, gboolean with_family)
{
	g_autofree char *family = with_family ? kv_os_info_family(os) : NULL;

	json_builder_begin_object(b);
	kv_json_str(b, "type", os->type);
	kv_json_str(b, "distro", os->distro);
	kv_json_str(b, "product_name", os->product_name);
	kv_json_str(b, "arch", os->arch);
	if (with_family)
		kv_json_str(b, "family", family);
	kv_json_str(b, "reason", os->reason);
	kv_json_i64(b, "major", os->major);
	kv_json_i64(b, "minor", os->minor);
	json_builder_end_object(b);
}

char *
kv_os_info_to_json(const KvOsInfo *os)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	kv_os_info_build_json(b, os, FALSE);
	return kv_json_to_string(b, FALSE);
}

static char *
str_member(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
		       ? g_strdup(json_node_get_string(n))
		       : NULL;
}

static KvOsInfo *
os_info_from_object(JsonObject *o)
{
	KvOsInfo *os = g_new0(KvOsInfo, 1);

	os->type = str_member(o, "type");
	if (!os->type)
		os->type = g_strdup("unknown");
	os->distro = str_member(o, "distro");
	os->product_name = str_member(o, "product_name");
	os->arch = str_member(o, "arch");
	os->reason = str_member(o, "reason");
	os->major = (int)kv_json_get_int(o, "major", 0);
	os->minor = (int)kv_json_get_int(o, "minor", 0);
	return os;
}

KvOsInfo *
kv_os_info_from_json(const char *buf, GError **error)
{
	g_autoptr(JsonNode) root = kv_json_parse(buf, -1, 0, 0, error);

	if (!root)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "OS information is not a JSON object");
		return NULL;
	}
	return os_info_from_object(json_node_get_object(root));
}

/* libguestfs is loaded when a disk is inspected, not when a program
 * starts: its load pulls in and initialises libraries (libvirt among
 * them) that ksmvirtd and ksmvirt would otherwise carry in memory for
 * nothing (see BENCHMARKS.md, ksmvirtd footprint).  The names below stand
 * for the loaded functions, so the code reads as plain libguestfs. */
/* One X() list, wrapped by hand. */
/* clang-format off */
#define GFS_FUNCS(X) X(create) X(close) X(set_error_handler) X(last_error) X(add_drive_opts) \
	X(launch) X(inspect_os) X(list_devices) X(list_partitions) X(vfs_type) X(inspect_get_type) \
	X(inspect_get_distro) X(inspect_get_product_name) X(inspect_get_major_version) \
	X(inspect_get_minor_version) X(inspect_get_arch)
/* clang-format on */

static struct {
#define X(f) __typeof__(guestfs_##f) *f;
	GFS_FUNCS(X)
#undef X
} gfs;

/* Returns NULL once libguestfs is loaded, else why it cannot be. */
static char *
gfs_load(void)
{
	static void *lib;
	void *h;

	if (lib)
		return NULL;
	h = dlopen("libguestfs.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return g_strdup_printf("libguestfs is not available: %s", dlerror());
#define X(f)                                                                 \
	if (!(gfs.f = (__typeof__(guestfs_##f) *)dlsym(h, "guestfs_" #f))) { \
		dlclose(h);                                                  \
		return g_strdup("libguestfs lacks guestfs_" #f);             \
	}
	GFS_FUNCS(X)
#undef X
	lib = h;
	return NULL;
}

#define guestfs_create gfs.create
#define guestfs_close gfs.close
#define guestfs_set_error_handler gfs.set_error_handler
#define guestfs_last_error gfs.last_error
#define guestfs_add_drive_opts gfs.add_drive_opts
#define guestfs_launch gfs.launch
#define guestfs_inspect_os gfs.inspect_os
#define guestfs_list_devices gfs.list_devices
#define guestfs_list_partitions gfs.list_partitions
#define guestfs_vfs_type gfs.vfs_type
#define guestfs_inspect_get_type gfs.inspect_get_type
#define guestfs_inspect_get_distro gfs.inspect_get_distro
#define guestfs_inspect_get_product_name gfs.inspect_get_product_name
#define guestfs_inspect_get_major_version gfs.inspect_get_major_version
#define guestfs_inspect_get_minor_version gfs.inspect_get_minor_version
#define guestfs_inspect_get_arch gfs.inspect_get_arch

static char *
last_error(guestfs_h *g, const char *what)
{
	const char *e = guestfs_last_error(g);

	return g_strdup_printf("%s: %s", what, e ? e : "unknown libguestfs error");
}

static void
free_strv(char **v)
{
	for (guint i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Why no OS was found: an encrypted or unknown device says more than
 * "nothing found".  Looks at every whole device and partition. */
static char *
explain_no_root(guestfs_h *g)
{
	char **devs = guestfs_list_devices(g);
	char **parts = guestfs_list_partitions(g);
	g_autoptr(GString) why = g_string_new("no operating system found");
	guint encrypted = 0, known = 0;

	for (int pass = 0; pass < 2; pass++) {
		char **list = pass ? parts : devs;

		for (guint i = 0; list && list[i]; i++) {
			char *type = guestfs_vfs_type(g, list[i]);

			if (type && (!strcmp(type, "crypto_LUKS") || !strcmp(type, "BitLocker"))) {
				g_string_append_printf(why, "%s %s is encrypted (%s)", encrypted ? "," : ":",
						       list[i], type);
				encrypted++;
			} else if (type && *type) {
				known++;
			}
			free(type);
		}
	}
	if (!encrypted && !known)
		g_string_append(why, ": no filesystem recognised (corrupt or unknown disk)");
	else if (!encrypted)
		g_string_append(why, ": filesystems without a known OS layout");
	free_strv(devs);
	free_strv(parts);
	return g_string_free(g_steal_pointer(&why), FALSE);
}

KvOsInfo *
kv_inspect_disks(const char *const *disks)
{
	guestfs_h *g;
	char **roots;
	KvOsInfo *os = NULL;

	if (!disks || !disks[0])
		return kv_os_info_new_unknown("no disk");
	for (guint i = 0; disks[i]; i++) {
		if (access(disks[i], R_OK) != 0) {
			g_autofree char *why = g_strdup_printf("disk %s: %s", disks[i], g_strerror(errno));

			return kv_os_info_new_unknown(why);
		}
	}
	{
		g_autofree char *why = gfs_load();

		if (why)
			return kv_os_info_new_unknown(why);
	}
	g = guestfs_create();
	if (!g)
		return kv_os_info_new_unknown("cannot create a libguestfs handle");
	/* libguestfs prints errors to stderr by default; the library keeps
	 * the last one for the reason instead. */
	guestfs_set_error_handler(g, NULL, NULL);
	for (guint i = 0; disks[i]; i++) {
		/* Read-only: never write to a running guest's disk. */
		if (guestfs_add_drive_opts(g, disks[i], GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1) == -1) {
			g_autofree char *why = last_error(g, disks[i]);

			guestfs_close(g);
			return kv_os_info_new_unknown(why);
		}
	}
	if (guestfs_launch(g) == -1) {
		g_autofree char *why = last_error(g, "launching the libguestfs appliance");

		guestfs_close(g);
		return kv_os_info_new_unknown(why);
	}
	roots = guestfs_inspect_os(g);
	if (!roots || !roots[0]) {
		g_autofree char *why = roots ? explain_no_root(g) : last_error(g, "inspect_os");

		os = kv_os_info_new_unknown(why);
	} else {
		const char *r = roots[0];

		os = g_new0(KvOsInfo, 1);
		os->type = guestfs_inspect_get_type(g, r);
		os->distro = guestfs_inspect_get_distro(g, r);
		os->product_name = guestfs_inspect_get_product_name(g, r);
		os->major = guestfs_inspect_get_major_version(g, r);
		os->minor = guestfs_inspect_get_minor_version(g, r);
		os->arch = guestfs_inspect_get_arch(g, r);
		if (!os->type)
			os->type = g_strdup("unknown");
	}
	free_strv(roots);
	guestfs_close(g);
	return os;
}

/* Loads the JSON file at PATH (root node into *ROOTP) and returns its
 * top-level MEMBER of type TYPE (borrowed from *ROOTP).  A missing file sets
 * *MISSING and returns NULL without an error; WHAT names the file kind in
 * the error for any other problem. */
static JsonNode *
load_json_member(JsonNode **rootp, const char *path, const char *member, JsonNodeType type, const char *what,
		 gboolean *missing, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *buf = NULL;
	JsonNode *root, *node;
	gsize len = 0;

	*missing = FALSE;
	if (!g_file_get_contents(path, &buf, &len, &local)) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			*missing = TRUE;
		else
			g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	root = *rootp = kv_json_parse(buf, (gssize)MIN(len, (gsize)G_MAXSSIZE), 0, 0, error);
	if (!root) {
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT(root) ||
	    !(node = json_object_get_member(json_node_get_object(root), member)) ||
	    JSON_NODE_TYPE(node) != type) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "%s: not %s", path, what);
		return NULL;
	}
	return node;
}

struct KvInspectCache {
	GHashTable *map; /* key -> KvOsInfo */
};

KvInspectCache *
kv_inspect_cache_new(void)
{
	KvInspectCache *c = g_new0(KvInspectCache, 1);

	c->map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)kv_os_info_free);
	return c;
}

void
kv_inspect_cache_free(KvInspectCache *c)
{
	if (!c)
		return;
	g_hash_table_unref(c->map);
	g_free(c);
}

char *
kv_inspect_cache_key(const char *const *disks, char **why)
{
	g_autoptr(GString) key = g_string_new(NULL);

	for (guint i = 0; disks && disks[i]; i++) {
		struct stat st;

		if (stat(disks[i], &st) != 0) {
			if (why)
				*why = g_strdup_printf("disk %s: %s", disks[i], g_strerror(errno));
			return NULL;
		}
		g_string_append_printf(key, "%s\t%lld\t%lld.%09ld\n", disks[i], (long long)st.st_size,
				       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	}
	return g_string_free(g_steal_pointer(&key), FALSE);
}

const KvOsInfo *
kv_inspect_cache_lookup(KvInspectCache *c, const char *key)
{
	return key ? g_hash_table_lookup(c->map, key) : NULL;
}

void
kv_inspect_cache_store(KvInspectCache *c, const char *key, const KvOsInfo *os)
{
	g_hash_table_replace(c->map, g_strdup(key), kv_os_info_copy(os));
}

guint
kv_inspect_cache_size(KvInspectCache *c)
{
	return g_hash_table_size(c->map);
}

KvInspectCache *
kv_inspect_cache_load(const char *path, GError **error)
{
	g_autoptr(KvInspectCache) c = kv_inspect_cache_new();
	g_autoptr(JsonNode) root = NULL;
	gboolean missing;
	JsonNode *entries = load_json_member(&root, path, "entries", JSON_NODE_ARRAY, "an inspection cache",
					     &missing, error);

	if (!entries)
		return missing ? g_steal_pointer(&c) : NULL;
	for (guint i = 0; i < json_array_get_length(json_node_get_array(entries)); i++) {
		JsonNode *e = json_array_get_element(json_node_get_array(entries), i);
		JsonObject *o;
		g_autofree char *key = NULL;
		JsonNode *osn;

		if (!JSON_NODE_HOLDS_OBJECT(e))
			continue;
		o = json_node_get_object(e);
		key = str_member(o, "key");
		osn = json_object_get_member(o, "os");
		if (key && osn && JSON_NODE_HOLDS_OBJECT(osn))
			g_hash_table_replace(c->map, g_steal_pointer(&key),
					     os_info_from_object(json_node_get_object(osn)));
	}
	return g_steal_pointer(&c);
}

gboolean
kv_inspect_cache_save(KvInspectCache *c, const char *path, GError **error)
{
	g_autoptr(GString) out = g_string_new("{\n  \"schema\": \"ksmvirt-inspect-cache/1\",\n  \"entries\": [");
	g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(c->map), (GCompareFunc)strcmp);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *valid = NULL;

	for (GList *l = keys; l; l = l->next) {
		g_autofree char *os = kv_os_info_to_json(g_hash_table_lookup(c->map, l->data));
		g_autoptr(JsonNode) k = json_node_init_string(json_node_alloc(), l->data);
		g_autofree char *ks = json_to_string(k, FALSE);

		g_string_append_printf(out, "%s\n    { \"key\": %s, \"os\": %s }", l == keys ? "" : ",", ks, os);
	}
	g_string_append(out, "\n  ]\n}\n");
	/* Names from inspection and disk paths may be any bytes: a cache must
	 * load again (an escaped path no longer matches: it is inspected anew). */
	valid = kv_escape_json_text(out->str);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		kv_set_error_errno(error, errno, dir);
		return FALSE;
	}
	return kv_file_write_atomic(path, valid, strlen(valid), 0644, 0, error);
}

static void
child_setup(gpointer data)
{
	/* Its own process group, so a timeout kills the appliance too. */
	setpgid(0, 0);
}

gboolean
kv_inspect_child_spawn(const char *const *argv, GPid *pid, int *out_fd, GError **error)
{
	return g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
					G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL, child_setup,
					NULL, pid, NULL, out_fd, NULL, error);
}

KvOsInfo *
kv_inspect_child_result(const char *out, int wait_status, gboolean timed_out, guint timeout_s)
{
	g_autoptr(GError) err = NULL;
	KvOsInfo *os;

	if (timed_out) {
		g_autofree char *why = g_strdup_printf("inspection timed out after %u s", timeout_s);

		return kv_os_info_new_unknown(why);
	}
	os = kv_os_info_from_json(out ? out : "", &err);
	if (!os) {
		g_autofree char *why = g_strdup_printf("inspection failed (%s %d): %s",
						       WIFSIGNALED(wait_status) ? "signal" : "exit",
						       WIFSIGNALED(wait_status) ? WTERMSIG(wait_status)
						       : WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
										: -1,
						       err ? err->message : "no answer");

		return kv_os_info_new_unknown(why);
	}
	return os;
}

gboolean
kv_os_info_is_transient(const KvOsInfo *os)
{
	/* Answers about the run, not about the disks' content. */
	static const char *const prefixes[] = {
		"inspection ",                        /* timeout, crash, no answer */
		"launching the libguestfs appliance", /* kv_inspect_disks */
		"cannot create a libguestfs handle",
	};
	const char *r = os && os->reason ? os->reason : "";

	for (guint i = 0; i < G_N_ELEMENTS(prefixes); i++)
		if (g_str_has_prefix(r, prefixes[i]))
			return TRUE;
	return FALSE;
}

KvOsInfo *
kv_inspect_run_child(const char *const *argv, guint timeout_s)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	int out_fd = -1;
	GPid pid;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
	int status = 0;
	gboolean timed_out = FALSE;

	if (!kv_inspect_child_spawn(argv, &pid, &out_fd, &err)) {
		g_autofree char *why = g_strdup_printf("cannot run %s: %s", argv[0], err->message);

		return kv_os_info_new_unknown(why);
	}
	for (;;) {
		char buf[4096];
		gint64 left = deadline - g_get_monotonic_time();
		GPollFD pfd = { .fd = out_fd, .events = G_IO_IN | G_IO_HUP };
		ssize_t n;

		if (left <= 0) {
			timed_out = TRUE;
			break;
		}
		if (g_poll(&pfd, 1, (gint)MIN(left / 1000 + 1, 1000)) <= 0)
			continue;
		n = read(out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len < (1u << 20))
			g_string_append_len(out, buf, n);
	}
	close(out_fd);
	if (timed_out)
		kill(-pid, SIGKILL);
	/* The child either closed its output (done) or was killed. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL); /* any appliance left behind in its group */
	g_spawn_close_pid(pid);
	return kv_inspect_child_result(out->str, status, timed_out, timeout_s);
}

GHashTable *
kv_os_map_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)kv_os_info_free);
}

GHashTable *
kv_os_map_load(const char *path, GError **error)
{
	g_autoptr(GHashTable) map = kv_os_map_new();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GList) members = NULL;
	gboolean missing;
	JsonNode *guests =
		load_json_member(&root, path, "guests", JSON_NODE_OBJECT, "an OS map", &missing, error);

	if (!guests)
		return missing ? g_steal_pointer(&map) : NULL;
	members = json_object_get_members(json_node_get_object(guests));
	for (GList *l = members; l; l = l->next) {
		JsonNode *n = json_object_get_member(json_node_get_object(guests), l->data);

		if (JSON_NODE_HOLDS_OBJECT(n))
			g_hash_table_replace(map, g_ascii_strdown(l->data, -1),
					     os_info_from_object(json_node_get_object(n)));
	}
	return g_steal_pointer(&map);
}

gboolean
kv_os_map_save(GHashTable *map, const char *path, GError **error)
{
	g_autoptr(GString) out = g_string_new("{\n  \"schema\": \"ksmvirt-os/1\",\n  \"guests\": {");
	g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(map), (GCompareFunc)strcmp);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *valid = NULL;

	for (GList *l = keys; l; l = l->next) {
		g_autofree char *os = kv_os_info_to_json(g_hash_table_lookup(map, l->data));
		g_autoptr(JsonNode) k = json_node_init_string(json_node_alloc(), l->data);
		g_autofree char *ks = json_to_string(k, FALSE);

		g_string_append_printf(out, "%s\n    %s: %s", l == keys ? "" : ",", ks, os);
	}
	g_string_append(out, "\n  }\n}\n");
	/* Names from inspection may be any bytes: a map must load again. */
	valid = kv_escape_json_text(out->str);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		kv_set_error_errno(error, errno, dir);
		return FALSE;
	}
	return kv_file_write_atomic(path, valid, strlen(valid), 0644, 0, error);
}
