#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmvirtd over a fake host root: systemd readiness (READY=1 on
$NOTIFY_SOCKET), the status command on its socket and `ksmvirt status`,
SIGHUP reloads the configuration, state kept across a restart, a bounded
history.  Nothing here touches the real KSM settings (--root)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test import BUILD, TOP  # noqa: E402
from ksmvirt_test.tap import Tap, fail  # noqa: E402

t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-daemon.")
daemon = None


def cleanup():
    if daemon and daemon.poll() is None:
        daemon.kill()
        daemon.wait()
    shutil.rmtree(work, ignore_errors=True)


def start(conf_text):
    with open(conf, "w") as f:
        f.write(conf_text)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    log = open(os.path.join(work, "ksmvirtd.log"), "a")
    p = subprocess.Popen([os.path.join(BUILD, "ksmvirtd"), "--socket", sock, "--state-dir", state,
                          "--config", conf, "--root", root, "--no-libvirt", "--verbose"],
                         stdout=log, stderr=log, env=env)
    return p


def status():
    r = subprocess.run([os.path.join(BUILD, "ksmvirt"), "status", "--json", "--socket", sock],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail("ksmvirt status: %d %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout)


def wait_ready(p):
    notify.settimeout(20)
    try:
        msg = notify.recv(4096).decode()
    except socket.timeout:
        fail("no sd_notify message within 20 s")
    return msg


try:
    root = os.path.join(work, "root")
    state = os.path.join(work, "state")
    sock = os.path.join(work, "ksmvirtd.sock")
    conf = os.path.join(work, "ksmvirtd.conf")
    notify_path = os.path.join(work, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    subprocess.run([sys.executable, os.path.join(TOP, "tests/daemon/mkguests.py"), "6", root,
                    "--psi-some", "30", "--host-gib", "8"], check=True)

    daemon = start("[daemon]\ntick-seconds = 0.5\nhistory-max-kib = 16\n")
    msg = wait_ready(daemon)
    t.ok("READY=1" in msg, "sd_notify: %r" % msg)
    s = status()
    t.ok(s["schema"] == "ksmvirt-status/1", "status document on the socket")
    t.ok(len(s["guests"]) == 6, "six guests sensed")
    ksm = {d["policy"]: d for d in s["decisions"]}["ksm"]
    t.ok(ksm["decision"] in ("on", "raise", "back off", "backed off"), "KSM on: %s" % ksm["reason"])
    t.ok("overcommitted" in " ".join(s["recent_actions"]), "recent actions explain the change: %s"
         % s["recent_actions"][:1])
    with open(os.path.join(root, "sys/kernel/mm/ksm/run")) as f:
        t.ok(f.read().strip() == "1", "run=1 written below the root")
    r = subprocess.run([os.path.join(BUILD, "ksmvirt"), "status", "--socket", sock], capture_output=True,
                       text=True)
    t.ok(r.returncode == 0 and "Decisions:" in r.stdout and "guest-0005" in r.stdout,
         "ksmvirt status text lists guests and decisions")

    # SIGHUP: a new configuration takes effect without a restart.
    with open(conf, "w") as f:
        f.write("[daemon]\ntick-seconds = 0.5\nhistory-max-kib = 16\n[ksm]\nmanage = false\n")
    daemon.send_signal(signal.SIGHUP)
    deadline = time.time() + 20
    while time.time() < deadline:
        ksm = {d["policy"]: d for d in status()["decisions"]}["ksm"]
        if ksm["decision"] == "unmanaged":
            break
        time.sleep(0.3)
    t.ok(ksm["decision"] == "unmanaged", "SIGHUP reloaded the configuration: %s" % ksm["reason"])

    # A dry-run daemon never goes live by accident: a missing file or a
    # non-finite number on SIGHUP keeps the running configuration.
    def hup_and_wait_ticks():
        tick = status()["tick"]
        daemon.send_signal(signal.SIGHUP)
        deadline = time.time() + 20
        while time.time() < deadline and status()["tick"] < tick + 3:
            time.sleep(0.2)
        return status()

    with open(conf, "w") as f:
        f.write("[daemon]\ntick-seconds = 0.5\nhistory-max-kib = 16\ndry-run = true\n")
    t.ok(hup_and_wait_ticks()["dry_run"] is True, "SIGHUP: dry run on")
    logf = os.path.join(work, "ksmvirtd.log")
    mark = os.path.getsize(logf)
    os.unlink(conf)
    s = hup_and_wait_ticks()
    with open(logf) as f:
        f.seek(mark)
        new = f.read()
    t.ok(s["dry_run"] is True, "config file gone, SIGHUP: still a dry run")
    t.ok("keeping the previous configuration" in new,
         "the missing file is logged: %s" % [x for x in new.splitlines() if "reload" in x])
    for bad in ("tick-seconds = nan", "tick-seconds = inf", "history-max-kib = nan", "tick-seconds = -infinity"):
        mark = os.path.getsize(logf)
        with open(conf, "w") as f:
            f.write("[daemon]\nhistory-max-kib = 16\n%s\ndry-run = false\n" % bad)
        s = hup_and_wait_ticks()
        with open(logf) as f:
            f.seek(mark)
            new = [x for x in f.read().splitlines() if "reload" in x]
        t.ok(s["dry_run"] is True and any("not a valid value" in x for x in new),
             "%s on SIGHUP: rejected, still a dry run: %s" % (bad, new))
    with open(conf, "w") as f:
        f.write("[daemon]\ntick-seconds = 0.5\nhistory-max-kib = 16\n[ksm]\nmanage = false\n")
    daemon.send_signal(signal.SIGHUP)

    # History stays bounded: two parts of at most history-max-kib / 2 each.
    time.sleep(6)
    hist = os.path.join(state, "history.jsonl")
    sizes = [os.path.getsize(p) for p in (hist, hist + ".1") if os.path.exists(p)]
    t.ok(len(sizes) == 2 and all(sz <= 8 * 1024 + 4096 for sz in sizes), "history rotated, bounded: %s" % sizes)
    with open(hist) as f:
        lines = [json.loads(x) for x in f if x.strip()]
    t.ok(lines and all(x["schema"] == "ksmvirt-history/1" and "mem_available_kib" in x for x in lines),
         "history lines are ksmvirt-history/1 JSON")

    tick_before = status()["tick"]
    daemon.send_signal(signal.SIGTERM)
    rc = daemon.wait(timeout=20)
    t.ok(rc == 0, "SIGTERM: exit 0")
    t.ok("STOPPING=1" in notify.recv(4096).decode(), "sd_notify STOPPING=1")
    t.ok(not os.path.exists(sock), "socket removed")

    # Restart: the state (tick count, KSM mode) is restored.
    daemon = start("[daemon]\ntick-seconds = 0.5\n")
    wait_ready(daemon)
    s = status()
    t.ok(s["tick"] > tick_before, "tick continues across a restart (%d -> %d)" % (tick_before, s["tick"]))
    log = open(os.path.join(work, "ksmvirtd.log")).read()
    t.ok("balancer state restored at tick" in log, "restart logged the restored state")
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=20)
finally:
    cleanup()
t.done()
