#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real host: ksmvirtd tunes KSM under memory pressure and backs off.

Mergeable helpers hold identical memory; a memory hog in a memory cgroup
(v1, /sys/fs/cgroup/memory/ksmvirt-test) limited below its working set,
with a temporary swap file, makes the host stall on memory (PSI).  The
daemon must turn KSM on, raise the scan rate while merging pays, let the
savings converge, back off when nothing more merges; then, with the
helpers' merged memory pushed out to swap (their own memory cgroup limited)
and read back through /proc/PID/mem, which on a stock kernel gives every
helper its own copy (ksm_swpin_copy), re-arm scanning and merge the copies
again; and, once the hog is gone, stop scanning while keeping the merged
pages (run=0, never run=2).
Each step is checked in the daemon's status (decisions and reasons) and in
sysfs.  Holds /run/lock/ksmvirt-ksm.lock and restores every KSM setting.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test import BUILD  # noqa: E402
from ksmvirt_test.ksm import KsmSettings, ksm_read, ksm_stat, ksm_write, require_root_ksm  # noqa: E402
from ksmvirt_test.run import Helpers  # noqa: E402
from ksmvirt_test.tap import Tap, fail, skip  # noqa: E402

CG = "/sys/fs/cgroup/memory/ksmvirt-test"
CG_HELPERS = "/sys/fs/cgroup/memory/ksmvirt-test-helpers"
HELPERS, HELPER_MIB = 4, 64
PAGES = HELPER_MIB * 256

require_root_ksm()
if not os.path.exists("/proc/pressure/memory"):
    skip("kernel without PSI")
if not os.path.isdir("/sys/fs/cgroup/memory"):
    skip("no cgroup v1 memory controller")

t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-real-balance.", dir="/var/tmp")
swapfile = os.path.join(work, "swap")
hog = daemon = None
swap_on = False


def psi_some():
    with open("/proc/pressure/memory") as f:
        return float(f.readline().split()[1].split("=")[1])


def status():
    r = subprocess.run([os.path.join(BUILD, "ksmvirt"), "status", "--json", "--socket", sock],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def decision(s, policy):
    return {d["policy"]: d for d in s["decisions"]}[policy]


def cleanup():
    global swap_on
    for p in (daemon, hog):
        if p and p.poll() is None:
            p.kill()
            p.wait()
    if swap_on:
        subprocess.run(["swapoff", swapfile])
        swap_on = False
    for cg in (CG, CG_HELPERS):
        if not os.path.isdir(cg):
            continue
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.2)
    shutil.rmtree(work, ignore_errors=True)


