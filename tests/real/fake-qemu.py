#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real-host test: a local user's fake QEMU is not a guest.

An unprivileged user (nobody) runs a program called qemu-system-x86_64
with the arguments a hostile user would pick: -m 1T (a 43x overcommit on
this host), -qmp unix:PATH,server (where root's report --qmp would
connect) and a 100000-deep JSON -object (json-glib recurses without a
limit).  On the real system, ksmvirt report (text and JSON, with --qmp),
ksmvirt balance --oneshot --dry-run and a running ksmvirtd (dry run) must
not crash, must not count it as a guest, must keep the KSM decision they
make without it, and must never connect to its QMP path.  Root only (to
start the process as nobody); KSM settings are read, never written.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test import BUILD  # noqa: E402
from ksmvirt_test.tap import Tap, fail, skip  # noqa: E402

if os.geteuid() != 0:
    if os.environ.get("CI") == "true":
        fail("needs root to start a process as nobody")
    skip("needs root to start a process as nobody")
if not os.path.isdir("/sys/kernel/mm/ksm"):
    fail("no KSM on this kernel")
SETPRIV = shutil.which("setpriv")
if not SETPRIV:
    fail("setpriv (util-linux) missing")

KSMVIRT = os.path.join(BUILD, "ksmvirt")
KSMVIRTD = os.path.join(BUILD, "ksmvirtd")
DEPTH = 100000
t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-fakeqemu-")
os.chmod(work, 0o755)
fakes = []
daemon = None
qmp = None


def run(*args, timeout=120):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def balance_json():
    r = run(KSMVIRT, "balance", "--oneshot", "--dry-run", "--json", "--no-libvirt", "--config", conf)
    crashed = r.returncode < 0
    doc = json.loads(r.stdout) if r.returncode == 0 else None
    return r, crashed, doc


def ksm_decision(doc):
    for d in doc.get("decisions", []):
        if d.get("policy") == "ksm":
            return d
    return {}


def overcommit(decision):
    """The "guests' RAM N.NNx host RAM" figure of a KSM decision, or None."""
    m = re.search(r"guests' RAM ([0-9.]+)x", decision.get("reason", ""))
    return float(m.group(1)) if m else None


def qmp_connections():
    """Connections the fake's QMP socket received so far."""
    n = 0
    while True:
        try:
            c, _ = qmp.accept()
        except BlockingIOError:
            return n
        c.close()
        n += 1


