/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kv-paths.h: ksmvirt's well-known files, in one place for the CLI, the
 * daemon and the hook.  RUNSTATEDIR and LOCALSTATEDIR come from
 * ./configure (--runstatedir, --localstatedir). */
#pragma once

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

/* ksmvirtd's socket: hook events, status. */
#define KV_PATH_SOCKET RUNSTATEDIR "/ksmvirt/ksmvirtd.sock"
/* Held by whoever changes host-wide KSM settings (daemon, demo, tests). */
#define KV_PATH_KSM_LOCK RUNSTATEDIR "/lock/ksmvirt-ksm.lock"
/* State: spool/, registry.json, os.json, inspect-cache.json, history. */
#define KV_PATH_STATE_DIR LOCALSTATEDIR "/lib/ksmvirt"
#define KV_PATH_REGISTRY KV_PATH_STATE_DIR "/registry.json"
#define KV_PATH_OS_MAP KV_PATH_STATE_DIR "/os.json"
