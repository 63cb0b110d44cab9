#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real guests: ksmvirtd moves real virtio balloons within bounds, and
survives libvirtd being killed and restarted.

Real libvirtd (tests/rig/libvirtd-ctl), three real TCG guests of the rig
(tests/rig/mkdomain: virtio balloon, 2 s stats period) with policy
metadata, and ksmvirtd running for real against qemu:///system.

Pressure: this runs on shared machines where driving MemAvailable down for
real would hurt other users, so the host's state is classified through the
test's configuration instead: "[ksm] mem-available-low-percent = 99" makes
the real MemAvailable count as low (the balloon policy shrinks),
"low = 1, high = 99" is between the thresholds (hysteresis: nothing moves)
and "low = 1, high = 2" is comfortable (balloons give memory back).  Every
other input is real: the guests' balloon drivers, their "unused" memory,
libvirt's balloon targets.  "[daemon] guests" limits ksmvirtd to this
test's guests; KSM and swap management are off, so nothing host-wide
changes.

Checked, with each guest's balloon measured by "virsh dommemstat" (actual)
independently of the daemon:
  - no guest ever goes below its floor (min-balloon-mib);
  - the priority-0 guests give memory first, the priority-5 guest only
    once both are at their floors;
  - rate limit and step: within interval-ticks x tick no guest moves by
    more than one step (step-percent of its maximum);
  - between the thresholds nothing moves (hysteresis);
  - "ksmvirt status" explains each balloon change (priority, floor,
    host condition) and the hold at the floors;
  - libvirtd killed with SIGKILL: the daemon keeps ticking and answering,
    says libvirt is disconnected and why, still sees the guests (their
    QEMU processes live on); libvirtd restarted: it reconnects, sees the
    same guests with the same pids, no descriptor leaked;
  - once comfortable, the balloons return to the maximum, the
    priority-5 guest first.
libvirtd is only killed when this test started it or it answers on
qemu:///system; it is restarted at once with tests/rig/libvirtd-ctl.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test import BUILD, TOP  # noqa: E402
from ksmvirt_test.tap import Tap, fail, skip  # noqa: E402

RIG = os.path.join(TOP, "tests", "rig")
URI = "qemu:///system"
TICK_S = 2
INTERVAL_TICKS = 2
STEP_PCT = 10
GUEST_MIB = 320
STEP_MIB = GUEST_MIB * STEP_PCT // 100
FILL_MIB = 32
PREFIX = "kvd-rg-%d" % os.getpid()
# name: (priority, floor MiB)
GUESTS = {PREFIX + "-a": (0, 192), PREFIX + "-b": (0, 224), PREFIX + "-c": (5, 256)}
LOW = [n for n, (p, _) in GUESTS.items() if p == 0]
HIGH = PREFIX + "-c"

if os.geteuid() != 0:
    skip("needs root (libvirtd)")
for tool in ("libvirtd", "virsh", "virtlogd"):
    if not shutil.which(tool):
        skip("%s not installed: scripts/install-deps hooks" % tool)
for f in ("ksmvirtd", "ksmvirt"):
    if not os.access(os.path.join(BUILD, f), os.X_OK):
        fail("missing %s: run make" % os.path.join(BUILD, f))

t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-real-guests.", dir="/var/tmp")
os.chmod(work, 0o755)
ctl_dir = os.path.join(work, "ctl")        # what libvirtd-ctl start started
restart_dir = os.path.join(work, "ctl2")   # a restart of a libvirtd we did not start
sock = os.path.join(work, "ksmvirtd.sock")
conf = os.path.join(work, "ksmvirtd.conf")
log_path = os.path.join(work, "ksmvirtd.log")
console = os.path.join(work, "console")
daemon = None
started_libvirtd = False