sock = os.path.join(work, "ksmvirtd.sock")
log_path = os.path.join(work, "ksmvirtd.log")
try:
    with KsmSettings(), Helpers() as helpers:
        # Known start: scanning off, slow rate, no advisor.
        ksm_write("run", 0)
        ksm_write("pages_to_scan", 100)
        ksm_write("sleep_millisecs", 20)
        if os.path.exists("/sys/kernel/mm/ksm/advisor_mode"):
            ksm_write("advisor_mode", "none")
        # The helpers live in a memory cgroup of their own, unlimited until
        # their merged memory is pushed out to swap below.
        os.makedirs(CG_HELPERS, exist_ok=True)

        def helpers_cgroup():
            with open(os.path.join(CG_HELPERS, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

        pids = [helpers.start(HELPER_MIB, "same", seed=4242, preexec_fn=helpers_cgroup)
                for _ in range(HELPERS)]

        # Memory pressure: a hog in a memory cgroup limited below its size,
        # swapping to a temporary swap file.
        if subprocess.run(["fallocate", "-l", "512M", swapfile]).returncode != 0:
            subprocess.run(["dd", "if=/dev/zero", "of=" + swapfile, "bs=1M", "count=512", "status=none"],
                           check=True)
        os.chmod(swapfile, 0o600)
        subprocess.run(["mkswap", "-q", swapfile], check=True)
        if subprocess.run(["swapon", swapfile]).returncode != 0:
            fail("swapon %s failed" % swapfile)
        swap_on = True
        os.makedirs(CG, exist_ok=True)
        with open(os.path.join(CG, "memory.limit_in_bytes"), "w") as f:
            f.write(str(64 << 20))

        def into_cgroup():
            with open(os.path.join(CG, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

        hog = subprocess.Popen([sys.executable, "-c",
                                "b = bytearray(160 << 20)\n"
                                "while True:\n"
                                "    for i in range(0, len(b), 4096): b[i] = (b[i] + 1) & 255\n"],
                               preexec_fn=into_cgroup)
        t0 = time.time()
        while psi_some() < 1.5 and time.time() - t0 < 60:
            time.sleep(1)
        t.ok(psi_some() >= 1.5, "the hog makes the host stall on memory (PSI some %.1f%%)" % psi_some())

        conf = os.path.join(work, "ksmvirtd.conf")
        with open(conf, "w") as f:
            f.write("[daemon]\ntick-seconds = 1\n"
                    "[ksm]\npsi-some-on-percent = 1.5\npsi-some-off-percent = 0.5\n"
                    "pages-to-scan-start = 100\npages-to-scan-min = 64\npages-to-scan-max = 10000\n"
                    "backoff-ticks = 2\nlock-file =\n"
                    "[balloon]\nmanage = false\n[swap]\nmanage = false\n")
        # The test holds the KSM lock itself: the daemon is told not to
        # take it (lock-file empty) and not to touch guests (no libvirt,
        # balloons and swap unmanaged).
        daemon = subprocess.Popen([os.path.join(BUILD, "ksmvirtd"), "--socket", sock,
                                   "--state-dir", os.path.join(work, "state"), "--config", conf,
                                   "--no-libvirt", "--verbose"],
                                  stdout=open(log_path, "w"), stderr=subprocess.STDOUT)

        seen_on = seen_raise = seen_backoff = False
        max_pages = 0
        pages_after_backoff = None
        merged = 0
        on_reason = raise_reason = backoff_reason = ""
        deadline = time.time() + 150
        while time.time() < deadline:
            time.sleep(0.5)
            s = status()
            if not s or not s.get("ksm"):
                continue
            k = decision(s, "ksm")
            pts = int(ksm_read("pages_to_scan"))
            max_pages = max(max_pages, pts)
            if ksm_read("run") == "1" and k["decision"] not in ("off", "unmanaged"):
                if not seen_on:
                    on_reason = k["reason"]
                seen_on = True
            if k["decision"] == "raise":
                seen_raise = True
                raise_reason = k["reason"]
            merged = sum(ksm_stat(p).get("ksm_merging_pages", 0) for p in pids)
            if k["decision"] in ("back off", "backed off") and merged >= 0.9 * HELPERS * PAGES:
                seen_backoff = True
                backoff_reason = k["reason"]
                pages_after_backoff = pts
                if pts <= 64:
                    break
        t.ok(seen_on, "the daemon turned KSM on under pressure: %s" % on_reason)
        t.ok("PSI some" in on_reason, "the reason names the pressure")
        t.ok(seen_raise and max_pages > 100, "it raised the scan rate while merging paid (max "
             "pages_to_scan %d): %s" % (max_pages, raise_reason))
        t.ok(merged >= 0.9 * HELPERS * PAGES, "savings converged: %d of %d helper pages merged" %
             (merged, HELPERS * PAGES))
        t.ok(seen_backoff and pages_after_backoff is not None and pages_after_backoff < max_pages,
             "it backed off when nothing more merged (pages_to_scan %s < %d): %s" %
             (pages_after_backoff, max_pages, backoff_reason))

        # Swap-out and swap-in of the merged pages: the helpers' cgroup
        # is limited to 8 MiB (in steps: the kernel answers EBUSY while it
        # cannot reclaim enough), then unlimited, and every helper's memory
        # is read back.
        def vmstat(key):
            with open("/proc/vmstat") as f:
                for line in f:
                    k, v = line.split()
                    if k == key:
                        return int(v)
            return 0

        limit = os.path.join(CG_HELPERS, "memory.limit_in_bytes")
        t1 = time.time()
        reached = False
        while time.time() - t1 < 60 and not reached:
            usage = int(open(os.path.join(CG_HELPERS, "memory.usage_in_bytes")).read())
            step = max(8 << 20, usage - (16 << 20))
            try:
                with open(limit, "w") as f:
                    f.write(str(step))
                reached = step == 8 << 20
            except OSError:
                time.sleep(0.2)
        merged_out = sum(ksm_stat(p).get("ksm_merging_pages", 0) for p in pids)
        t.ok(reached, "the helpers' memory pushed out to swap (cgroup limit 8 MiB; merged pages "
             "left %d of %d)" % (merged_out, HELPERS * PAGES))
        with open(limit, "w") as f:
            f.write("-1")
        copies0 = vmstat("ksm_swpin_copy")
        for pid in pids:
            with open("/proc/%d/maps" % pid) as f:
                for line in f:
                    fields = line.split()
                    a, b = (int(x, 16) for x in fields[0].split("-"))
                    if len(fields) < 6 and b - a >= HELPER_MIB << 20:
                        fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
                        try:
                            for off in range(a, b, 1 << 20):
                                try:
                                    os.pread(fd, min(1 << 20, b - off), off)
                                except OSError:
                                    pass
                        finally:
                            os.close(fd)
        copies = vmstat("ksm_swpin_copy") - copies0
        t.ok(copies >= 256, "reading it back made %d private copies of merged pages (ksm_swpin_copy)"
             % copies)
        rearm = None
        recovered = 0
        deadline = time.time() + 120
        while time.time() < deadline:
            time.sleep(0.5)
            s = status()
            if s and s.get("ksm") and decision(s, "ksm")["decision"] == "re-arm" and rearm is None:
                rearm = (decision(s, "ksm")["reason"], int(ksm_read("pages_to_scan")))
            recovered = sum(ksm_stat(p).get("ksm_merging_pages", 0) for p in pids)
            if rearm and recovered >= 0.9 * HELPERS * PAGES:
                break
        t.ok(rearm is not None and "ksm_swpin_copy" in rearm[0],
             "the daemon re-armed KSM after the swap-in: %s" % (rearm[0] if rearm else "no re-arm seen"))
        t.ok(rearm is not None and rearm[1] > 64,
             "pages_to_scan raised from the backed-off minimum (%s)" % (rearm[1] if rearm else "-"))
        t.ok(recovered >= 0.9 * HELPERS * PAGES, "the copies merged again: %d of %d helper pages"
             % (recovered, HELPERS * PAGES))

        # Pressure gone: scanning stops, merged pages stay (run=0, not 2).
        hog.kill()
        hog.wait()
        off = None
        deadline = time.time() + 150
        while time.time() < deadline:
            time.sleep(1)
            s = status()
            if s and decision(s, "ksm")["decision"] == "off" and ksm_read("run") == "0":
                off = s
                break
        t.ok(off is not None, "with the pressure gone it stopped scanning: %s" %
             (decision(off, "ksm")["reason"] if off else "PSI some still %.1f%%" % psi_some()))
        sharing = int(ksm_read("pages_sharing"))
        t.ok(sharing >= (HELPERS - 1) * PAGES * 0.9, "merged pages kept (pages_sharing %d)" % sharing)
        log = open(log_path).read()
        t.ok("run 1 -> 2" not in log and "run 0 -> 2" not in log, "never run=2")
        r = subprocess.run([os.path.join(BUILD, "ksmvirt"), "status", "--socket", sock],
                           capture_output=True, text=True)
        print("# " + r.stdout.replace("\n", "\n# "))
        daemon.send_signal(signal.SIGTERM)
        t.ok(daemon.wait(timeout=30) == 0, "daemon stopped cleanly")
finally:
    cleanup()
t.done()
