/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inspect.h: ksmvirtd's inspection runner: the OS on running guests'
 * disks, one libguestfs appliance at a time in a child process watched
 * from the main loop. */
#pragma once

#include <glib.h>

#include "kv-config.h"
#include "kv-ctx.h"

G_BEGIN_DECLS

/* "ksmvirtd --inspect-child DISK...": the child's command line. */
#define KVD_INSPECT_CHILD_ARG "--inspect-child"

typedef struct KvdInspector KvdInspector;

/* kvd_inspect_child_main: the child: inspect DISKS (ARGV, ARGC of them)
 * in this process and print the JSON answer.  Returns the exit status. */
int kvd_inspect_child_main(int argc, char **argv);

/* kvd_inspector_new: loads the cache and the OS map from STATE_DIR (or
 * where CFG names them; unreadable ones start empty, logged).  CFG is the
 * daemon's configuration, followed across reloads, and must outlive the
 * runner; so must CTX and URI.  Without USE_LIBVIRT it never inspects. */
KvdInspector *kvd_inspector_new(const KvCtx *ctx, const char *uri, const KvConfig *cfg, const char *state_dir,
				gboolean use_libvirt);
/* At exit: no appliance outlives the daemon. */
void kvd_inspector_free(KvdInspector *in);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KvdInspector, kvd_inspector_free)

/* kvd_inspector_start: the first scan once the loop turns, then one
 * every interval-seconds. */
void kvd_inspector_start(KvdInspector *in);
/* kvd_inspector_reconfigure: after a reload: retime the scans when
 * interval-seconds changed from OLD_INTERVAL_S. */
void kvd_inspector_reconfigure(KvdInspector *in, guint old_interval_s);

/* kvd_inspector_is_windows: TRUE when the guest UUID is known to run
 * Windows. */
gboolean kvd_inspector_is_windows(const KvdInspector *in, const char *uuid);

/* kvd_inspector_status_json: the status document DOC with the inspection
 * state added as "inspection" (DOC itself when it is not an object). */
gchar *kvd_inspector_status_json(const KvdInspector *in, const char *doc);

G_END_DECLS
