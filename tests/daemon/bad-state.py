#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmvirtd starts over state files a hostile or broken writer left: a
spooled event, registry.json and balancer-state.json that are each one
long line of '[' (json-glib recurses without a limit).  The daemon must
start, keep running, set each aside as NAME.bad-TIMESTAMP, log it, and
write fresh ones.  Run twice: the second start meets clean files.
Nothing here touches the real KSM settings (--root)."""
import glob
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
from ksmvirt_test.tap import Tap  # noqa: E402

DEPTH = 200000
t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-badstate.")
daemon = None
root = os.path.join(work, "root")
state = os.path.join(work, "state")
spool = os.path.join(state, "spool")
sock = os.path.join(work, "ksmvirtd.sock")
conf = os.path.join(work, "ksmvirtd.conf")
log_path = os.path.join(work, "ksmvirtd.log")
notify_path = os.path.join(work, "notify")


def start():
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    return subprocess.Popen([os.path.join(BUILD, "ksmvirtd"), "--socket", sock, "--state-dir", state,
                             "--config", conf, "--root", root, "--no-libvirt", "--verbose"],
                            stdout=open(log_path, "a"), stderr=subprocess.STDOUT, env=env)


def ready(p):
    """Waits for READY=1 (other notifications, e.g. a stopped daemon's
    STOPPING=1, are skipped)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        notify.settimeout(max(0.1, deadline - time.time()))
        try:
            if "READY=1" in notify.recv(4096).decode():
                return True
        except socket.timeout:
            return False
    return False


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def log():
    with open(log_path, errors="replace") as f:
        return f.read()


try:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    subprocess.run([sys.executable, os.path.join(TOP, "tests/daemon/mkguests.py"), "2", root], check=True)
    with open(conf, "w") as f:
        f.write("[daemon]\ntick-seconds = 0.5\n")
    os.makedirs(spool)
    deep = "[" * DEPTH + "\n"
    entry = os.path.join(spool, "0000001700000000000000-000001.event")
    for path in (entry, os.path.join(state, "registry.json"), os.path.join(state, "balancer-state.json")):
        with open(path, "w") as f:
            f.write(deep)

    daemon = start()
    t.ok(ready(daemon), "ksmvirtd starts over deep spool, registry and state files")
    time.sleep(1.5)
    t.ok(daemon.poll() is None, "and keeps running (exit %s)" % daemon.poll())
    text = log()
    for name, path, words in (("spooled event", entry, "spooled event"),
                              ("registry", os.path.join(state, "registry.json"), "registry.json"),
                              ("balancer state", os.path.join(state, "balancer-state.json"), "balancer state")):
        aside = glob.glob(path + ".bad-*")
        t.ok(len(aside) == 1, "%s set aside: %s" % (name, [os.path.basename(a) for a in aside]))
        if aside:
            with open(aside[0]) as f:
                t.ok(f.read() == deep, "%s: the bad file is kept unchanged" % name)
        t.ok(any(words in ln and "set aside as " + (aside[0] if aside else "?") in ln for ln in text.splitlines()),
             "%s: the log says where it went" % name)
    t.ok(not os.path.exists(entry), "the bad spool entry is not retried")
    t.ok(stop(daemon) == 0, "SIGTERM: exit 0")
    t.ok(os.path.exists(os.path.join(state, "registry.json")), "a fresh registry.json is written")

    # A second start meets only clean files and sets nothing more aside.
    daemon = start()
    t.ok(ready(daemon), "second start")
    time.sleep(1)
    t.ok(len(glob.glob(os.path.join(state, "*.bad-*"))) == 2 and len(glob.glob(os.path.join(spool, "*.bad-*"))) == 1,
         "second start: nothing more set aside")
    t.ok(stop(daemon) == 0, "second SIGTERM: exit 0")
finally:
    if daemon and daemon.poll() is None:
        daemon.kill()
        daemon.wait()
    shutil.rmtree(work, ignore_errors=True)
t.done()