try:
    conf = os.path.join(work, "ksmvirtd.conf")
    with open(conf, "w") as f:
        # No lock (nothing is written), nothing managed but decided.
        f.write("[daemon]\ntick-seconds = 0.5\ndry-run = true\n[ksm]\nlock-file =\n"
                "[balloon]\nmanage = false\n[swap]\nmanage = false\n")
    qmp_path = os.path.join(work, "qmp.sock")
    qmp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    qmp.bind(qmp_path)
    qmp.listen(16)
    qmp.setblocking(False)

    # The decision without the fake QEMU.
    r, crashed, before = balance_json()
    if not before:
        fail("balance --oneshot without the fake failed: %d %s" % (r.returncode, r.stderr))
    ksm_before = ksm_decision(before)

    exe = os.path.join(work, "qemu-system-x86_64")
    shutil.copy(os.path.join(BUILD, "tests/helpers/idle"), exe)
    os.chmod(exe, 0o755)

    def start_fake(*extra):
        argv = [exe, "-name", "guest=evil", "-machine", "pc,memory-backend=pc.ram", "-m", "1T",
                "-qmp", "unix:%s,server,nowait" % qmp_path] + list(extra)
        p = subprocess.Popen([SETPRIV, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + argv)
        fakes.append(p)
        for _ in range(100):
            try:
                with open("/proc/%d/comm" % p.pid) as f:
                    if f.read().startswith("qemu-system"):
                        break
            except OSError:
                pass
            time.sleep(0.05)
        with open("/proc/%d/status" % p.pid) as f:
            uid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
        t.ok(uid != "0", "a fake QEMU (pid %d) runs as uid %s" % (p.pid, uid))
        return p.pid

    def check_cli(what, pids):
        r = run(KSMVIRT, "report", "--interval", "0", "--qmp")
        t.ok(r.returncode == 0, "%s: report --qmp exits 0 (rc %d) %s" % (what, r.returncode, r.stderr.strip()[:200]))
        for pid in pids:
            rows = [ln for ln in r.stdout.splitlines() if ln.startswith("  ") and " %d " % pid in ln]
            t.ok(not rows, "%s: report text has no guest row for pid %d" % (what, pid))
            t.ok("pid %d: no libvirt pid file names it" % pid in r.stdout,
                 "%s: report text says why pid %d is not a guest" % (what, pid))
        r = run(KSMVIRT, "report", "--interval", "0", "--qmp", "--json")
        t.ok(r.returncode == 0, "%s: report --json --qmp exits 0 (rc %d)" % (what, r.returncode))
        rep = json.loads(r.stdout) if r.returncode == 0 else {"guests": [{"pid": p} for p in pids]}
        got = [g["pid"] for g in rep["guests"]]
        t.ok(not set(pids) & set(got), "%s: report JSON: no fake among the guests %s" % (what, got))
        t.ok(all(g.get("ram_bytes", 0) < 2**40 for g in rep["guests"]),
             "%s: report JSON: no guest with 1 TiB of RAM" % what)
        r, crashed, after = balance_json()
        t.ok(not crashed and r.returncode == 0, "%s: balance --oneshot --dry-run exits 0 (rc %d)" % (what, r.returncode))
        after = after or {"guests": [{"pid": p} for p in pids], "decisions": []}
        got = [g.get("pid") for g in after.get("guests", [])]
        t.ok(not set(pids) & set(got), "%s: balance: no fake among the guests %s" % (what, got))
        ksm_after = ksm_decision(after)
        t.ok(ksm_after.get("decision") == ksm_before.get("decision"),
             "%s: balance: KSM decision unchanged (%s -> %s: %s)" % (what, ksm_before.get("decision"),
                                                                    ksm_after.get("decision"), ksm_after.get("reason")))
        ratio = overcommit(ksm_after)
        t.ok(ratio is not None and ratio < 40,
             "%s: balance: guests' RAM %sx host RAM (a 1 TiB guest would make it > 40x)" % (what, ratio))
        t.ok(qmp_connections() == 0, "%s: nothing connected to the fake's QMP socket" % what)

    # 1. -m 1T and -qmp: counted, it would flip the decision and be asked.
    shallow = start_fake()
    check_cli("-m 1T -qmp", [shallow])
    # 2. And a 100000-deep JSON -object: parsed, it would crash them.
    obj = '{"qom-type":"memory-backend-ram","id":"pc.ram","size":' + "[" * DEPTH
    deep = start_fake("-object", obj)
    check_cli("deep -object", [shallow, deep])
    fake_pids = [shallow, deep]

    # A running ksmvirtd ticks past the fake and does not list it.
    state = os.path.join(work, "state")
    sock = os.path.join(work, "ksmvirtd.sock")
    log_path = os.path.join(work, "ksmvirtd.log")
    daemon = subprocess.Popen([KSMVIRTD, "--socket", sock, "--state-dir", state, "--config", conf,
                               "--no-libvirt", "--dry-run", "--verbose"],
                              stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    st = None
    deadline = time.time() + 30
    while time.time() < deadline and daemon.poll() is None:
        r = run(KSMVIRT, "status", "--json", "--socket", sock, timeout=30)
        if r.returncode == 0:
            st = json.loads(r.stdout)
            if st.get("tick", 0) >= 4:
                break
        time.sleep(0.5)
    t.ok(daemon.poll() is None, "ksmvirtd still runs (exit %s)" % daemon.poll())
    t.ok(st is not None and st.get("tick", 0) >= 4, "ksmvirtd ticked 4 times with the fake QEMU running (%s)"
         % (st or {}).get("tick"))
    st = st or {"guests": [{"pid": p} for p in fake_pids], "decisions": []}
    got = [g.get("pid") for g in st.get("guests", [])]
    t.ok(not set(fake_pids) & set(got), "ksmvirtd: no fake among the guests %s" % got)
    t.ok(ksm_decision(st).get("decision") == ksm_before.get("decision"),
         "ksmvirtd: KSM decision unchanged (%s -> %s: %s)" % (ksm_before.get("decision"),
                                                              ksm_decision(st).get("decision"),
                                                              ksm_decision(st).get("reason")))

    t.ok(qmp_connections() == 0, "ksmvirtd: nothing connected to the fake's QMP socket")
finally:
    if daemon and daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    for p in fakes:
        if p.poll() is None:
            p.kill()
            p.wait()
    if qmp:
        qmp.close()
    shutil.rmtree(work, ignore_errors=True)
t.done()