def log(msg):
    print("# [%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(*cmd, timeout=60, env=None):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env)


def libvirtd_ctl(cmd, run_dir):
    env = dict(os.environ, KSMVIRT_RUN_DIR=run_dir)
    return run(os.path.join(RIG, "libvirtd-ctl"), cmd, timeout=180, env=env)


def cleanup():
    if daemon and daemon.poll() is None:
        daemon.kill()
        daemon.wait()
    for n in GUESTS:
        run("virsh", "-c", URI, "-q", "destroy", n, timeout=60)
    if started_libvirtd:
        libvirtd_ctl("stop", ctl_dir)
    shutil.rmtree(work, ignore_errors=True)


def write_conf(low, high):
    with open(conf, "w") as f:
        f.write("""[daemon]
tick-seconds = %d
guests = %s-*
[ksm]
manage = false
mem-available-low-percent = %d
mem-available-high-percent = %d
[balloon]
step-percent = %d
interval-ticks = %d
guests-per-tick = 1
min-change-mib = 16
guest-free-percent = 20
[swap]
manage = false
""" % (TICK_S, PREFIX, low, high, STEP_PCT, INTERVAL_TICKS))


def memstat(name):
    """virsh dommemstat NAME as a dict of KiB, or None."""
    r = run("virsh", "-c", URI, "dommemstat", name, timeout=30)
    if r.returncode != 0:
        return None
    out = {}
    for line in r.stdout.splitlines():
        p = line.split()
        if len(p) == 2 and p[1].isdigit():
            out[p[0]] = int(p[1])
    return out


def actual_mib():
    """{name: actual MiB} of every guest, or None when libvirt does not answer."""
    out = {}
    for n in GUESTS:
        m = memstat(n)
        if not m or "actual" not in m:
            return None
        out[n] = m["actual"] / 1024.0
    return out


def status(text=False):
    args = [os.path.join(BUILD, "ksmvirt"), "status", "--socket", sock]
    if not text:
        args.append("--json")
    r = run(*args, timeout=30)
    if r.returncode != 0:
        return None
    return r.stdout if text else json.loads(r.stdout)


def decision(s, policy):
    return {d["policy"]: d for d in s["decisions"]}[policy]


def daemon_fds():
    return len(os.listdir("/proc/%d/fd" % daemon.pid))


def daemon_rss_kib():
    with open("/proc/%d/status" % daemon.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def reload_daemon(low, high):
    write_conf(low, high)
    daemon.send_signal(signal.SIGHUP)


samples = []   # (time, {name: actual MiB})


def worst_move(series, window_s):
    """The largest change of one guest's balloon between two settled
    samples less than WINDOW_S apart.  A settled sample equals the one
    before it, so values caught while a slow guest is still inflating or
    deflating its balloon do not count."""
    worst = 0.0
    for n in GUESTS:
        settled = [(series[i][0], series[i][1][n]) for i in range(1, len(series))
                   if series[i][1][n] == series[i - 1][1][n]]
        for i, (ti, vi) in enumerate(settled):
            for tj, vj in settled[i + 1:]:
                if tj - ti >= window_s:
                    break
                worst = max(worst, abs(vi - vj))
    return worst


def sample_until(cond, timeout_s, what):
    """Samples every guest's actual balloon until COND(sample) holds."""
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        a = actual_mib()
        if a:
            samples.append((time.time(), a))
            if cond(a):
                return True
        if daemon.poll() is not None:
            fail("ksmvirtd died (rc %s): %s" % (daemon.returncode, open(log_path).read()[-3000:]))
        time.sleep(0.5)
    log("timed out after %d s waiting for %s; last sample %s" % (timeout_s, what, samples[-1:]))
    return False


# A runner's SIGTERM (or ^C) still destroys the guests and stops what was started.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
try:
    # libvirtd: started here only when nobody runs it.
    r = libvirtd_ctl("start", ctl_dir)
    if r.returncode != 0:
        fail("libvirtd does not start: %s%s" % (r.stdout, r.stderr))
    started_libvirtd = "libvirtd" in r.stdout.split("started:")[-1] if "started:" in r.stdout else False
    r = run(os.path.join(RIG, "build-rig"), "-q", timeout=900)
    if r.returncode != 0:
        fail("build-rig: %s" % r.stderr)
    rig = r.stdout.strip()
    os.makedirs(console)
    os.chmod(console, 0o777)
    for n, (prio, floor) in GUESTS.items():
        r = run(os.path.join(RIG, "mkdomain"), "--name", n, "--rig", rig, "--memory-mib", str(GUEST_MIB),
                "--fill", "same", "--fill-mib", str(FILL_MIB), "--seed", "7",
                "--policy", "priority=%d min-balloon-mib=%d" % (prio, floor),
                "--console", os.path.join(console, n + ".log"))
        if r.returncode != 0:
            fail("mkdomain %s: %s" % (n, r.stderr))
        xml = os.path.join(work, n + ".xml")
        with open(xml, "w") as f:
            f.write(r.stdout)
        r = run("virsh", "-c", URI, "-q", "create", xml, timeout=120)
        if r.returncode != 0:
            fail("virsh create %s: %s" % (n, r.stderr))
    log("started %s" % " ".join(GUESTS))

    def booted(n):
        try:
            c = open(os.path.join(console, n + ".log")).read()
        except OSError:
            return False
        return "memfill: filled %d MiB" % FILL_MIB in c and "balloon driver loaded" in c

    t0 = time.time()
    while not all(booted(n) for n in GUESTS):
        if time.time() - t0 > 300:
            fail("guests did not boot in 300 s: %s" % {n: booted(n) for n in GUESTS})
        time.sleep(2)
    # The driver reports its memory every 2 s: wait for "unused".
    t0 = time.time()
    while not all("unused" in (memstat(n) or {}) for n in GUESTS):
        if time.time() - t0 > 60:
            fail("no balloon statistics from the guests' drivers")
        time.sleep(1)
    log("guests up with balloon statistics after %.0f s" % (time.time() - t0))
    pids = {}
    for n in GUESTS:
        with open("/run/libvirt/qemu/%s.pid" % n) as f:
            pids[n] = int(f.read().strip())
    start = actual_mib()
    t.ok(start and all(abs(v - GUEST_MIB) < 1 for v in start.values()),
         "every balloon starts at the %d MiB maximum: %s" % (GUEST_MIB, start))

    # 1. Pressure (as classified by the configuration): shrink.
    write_conf(99, 100)
    daemon = subprocess.Popen([os.path.join(BUILD, "ksmvirtd"), "--socket", sock, "--state-dir",
                               os.path.join(work, "state"), "--config", conf, "--verbose"],
                              stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    at_floor = lambda a: all(a[n] <= GUESTS[n][1] + 0.5 for n in GUESTS)  # noqa: E731
    reached = sample_until(at_floor, 180, "every balloon at its floor")
    t.ok(reached, "under pressure every balloon reaches its floor: %s" % (samples[-1][1] if samples else None))
    low_floor_t = None
    high_first_t = None
    for ts, a in samples:
        if low_floor_t is None and all(a[n] <= GUESTS[n][1] + 0.5 for n in LOW):
            low_floor_t = ts
        if high_first_t is None and a[HIGH] < GUEST_MIB - 0.5:
            high_first_t = ts
    t.ok(all(a[n] >= GUESTS[n][1] - 0.5 for _, a in samples for n in GUESTS),
         "no balloon ever below its floor (min %s)" % {n: min(a[n] for _, a in samples) for n in GUESTS})
    t.ok(low_floor_t is not None and high_first_t is not None and high_first_t >= low_floor_t,
         "priority: %s gives memory only after both priority-0 guests are at their floors "
         "(%.1f s >= %.1f s)" % (HIGH, (high_first_t or 0) - samples[0][0], (low_floor_t or 0) - samples[0][0]))
    # Rate limit and step: two settled values closer than the interval
    # differ by at most one step.
    window = INTERVAL_TICKS * TICK_S - 0.6
    worst = worst_move(samples, window)
    t.ok(worst <= STEP_MIB + 0.5,
         "rate limit: within %.1f s no balloon moved more than one %d MiB step (worst %.1f MiB)"
         % (window, STEP_MIB, worst))
    steps = {n: len({round(a[n]) for _, a in samples}) - 1 for n in GUESTS}
    t.ok(all(steps[n] >= (GUEST_MIB - GUESTS[n][1]) // STEP_MIB for n in GUESTS),
         "several steps each, not one jump: distinct values %s" % steps)

    # The daemon holds at the floors, and says so.
    time.sleep(INTERVAL_TICKS * TICK_S + 1)
    s = status()
    d = decision(s, "balloon")
    t.ok(d["decision"] == "hold" and "at its floor" in d["reason"] and "MemAvailable" in d["reason"],
         "status: balloon hold at the floors, with the host condition: %s %s" % (d["decision"], d["reason"]))
    txt = status(text=True) or ""
    recent = "\n".join(s["recent_actions"])
    ok = True
    for n, (prio, floor) in GUESTS.items():
        pat = r"\[done\] balloon: guest %s balloon \d+ -> \d+ MiB \(host under pressure \(.*MemAvailable.*\); " \
              r"priority %d; the guest has \d+ MiB unused; floor %d MiB from policy\)" % (re.escape(n), prio, floor)
        if not re.search(pat, recent):
            ok = False
            log("no explained change for %s in %s" % (n, recent))
    t.ok(ok, "status explains each balloon change: host condition, priority, unused memory, floor from policy")
    t.ok("Recent changes:" in txt and "balloon" in txt and "libvirt connected" in txt,
         "ksmvirt status (text) shows the balloon decisions and libvirt connected")
    byname = {g["name"]: g for g in s["guests"]}
    t.ok(set(byname) == set(GUESTS) and all(byname[n]["balloon"]["floor_kib"] == GUESTS[n][1] * 1024 and
                                             byname[n]["priority"] == GUESTS[n][0] for n in GUESTS),
         "status: only this test's guests ([daemon] guests), with floors and priorities from the domain XML")

    # 2. Between the thresholds: nothing moves (hysteresis).
    reload_daemon(1, 99)
    time.sleep(1)
    n0 = len(samples)
    sample_until(lambda a: False, 5 * TICK_S, "nothing (hysteresis window)")
    held = samples[n0:]
    t.ok(held and all(a == held[0][1] for _, a in held),
         "between the thresholds no balloon moves for %d ticks" % 5)
    d = decision(status(), "balloon")
    t.ok(d["decision"] == "hold" and "between the thresholds" in d["reason"],
         "status: hold between the thresholds: %s" % d["reason"])

    # 3. libvirtd killed and restarted while ksmvirtd runs.
    fds0, rss0 = daemon_fds(), daemon_rss_kib()
    s0 = status()
    tick0 = s0["tick"]
    r = run("pgrep", "-o", "-x", "libvirtd")
    lv_pid = int(r.stdout.split()[0]) if r.returncode == 0 else 0
    t.ok(lv_pid > 0 and s0["libvirt"], "before: libvirtd %d runs and ksmvirtd is connected" % lv_pid)
    killed_t = time.time()
    os.kill(lv_pid, signal.SIGKILL)
    log("libvirtd %d killed" % lv_pid)
    down = None
    for _ in range(int(6 * TICK_S / 0.5)):
        time.sleep(0.5)
        s = status()
        if s and not s["libvirt"] and s.get("libvirt_error") and s["tick"] > tick0 + 1:
            down = s
            break
    t.ok(down is not None, "libvirtd gone: ksmvirtd keeps ticking and answering, libvirt disconnected: %s"
         % (down or {}).get("libvirt_error"))
    if down:
        t.ok(re.search(r"connection lost|[Cc]onnect|socket|closed|end of file", down["libvirt_error"]) is not None,
             "the reason is libvirt's own error: %s" % down["libvirt_error"])
        byname = {g["name"]: g for g in down["guests"]}
        t.ok(all(n in byname and byname[n]["pid"] == pids[n] for n in GUESTS),
             "without libvirt it still sees the guests, from their QEMU processes: %s"
             % {n: byname.get(n, {}).get("pid") for n in GUESTS})
        txt = status(text=True) or ""
        t.ok("libvirt disconnected for" in txt, "ksmvirt status (text) says libvirt is disconnected and why")
    t.ok(all(os.path.exists("/proc/%d" % pids[n]) for n in GUESTS), "the QEMU processes survive libvirtd")
    time.sleep(TICK_S * 2)   # a few ticks without libvirt
    r = libvirtd_ctl("start", ctl_dir if started_libvirtd else restart_dir)
    t.ok(r.returncode == 0, "libvirtd restarted %.0f s after the kill: %s" % (time.time() - killed_t, r.stdout.strip()))
    back = None
    t0 = time.time()
    while time.time() - t0 < 60:
        s = status()
        if s and s["libvirt"] and s.get("libvirt_reconnects", 0) >= 1 and \
           all(g.get("balloon") for g in s["guests"]) and len(s["guests"]) == len(GUESTS):
            back = s
            break
        time.sleep(1)
    t.ok(back is not None, "ksmvirtd reconnected %.0f s after libvirtd came back" % (time.time() - t0))
    if back:
        byname = {g["name"]: g for g in back["guests"]}
        t.ok(all(byname[n]["pid"] == pids[n] and byname[n]["balloon"]["floor_kib"] == GUESTS[n][1] * 1024
                 for n in GUESTS), "after reconnecting: the same guests, pids and floors")
        t.ok("libvirt_error" not in back, "no libvirt error once connected")
    t.ok(daemon.poll() is None, "ksmvirtd is still running")
    fds1, rss1 = daemon_fds(), daemon_rss_kib()
    t.ok(fds1 <= fds0, "no descriptor leaked: %d before, %d after" % (fds0, fds1))
    t.ok(rss1 - rss0 < 4096, "RSS %d -> %d KiB across the reconnect" % (rss0, rss1))
    with open(log_path) as f:
        dlog = f.read()
    t.ok("libvirt: connection lost" in dlog and "libvirt: connected again" in dlog,
         "the log says when libvirt was lost and when it came back")

    # 4. Comfortable: balloons return to their maximum, priority 5 first.
    n0 = len(samples)
    reload_daemon(1, 2)
    at_max = lambda a: all(a[n] >= GUEST_MIB - 0.5 for n in GUESTS)  # noqa: E731
    reached = sample_until(at_max, 180, "every balloon back at its maximum")
    grow = samples[n0:]
    t.ok(reached, "comfortable: every balloon back at %d MiB: %s" % (GUEST_MIB, grow[-1][1] if grow else None))
    first_max = {}
    for ts, a in grow:
        for n in GUESTS:
            if n not in first_max and a[n] >= GUEST_MIB - 0.5:
                first_max[n] = ts
    t.ok(len(first_max) == 3 and all(first_max[HIGH] <= first_max[n] for n in LOW),
         "the priority-5 guest gets its memory back first: %s" %
         {n: round(v - grow[0][0], 1) for n, v in first_max.items()})
    worst = worst_move(grow, window)
    t.ok(worst <= STEP_MIB + 0.5, "growing is rate-limited too (worst %.1f MiB within %.1f s)" % (worst, window))
    s = status()
    recent = "\n".join(s["recent_actions"])
    t.ok(re.search(r"\[done\] balloon: guest %s balloon \d+ -> \d+ MiB \(host comfortable \(.*\): give memory "
                   r"back toward the %d MiB maximum; priority 5\)" % (re.escape(HIGH), GUEST_MIB), recent),
         "status explains the deflation: host comfortable, toward the maximum, priority")
finally:
    cleanup()
t.done()
