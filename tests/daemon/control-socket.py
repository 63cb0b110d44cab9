#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmvirtd's control socket against hostile local clients: status clients
that never read, a line of "[" with no newline, 2,000 idle connections, the
idle timeout, the socket's mode and a hostile socket directory.  A fake
host root (--root), no libvirt; nothing touches the real KSM settings."""
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test import BUILD, TOP  # noqa: E402
from ksmvirt_test.tap import Tap, fail  # noqa: E402

MAX_CONN = 32
IDLE_S = 2
LINE_KIB = 64
CONF = ("[daemon]\ntick-seconds = 5\nmax-connections = %d\nidle-timeout-seconds = %d\n"
        "max-line-kib = %d\n" % (MAX_CONN, IDLE_S, LINE_KIB))

t = Tap()
# Parts to run (all by default): mode stall flood idle cap trace hostile state
parts = sys.argv[1:] or ["mode", "stall", "flood", "idle", "cap", "trace", "hostile", "state"]
work = tempfile.mkdtemp(prefix="ksmvirt-socket.")
procs = []


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)


def start(sock, log_path, conf_text=CONF, nofile=1024, umask=None, wrap=()):
    conf = os.path.join(work, "ksmvirtd.conf")
    with open(conf, "w") as f:
        f.write(conf_text)

    def pre():
        # The usual soft limit: 2,000 connections would exhaust it.
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        if umask is not None:
            os.umask(umask)
    log = open(log_path, "a")
    p = subprocess.Popen(list(wrap) + [os.path.join(BUILD, "ksmvirtd"), "--socket", sock, "--state-dir",
                                       os.path.join(work, "state"), "--config", conf, "--root", root,
                                       "--no-libvirt"],
                         stdout=log, stderr=log, preexec_fn=pre)
    procs.append(p)
    return p


def wait_socket(p, sock, timeout_s=20):
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        if os.path.exists(sock):
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(sock)
                c.close()
                return True
            except OSError:
                pass
        if p.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def connect(sock, timeout_s=2.0):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(timeout_s)
    c.connect(sock)
    return c


def connect_patient(sock, timeout_s=2.0):
    """Connect, retrying while the listen backlog is full (a non-blocking
    connect to a Unix socket fails with EAGAIN then)."""
    t0 = time.time()
    while True:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(sock)
            return c
        except BlockingIOError:
            c.close()
            if time.time() - t0 > timeout_s:
                raise
            time.sleep(0.002)


def read_all(c, timeout_s):
    """Everything until EOF or timeout; (bytes, reached EOF)."""
    c.settimeout(0.2)
    buf = b""
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        try:
            d = c.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return buf, True
        if not d:
            return buf, True
        buf += d
    return buf, False


def status_time(sock, timeout_s=5.0):
    """Seconds for a full status answer, or None."""
    t0 = time.time()
    try:
        c = connect(sock, timeout_s)
        c.sendall(b"status\n")
        doc, eof = read_all(c, timeout_s)
        c.close()
    except OSError:
        return None
    if not eof or not doc.startswith(b"{"):
        return None
    return time.time() - t0


def log_lines(path):
    with open(path, errors="replace") as f:
        return f.read().splitlines()


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


try:
    root = os.path.join(work, "root")
    # 800 guests: a status document of a few hundred KiB, more than a
    # socket buffer holds.
    subprocess.run([sys.executable, os.path.join(TOP, "tests/daemon/mkguests.py"), "800", root,
                    "--host-gib", "8"], check=True, stdout=subprocess.DEVNULL)
    sock_dir = os.path.join(work, "run")
    os.mkdir(sock_dir, 0o755)
    sock = os.path.join(sock_dir, "ksmvirtd.sock")
    log = os.path.join(work, "ksmvirtd.log")
    d = start(sock, log, umask=0)
    if not wait_socket(d, sock):
        fail("ksmvirtd did not listen: %s" % log_lines(log)[-5:])

    if "mode" in parts:
        # -- The socket: mode 0600 even under umask 0, owned by the daemon's user.
        st = os.lstat(sock)
        t.ok(oct(st.st_mode & 0o7777) == "0o600" and st.st_uid == os.geteuid(),
             "socket mode %s owner %d under umask 0" % (oct(st.st_mode & 0o7777), st.st_uid))

        dt = status_time(sock, 30)
        t.ok(dt is not None, "status answers (%.2f s)" % (dt or -1))
        # Once the first tick has sensed the guests.
        deadline = time.time() + 60
        while time.time() < deadline:
            c = connect(sock)
            c.sendall(b"status\n")
            doc, _ = read_all(c, 30)
            c.close()
            if len(doc) > 256 * 1024:
                break
            time.sleep(0.3)
        t.ok(len(doc) > 256 * 1024, "status document is larger than a socket buffer (%d bytes)" % len(doc))

    if "stall" in parts:
        # -- Status clients that never read: tiny receive buffers, many
        # connections, many requests; another client is answered within 1 s.
        stuck = []
        for i in range(MAX_CONN // 2):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            c.settimeout(2)
            try:
                c.connect(sock)
                c.sendall(b"status\n" * 4)
            except OSError:
                c.close()
                continue
            stuck.append(c)
        time.sleep(0.5)
        times = [status_time(sock, 5) for _ in range(5)]
        t.ok(all(x is not None and x < 1.0 for x in times),
             "clients that never read do not stall others: %s" % ["%.2f" % x if x else "none" for x in times])
        time.sleep(IDLE_S + 1.5)
        # They are cut once idle, their buffered answers dropped.
        open_fds = nfds(d.pid)
        closed = 0
        for c in stuck:
            _, eof = read_all(c, 1)
            closed += eof
            c.close()
        t.ok(closed == len(stuck) and open_fds < 40,
             "stuck clients closed after the idle timeout (%d of %d; %d fds open)" % (closed, len(stuck), open_fds))

    if "flood" in parts:
        # -- A line of "[" with no newline: cut at the bound, answered, closed.
        c = connect(sock, 5)
        flood = b"[" * (8 << 20)
        sent = [0]

        def pump():
            # The reader below sets a short timeout on the shared socket:
            # a send that times out is tried again.
            view = memoryview(flood)
            deadline = time.time() + 20
            while sent[0] < len(flood) and time.time() < deadline:
                try:
                    sent[0] += c.send(view[sent[0]:sent[0] + 65536])
                except socket.timeout:
                    continue
                except OSError:
                    break
        th = threading.Thread(target=pump, daemon=True)
        th.start()
        ans, eof = read_all(c, 5)
        c.close()
        th.join(5)
        t.ok(eof and ans.startswith(b"error ") and b"line too long" in ans and ans.endswith(b"\n")
             and ans.count(b"\n") == 1,
             "a stream of '[' with no newline is cut: %r after %d bytes" % (ans[:80], sent[0]))
        t.ok(sent[0] < 4 << 20, "the daemon stopped reading near the bound (%d bytes taken)" % sent[0])
        t.ok(status_time(sock, 5) is not None, "status still answers after the flood")

    if "idle" in parts:
        # -- Idle timeout: a client that connects and says nothing.
        c = connect(sock, 5)
        t0 = time.time()
        ans, eof = read_all(c, IDLE_S + 5)
        waited = time.time() - t0
        c.close()
        t.ok(eof and ans.startswith(b"error ") and b"idle" in ans and IDLE_S - 0.5 < waited < IDLE_S + 3,
             "an idle client is answered and closed after %.1f s: %r" % (waited, ans))
        # ... and one that sends half a line.
        c = connect(sock, 5)
        c.sendall(b"sta")
        ans, eof = read_all(c, IDLE_S + 5)
        c.close()
        t.ok(eof and b"idle" in ans, "half a line, then silence: %r" % ans)

    if "cap" in parts:
        # -- 2,000 idle connections: the cap answers the rest, no fd
        # exhaustion, no log flood.
        before = len(log_lines(log))
        old = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(old[0], 4096), max(old[1], 4096)))
        conns, refused, failed = [], 0, 0
        t0 = time.time()
        for i in range(2000):
            try:
                conns.append(connect_patient(sock, 2))
            except OSError:
                failed += 1
                if failed > 5:
                    break
        # Those over the cap get one line and EOF.
        time.sleep(0.5)
        peak = nfds(d.pid)
        held = 0
        for c in conns:
            try:
                c.setblocking(False)
                data = c.recv(4096)
                if data.startswith(b"error ") and b"too many connections" in data:
                    refused += 1
            except BlockingIOError:
                held += 1
            except OSError:
                pass
        t.ok(failed == 0 and len(conns) == 2000, "2,000 connections made (%d failed) in %.1f s"
             % (failed, time.time() - t0))
        t.ok(held <= MAX_CONN and refused >= 2000 - MAX_CONN - 5,
             "the cap holds: %d held open, %d refused with a clear answer" % (held, refused))
        t.ok(peak < MAX_CONN + 40, "the daemon's open files stay bounded (%d)" % peak)
        t.ok(d.poll() is None, "ksmvirtd is still running")
        for c in conns:
            c.close()
        time.sleep(1)
        t.ok(status_time(sock, 5) is not None, "status answers once they are gone")
        resource.setrlimit(resource.RLIMIT_NOFILE, old)
        lines = log_lines(log)[before:]
        t.ok(len(lines) < 20, "the log is not flooded: %d lines for 2,000 connections" % len(lines))
        t.ok(any("too many connections" in x for x in lines), "the refusals are logged (rate-limited): %s"
             % [x for x in lines if "connection" in x][:2])

    d.send_signal(signal.SIGTERM)
    t.ok(d.wait(timeout=20) == 0, "SIGTERM: exit 0")

    if "trace" in parts:
        # -- The socket is created with its mode, not chmod-ed after bind.
        trace = os.path.join(work, "strace.out")
        if shutil.which("strace") is None:
            fail("strace is missing (scripts/deps/daemon.list)")
        d = start(sock, log, umask=0, wrap=("strace", "-f", "-qq", "-o", trace, "-e",
                                            "trace=umask,bind,chmod,fchmodat,fchmod"))
        ok = wait_socket(d, sock)
        with open("/proc/%d/task/%d/children" % (d.pid, d.pid)) as f:
            for pid in f.read().split():
                os.kill(int(pid), signal.SIGTERM)
        d.wait(timeout=20)
        calls = open(trace).read()
        bind_at = calls.find('bind(')
        t.ok(ok and bind_at > 0 and re.search(r"umask\(0177\)", calls[:bind_at]) is not None
             and not re.search(r"chmod\w*\([^)]*ksmvirtd\.sock", calls),
             "bind under umask 0177, no chmod after: %s" %
             [x.split(" ", 1)[1] for x in calls.splitlines() if "sock" in x or "umask" in x][:4])

    if "hostile" in parts:
        # -- A hostile socket directory is refused.
        def refused_dir(path, what):
            lg = os.path.join(work, "hostile.log")
            open(lg, "w").close()
            p = start(os.path.join(path, "ksmvirtd.sock"), lg)
            try:
                rc = p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = None
            text = " ".join(log_lines(lg))
            t.ok(rc == 1 and "socket directory" in text, "%s: refused (exit %s): %s" % (what, rc, text[-160:]))
        ww = os.path.join(work, "world-writable")
        os.mkdir(ww)
        os.chmod(ww, 0o1777)
        refused_dir(ww, "world-writable socket directory")
        gw = os.path.join(work, "group-writable")
        os.mkdir(gw)
        os.chmod(gw, 0o775)
        refused_dir(gw, "group-writable socket directory")
        target = os.path.join(work, "elsewhere")
        os.mkdir(target, 0o755)
        link = os.path.join(work, "link")
        os.symlink(target, link)
        refused_dir(link, "symlinked socket directory")
        t.ok(os.listdir(target) == [], "nothing created through the symlink")
        other = os.path.join(work, "other-owner")
        os.mkdir(other, 0o755)
        nobody = pwd.getpwnam("nobody")
        os.chown(other, nobody.pw_uid, nobody.pw_gid)
        refused_dir(other, "socket directory owned by another user")

    if "state" in parts:
        # -- The state directory: checked like the socket's; files in it
        # never followed through a symlink.
        st_dir = os.path.join(work, "state-ww")
        os.mkdir(st_dir)
        os.chmod(st_dir, 0o777)
        lg = os.path.join(work, "state.log")
        r = subprocess.run([os.path.join(BUILD, "ksmvirtd"), "--socket", os.path.join(sock_dir, "s2.sock"),
                            "--state-dir", st_dir, "--no-balance", "--oneshot", "--config", "/dev/null"],
                           capture_output=True, text=True, timeout=60)
        t.ok(r.returncode == 1 and "unsafe state directory" in r.stderr,
             "world-writable state directory refused (exit %d): %s" % (r.returncode, r.stderr.strip()[-120:]))
        st_dir = os.path.join(work, "state-link")
        os.mkdir(st_dir, 0o755)
        victim = os.path.join(work, "victim")
        with open(victim, "w") as f:
            f.write("not a registry\n")
        os.symlink(victim, os.path.join(st_dir, "registry.json"))
        r = subprocess.run([os.path.join(BUILD, "ksmvirtd"), "--socket", os.path.join(sock_dir, "s2.sock"),
                            "--state-dir", st_dir, "--no-balance", "--oneshot", "--config", "/dev/null"],
                           capture_output=True, text=True, timeout=60)
        with open(victim) as f:
            kept = f.read()
        t.ok(kept == "not a registry\n" and os.path.islink(os.path.join(st_dir, "registry.json"))
             and "symbolic link" in r.stderr,
             "a symlinked registry.json is neither read nor replaced: %s" % r.stderr.strip()[-160:])
finally:
    cleanup()
t.done()
