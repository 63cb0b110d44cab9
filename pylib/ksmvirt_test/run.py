# SPDX-License-Identifier: GPL-2.0-or-later
"""The programs under test, the helper processes tests start, and the
environment libguestfs needs here."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from . import BUILD, TOP
from .tap import fail


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


class Helpers:
    """Starts tests/helpers/mergeable processes; kills them on exit.
    mapping[pid] is the (address, bytes) of the memory each one printed
    ("ready PID ADDRESS BYTES")."""

    def __init__(self):
        self.procs, self.mapping = [], {}

    def start(self, mib, fill, seed=1, preexec_fn=None):
        p = subprocess.Popen([os.path.join(BUILD, "tests/helpers/mergeable"), "--mib", str(mib),
                              "--fill", fill, "--seed", str(seed)], stdout=subprocess.PIPE, text=True,
                             preexec_fn=preexec_fn)
        self.procs.append(p)
        line = p.stdout.readline().split()
        if len(line) != 4 or line[0] != "ready":
            fail("mergeable helper did not start")
        self.mapping[p.pid] = (int(line[2], 16), int(line[3]))
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


def instructions(cmd):
    """Instructions one run of CMD executes (valgrind's callgrind), or None
    without valgrind: a cost measure that does not move with the machine."""
    if not shutil.which("valgrind"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(tmp, "out")]
                           + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    for line in r.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    raise RuntimeError("no instruction count from callgrind:\n" + r.stderr)
