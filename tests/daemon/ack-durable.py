#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An acknowledged hook event survives a crash: ksmvirtd answers "ok ID"
only once the registry holding the event is saved, so killing the daemon
with SIGKILL the moment the acknowledgement arrives loses nothing (a
restart finds the event).  Also times the acknowledgement (send to "ok")
over many events, the latency the hook's delivering child waits."""
import glob
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

ROUNDS = 20
TIMED = 200

t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-ack.")
state = os.path.join(work, "state")
sock = os.path.join(work, "ksmvirtd.sock")
registry = os.path.join(state, "registry.json")
log = os.path.join(work, "ksmvirtd.log")
daemon = None


def cleanup():
    if daemon and daemon.poll() is None:
        daemon.kill()
        daemon.wait()
    shutil.rmtree(work, ignore_errors=True)


def event_lines(prefix, n):
    """n event lines as the hook writes them (spooled: no daemon listens)."""
    spool = os.path.join(work, "gen", "spool")
    env = dict(os.environ, KSMVIRT_SOCKET=os.path.join(work, "nobody.sock"),
               KSMVIRT_STATE_DIR=os.path.join(work, "gen"), KSMVIRT_HOOK_FOREGROUND="1")
    lines = []
    for i in range(n):
        name = "%s-%03d" % (prefix, i)
        xml = subprocess.run([os.path.join(TOP, "tests/rig/mkdomain"), "--name", name, "--rig", "/nonexistent",
                              "--uuid", "d0000000-0000-4000-8000-%012d" % (i + (1000 if prefix == "timed" else 0))],
                             check=True, capture_output=True).stdout
        subprocess.run([os.path.join(BUILD, "libvirt-hooks/ksmvirt-hook"), name, "started", "begin", "-"],
                       input=xml, check=True, capture_output=True, env=env)
        files = glob.glob(os.path.join(spool, "*.event"))
        if len(files) != 1:
            fail("hook did not spool one event: %s" % files)
        with open(files[0]) as f:
            lines.append((name, f.read().strip()))
        os.unlink(files[0])
    return lines


def start():
    p = subprocess.Popen([os.path.join(BUILD, "ksmvirtd"), "--socket", sock, "--state-dir", state,
                          "--no-balance", "--config", "/dev/null"],
                         stdout=open(log, "a"), stderr=subprocess.STDOUT)
    t0 = time.time()
    while time.time() - t0 < 20:
        if os.path.exists(sock):
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(sock)   # bound is not yet listening
                c.close()
                return p
            except OSError:
                pass
        if p.poll() is not None:
            break
        time.sleep(0.02)
    fail("ksmvirtd did not listen: %s" % open(log).read()[-400:])


def send(line):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect(sock)
    c.sendall(line.encode() + b"\n")
    ans = b""
    while not ans.endswith(b"\n"):
        d = c.recv(256)
        if not d:
            break
        ans += d
    c.close()
    return ans.decode()


def registry_names():
    try:
        with open(registry) as f:
            return {g["name"] for g in json.load(f)["guests"]}
    except (OSError, ValueError):
        return set()


try:
    lines = event_lines("crash", ROUNDS)
    kept = 0
    for name, line in lines:
        daemon = start()
        ans = send(line)
        daemon.send_signal(signal.SIGKILL)   # the moment "ok" arrived
        daemon.wait()
        os.unlink(sock)
        if not ans.startswith("ok "):
            fail("event not acknowledged: %r" % ans)
        # A restart reads what was on disk.
        r = subprocess.run([os.path.join(BUILD, "ksmvirtd"), "--socket", sock, "--state-dir", state,
                            "--no-balance", "--oneshot", "--config", "/dev/null"], capture_output=True, text=True)
        if r.returncode != 0:
            fail("ksmvirtd --oneshot: %s" % r.stderr)
        kept += name in registry_names()
    t.ok(kept == ROUNDS, "SIGKILL right after the acknowledgement: %d of %d events kept" % (kept, ROUNDS))

    # Acknowledgement latency with the registry saved first.
    timed = event_lines("timed", TIMED)
    daemon = start()
    ms = []
    for name, line in timed:
        t0 = time.monotonic()
        ans = send(line)
        ms.append((time.monotonic() - t0) * 1000)
        if not ans.startswith("ok "):
            fail("event not acknowledged: %r" % ans)
    ms.sort()
    p50, p99 = ms[len(ms) // 2], ms[int(len(ms) * 0.99) - 1]
    print("acknowledgement latency over %d events: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (len(ms), p50, p99, ms[-1]))
    names = registry_names()
    t.ok(all(n in names for n, _ in timed), "every acknowledged event is in the registry at once")
    # The hook's child waits up to 2 s (KSMVIRT_HOOK_TIMEOUT_MS) before it
    # spools; libvirt itself never waits for the acknowledgement.
    t.ok(p99 < 500, "acknowledged within 500 ms (p99 %.1f ms)" % p99)
    daemon.send_signal(signal.SIGTERM)
    t.ok(daemon.wait(timeout=20) == 0, "SIGTERM: exit 0")
finally:
    cleanup()
t.done()
