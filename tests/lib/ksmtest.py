# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for ksmvirt's real-system tests (python3, standard library only).

Tests that change host-wide KSM settings hold an exclusive lock on
/run/lock/ksmvirt-ksm.lock for their whole run and restore every setting
they touched, whatever happens.
"""
import fcntl
import json
import os
import subprocess
import sys
import time

KSM = "/sys/kernel/mm/ksm"
SKIP = 77
TOP = os.environ.get("KSMVIRT_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, os.environ.get("KSMVIRT_BUILD", "build"))


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


class Tap:
    """Minimal TAP producer that remembers failures."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)
        return cond

    def done(self):
        print("1..%d" % self.n)
        print("%d passed, %d failed" % (self.n - self.failed, self.failed))
        sys.exit(1 if self.failed else 0)


def guestfs_env():
    """The environment libguestfs needs here: os.environ plus the exports
    printed by tests/rig/guestfs-kernel (which unpacks Debian's kernel for
    the appliance once)."""
    out = subprocess.run([os.path.join(TOP, "tests", "rig", "guestfs-kernel")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            env[k] = v.strip("'\"")
    return env


def require_root_ksm():
    if os.geteuid() != 0:
        skip("needs root")
    if not os.path.isdir(KSM):
        skip("kernel without KSM")


def ksm_read(name):
    with open(os.path.join(KSM, name)) as f:
        return f.read().strip()


def ksm_write(name, value):
    with open(os.path.join(KSM, name), "w") as f:
        f.write(str(value))


class KsmSettings:
    """Context manager: lock, save the named KSM knobs, restore on exit."""

    KNOBS = ("run", "pages_to_scan", "sleep_millisecs", "use_zero_pages", "max_page_sharing",
             "merge_across_nodes", "advisor_mode", "smart_scan")

    def __enter__(self):
        os.makedirs("/run/lock", exist_ok=True)
        self.lock = open("/run/lock/ksmvirt-ksm.lock", "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.saved = {}
        for k in self.KNOBS:
            if os.path.exists(os.path.join(KSM, k)):
                v = ksm_read(k)
                if k == "advisor_mode":
                    v = v[v.index("[") + 1:v.index("]")] if "[" in v else v
                self.saved[k] = v
        return self

    def __exit__(self, *exc):
        # Knobs such as use_zero_pages and merge_across_nodes can only change
        # while nothing is merged: restore run last.
        for k, v in self.saved.items():
            if k == "run":
                continue
            try:
                ksm_write(k, v)
            except OSError:
                pass
        try:
            ksm_write("run", self.saved.get("run", "0"))
        except OSError:
            pass
        fcntl.flock(self.lock, fcntl.LOCK_UN)
        self.lock.close()
        return False


class Helpers:
    """Starts tests/helpers/mergeable processes; kills them on exit."""

    def __init__(self):
        self.procs = []

    def start(self, mib, fill, seed=1, preexec_fn=None):
        p = subprocess.Popen([os.path.join(BUILD, "tests/helpers/mergeable"), "--mib", str(mib),
                              "--fill", fill, "--seed", str(seed)], stdout=subprocess.PIPE, text=True,
                             preexec_fn=preexec_fn)
        line = p.stdout.readline().split()
        if not line or line[0] != "ready":
            fail("mergeable helper did not start")
        self.procs.append(p)
        return p.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        return False


def ksm_stat(pid):
    out = {}
    with open("/proc/%d/ksm_stat" % pid) as f:
        for line in f:
            k, v = line.replace(":", " ").split()[:2]
            out[k] = int(v) if v.lstrip("-").isdigit() else v
    return out


def wait_for(cond, timeout_s, what, step_s=0.5):
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        if cond():
            return time.time() - t0
        time.sleep(step_s)
    fail("timed out after %ds waiting for %s" % (timeout_s, what))


def ksmvirt(*args, check=True):
    r = subprocess.run([os.path.join(BUILD, "ksmvirt")] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        fail("ksmvirt %s exited %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def report_json(*args):
    return json.loads(ksmvirt("report", "--json", *args).stdout)
