#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A guest memory cgroup limit the kernel refuses (EBUSY): detected, not
retried every tick.

A process with 48 MiB of locked memory runs in a cgroup v1 memory group
(/sys/fs/cgroup/memory/ksmvirt-test-busy).  A fake host root claims memory
stalls and one guest whose memory cgroup directory is a link to that real
group; the swap policy lowers the guest's limit below what the kernel can
reclaim, so the real write fails with EBUSY (as it does for a guest that
is charged KSM-merged pages).  The failure is classed transient, the
policy then leaves the guest alone for busy-ticks ticks, and the real
limit is unchanged.  Touches no KSM setting."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test import BUILD, TOP  # noqa: E402
from ksmvirt_test.tap import Tap, fail, skip  # noqa: E402

CG = "/sys/fs/cgroup/memory/ksmvirt-test-busy"
if os.geteuid() != 0:
    skip("needs root")
if not os.path.isdir("/sys/fs/cgroup/memory"):
    skip("no cgroup v1 memory controller")

t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-cgroup-busy.")
holder = None


def balance(*args):
    r = subprocess.run([os.path.join(BUILD, "ksmvirt"), "balance", "--oneshot", "--json", "--no-libvirt"]
                       + list(args), capture_output=True, text=True, timeout=120)
    return r.returncode, json.loads(r.stdout), r.stderr


try:
    os.makedirs(CG, exist_ok=True)

    def into_cgroup():
        with open(os.path.join(CG, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    holder = subprocess.Popen([sys.executable, "-c",
                               "import ctypes, sys, time\n"
                               "if ctypes.CDLL(None).mlockall(3) != 0: sys.exit(3)\n"
                               "b = bytearray(48 << 20)\n"
                               "for i in range(0, len(b), 4096): b[i] = 1\n"
                               "print('ready', flush=True)\n"
                               "time.sleep(600)\n"],
                              stdout=subprocess.PIPE, text=True, preexec_fn=into_cgroup)
    if holder.stdout.readline().strip() != "ready":
        fail("the memory holder did not start (mlockall failed?)")
    with open(os.path.join(CG, "memory.limit_in_bytes")) as f:
        limit_before = f.read().strip()
    with open(os.path.join(CG, "memory.usage_in_bytes")) as f:
        usage = int(f.read())

    root = os.path.join(work, "root")
    subprocess.run([sys.executable, os.path.join(TOP, "tests/daemon/mkguests.py"), "2", root, "--ram-mib", "64",
                    "--psi-some", "30", "--psi-full", "30"], check=True)
    # guest-0001 is the cgroup v1 one: its directory becomes the real group.
    with open(os.path.join(root, "proc/10001/cgroup")) as f:
        rel = f.readline().split(":", 2)[2].strip()
    d = root + "/sys/fs/cgroup/memory" + rel
    shutil.rmtree(d)
    os.symlink(CG, d)
    # Only the guest in the real group.
    shutil.rmtree(os.path.join(root, "proc/10000"))
    conf = os.path.join(work, "conf")
    with open(conf, "w") as f:
        f.write("[ksm]\nmanage = false\n[swap]\nstep-percent = 50\nmin-percent = 10\nbusy-ticks = 5\n")
    state = os.path.join(work, "state")

    rc, d1, err = balance("--root", root, "--config", conf, "--state-dir", state)
    acts = [a for a in d1["actions"] if a["policy"] == "swap"]
    t.ok(len(acts) == 1 and int(acts[0]["value"]) < usage,
         "the swap policy lowers the guest's limit below its usage (%s)" %
         (acts[0]["description"] if acts else d1["decisions"]))
    t.ok(rc == 5 and acts and acts[0]["result"] == "failed-transient" and "busy" in acts[0]["error"].lower(),
         "the kernel's EBUSY is detected and classed transient: %s" % (acts[0].get("error") if acts else err))
    with open(os.path.join(CG, "memory.limit_in_bytes")) as f:
        t.ok(f.read().strip() == limit_before, "the real limit is unchanged")

    rc, d2, err = balance("--root", root, "--config", conf, "--state-dir", state, "--ticks", "4",
                          "--interval", "0")
    swap = {x["policy"]: x for x in d2["decisions"]}["swap"]
    t.ok(rc == 0 and not d2["recent_actions"] and "EBUSY" in swap["reason"],
         "no retry while the guest waits: %s" % swap["reason"])
    rc, d3, err = balance("--root", root, "--config", conf, "--state-dir", state)
    acts = [a for a in d3["actions"] if a["policy"] == "swap"]
    t.ok(len(acts) == 1, "after busy-ticks the write is tried once more (tick %d)" % d3["tick"])
finally:
    if holder and holder.poll() is None:
        holder.kill()
        holder.wait()
    for _ in range(50):
        try:
            os.rmdir(CG)
            break
        except FileNotFoundError:
            break
        except OSError:
            time.sleep(0.2)
    shutil.rmtree(work, ignore_errors=True)
t.done()
