#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""merge_across_nodes on the real kernel: the change goes only through a
safe unmerge, and EBUSY from the kernel is handled without looping.

1. With pages merged (two mergeable helpers), `ksmvirt balance --oneshot
   --dry-run` on the real host refuses the change when the unmerge would
   not fit in MemAvailable minus the reserve, and plans run=2 (nothing
   else) when it fits.
2. EBUSY: a fake root whose merge_across_nodes is a link to the real knob
   claims nothing is merged, so the balancer writes it; the real kernel
   refuses with EBUSY (pages are merged).  The failure is classed
   transient, the NUMA policy waits instead of retrying every tick, and
   the real knob is unchanged.
Holds /run/lock/ksmvirt-ksm.lock and restores every KSM setting."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test import BUILD, TOP  # noqa: E402
from ksmvirt_test.ksm import KsmSettings, ksm_read, ksm_write, require_root_ksm  # noqa: E402
from ksmvirt_test.run import Helpers, wait_for  # noqa: E402
from ksmvirt_test.tap import Tap, skip  # noqa: E402

require_root_ksm()
if not os.path.exists("/sys/kernel/mm/ksm/merge_across_nodes"):
    skip("kernel without merge_across_nodes (no NUMA)")

t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-real-numa.")


def balance(*args):
    r = subprocess.run([os.path.join(BUILD, "ksmvirt"), "balance", "--oneshot", "--json"] + list(args),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip().startswith("{") else None), r.stderr


def dec(d, policy):
    return {x["policy"]: x for x in d["decisions"]}[policy]


try:
    with KsmSettings(), Helpers() as helpers:
        mode = ksm_read("merge_across_nodes")
        target = "0" if mode == "1" else "1"
        ksm_write("pages_to_scan", 5000)
        ksm_write("sleep_millisecs", 0)
        ksm_write("run", 1)
        for _ in range(2):
            helpers.start(16, "same", seed=99)
        wait_for(lambda: int(ksm_read("pages_sharing")) >= 2048, 240, "pages merged")

        conf = os.path.join(work, "refuse.conf")
        with open(conf, "w") as f:
            f.write("[numa]\nmerge-across-nodes = %s\n[ksm]\nunmerge-reserve-mib = 100000000\n"
                    "[balloon]\nmanage = false\n[swap]\nmanage = false\n" % target)
        rc, d, err = balance("--dry-run", "--no-libvirt", "--config", conf)
        t.ok(rc == 0 and d is not None, "dry run on the real host (rc %d) %s" % (rc, err.strip()))
        numa = dec(d, "numa")
        t.ok(numa["decision"] == "refuse" and "reserve" in numa["reason"],
             "unmerge that does not fit is refused: %s" % numa["reason"])
        t.ok(not any(a.get("knob") in ("merge_across_nodes",) or (a.get("knob") == "run" and a["value"] == 2)
                     for a in d["actions"]), "no run=2 and no merge_across_nodes write planned")

        with open(conf, "w") as f:
            f.write("[numa]\nmerge-across-nodes = %s\n[ksm]\nunmerge-reserve-mib = 0\n"
                    "[balloon]\nmanage = false\n[swap]\nmanage = false\n" % target)
        rc, d, err = balance("--dry-run", "--no-libvirt", "--config", conf)
        numa = dec(d, "numa")
        planned = [a for a in d["actions"] if a["policy"] == "numa"]
        t.ok(numa["decision"] == "unmerge" and len(planned) == 1 and planned[0]["knob"] == "run"
             and planned[0]["value"] == 2, "when it fits: run=2 first, the knob later: %s" % numa["reason"])
        t.ok(dec(d, "ksm")["decision"] == "hold", "KSM policy holds while NUMA unmerges")

        # EBUSY from the real kernel through a fake root.
        root = os.path.join(work, "root")
        subprocess.run([sys.executable, os.path.join(TOP, "tests/daemon/mkguests.py"), "0", root], check=True)
        knob = os.path.join(root, "sys/kernel/mm/ksm/merge_across_nodes")
        os.unlink(knob)
        os.symlink("/sys/kernel/mm/ksm/merge_across_nodes", knob)
        with open(conf, "w") as f:
            f.write("[numa]\nmerge-across-nodes = %s\n" % target)
        state = os.path.join(work, "state")
        rc, d, err = balance("--root", root, "--no-libvirt", "--config", conf, "--state-dir", state)
        acts = [a for a in d["actions"] if a.get("knob") == "merge_across_nodes"]
        t.ok(rc == 5 and len(acts) == 1 and acts[0]["result"] == "failed-transient"
             and "busy" in acts[0]["error"].lower(),
             "the kernel's EBUSY is reported as transient: %s" % (acts[0]["error"] if acts else d["actions"]))
        t.ok(ksm_read("merge_across_nodes") == mode, "the real knob is unchanged")
        rc, d, err = balance("--root", root, "--no-libvirt", "--config", conf, "--state-dir", state,
                             "--ticks", "3", "--interval", "0")
        numa = dec(d, "numa")
        t.ok(rc == 0 and numa["decision"] == "wait" and not d["recent_actions"],
             "no retry loop: the policy waits (%s)" % numa["reason"])
finally:
    shutil.rmtree(work, ignore_errors=True)
t.done()
