#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmvirtd inspects running guests by itself, asynchronously.

Real libvirtd, real TCG rig guests carrying disks (tests/rig/mkdomain
--disk, read-only), a real ksmvirtd and a real libguestfs appliance:

  - a guest with a Debian-like disk and one with a Windows-like disk
    (tests/rig/mkimage) are inspected by the daemon without any
    "ksmvirt inspect --record": "ksmvirt report --json" names their OS
    from the daemon's OS map;
  - a third guest whose disk image was removed after it started is
    "unknown" with the reason, without an appliance;
  - "ksmvirt status" answers within 2 s all along (one sample per second)
    while inspections run, and never shows two inspections running;
  - the dry-run balancer decides use_zero_pages on for the Windows guest
    and says it only affects pages scanned afterwards;
  - after a restart, the daemon answers every guest from its cache:
    no inspection child, no appliance.

Needs root, libvirt, KSM-free (the balancer runs in dry-run mode).
Guests are named $KSMVIRT_TEST_PREFIX (default ksmvirt-insp-PID) plus a
suffix, destroyed at the end.  Exit status: 0 pass, 1 fail, 77 skip.
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
from ksmvirt_test.run import guestfs_env  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(TOP, os.environ.get("KSMVIRT_BUILD", "build"))
RIG = os.path.join(TOP, "tests", "rig")
KSMVIRT = os.path.join(BUILD, "ksmvirt")
DAEMON = os.path.join(BUILD, "ksmvirtd")
PREFIX = os.environ.get("KSMVIRT_TEST_PREFIX", "ksmvirt-insp-%d" % os.getpid())
INSPECT_DEADLINE_S = 600   # two appliance launches under TCG on a busy host
# A status answer waits at most for one balancer tick or libvirt call on
# a busy 2-core host; a loop blocked by an inspection would wait for the
# whole appliance run (20-60 s).
STATUS_MAX_S = 5.0

results = []


def ok(cond, what):
    results.append(bool(cond))
    print("%s %d - %s" % ("ok" if cond else "not ok", len(results), what), flush=True)
    return cond


def log(msg):
    print("# [%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def run(*args, **kw):
    return subprocess.run(args, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout


class Daemon:
    def __init__(self, work, env, tag, conf="ksmvirtd.conf", state="state"):
        self.work, self.env, self.tag, self.conf, self.state = work, env, tag, conf, state
        self.sock = os.path.join(work, "ksmvirtd.sock")
        self.log = os.path.join(work, "ksmvirtd-%s.log" % tag)
        self.proc = None

    def start(self):
        with open(self.log, "w") as f:
            self.proc = subprocess.Popen(
                [DAEMON, "--socket", self.sock, "--state-dir", os.path.join(self.work, self.state),
                 "--config", os.path.join(self.work, self.conf), "--verbose"],
                stdout=f, stderr=subprocess.STDOUT, env=self.env)
        for _ in range(100):
            if os.path.exists(self.sock):
                return
            time.sleep(0.1)
        raise RuntimeError("ksmvirtd did not start: " + open(self.log).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def status(self):
        t0 = time.monotonic()
        out = subprocess.run([KSMVIRT, "status", "--json", "--socket", self.sock], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        dt = time.monotonic() - t0
        if out.returncode != 0:
            raise RuntimeError("ksmvirt status: " + out.stderr)
        return json.loads(out.stdout), dt

    def log_text(self):
        with open(self.log) as f:
            return f.read()


def ppid(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def appliances_of(root_pid):
    """libguestfs appliance QEMUs (their -kernel is the appliance's) that
    descend from ROOT_PID."""
    out = subprocess.run(["pgrep", "-a", "qemu-system"], stdout=subprocess.PIPE, text=True).stdout
    found = set()
    for line in out.splitlines():
        pid, _, cmd = line.partition(" ")
        if "guestfs" not in cmd:
            continue
        p = int(pid)
        while p > 1:
            p = ppid(p)
            if p == root_pid:
                found.add(int(pid))
                break
    return found


def by_name(doc, names):
    return {g["name"]: g for g in doc.get("inspection", {}).get("guests", []) if g["name"] in names}


def main():
    if os.geteuid() != 0:
        skip("needs root (libvirtd, libguestfs, ntfs-3g)")
    if not shutil.which("virsh") or not shutil.which("libvirtd"):
        skip("libvirt not installed: scripts/install-deps hooks")
    for f in (KSMVIRT, DAEMON):
        if not os.access(f, os.X_OK):
            print("FAIL: missing %s: run make" % f)
            return 1

    work = tempfile.mkdtemp(prefix="ksmvirt-insp.")
    os.chmod(work, 0o755)   # QEMU (libvirt-qemu) reads the images here
    names = {"deb": PREFIX + "-deb", "win": PREFIX + "-win", "gone": PREFIX + "-gone"}
    daemon = None
    try:
        log("building the guest rig and the images")
        rig = run(os.path.join(RIG, "build-rig"), "-q").strip()
        env_run = dict(os.environ, KSMVIRT_RUN_DIR=work)
        subprocess.run([os.path.join(RIG, "libvirtd-ctl"), "start"], check=True, env=env_run)
        imgs = {}
        for kind in ("debian", "windows"):
            imgs[kind] = os.path.join(work, kind + ".img")
            subprocess.run([os.path.join(RIG, "mkimage"), kind, imgs[kind]], check=True)
        imgs["gone"] = os.path.join(work, "gone.img")
        shutil.copy(imgs["debian"], imgs["gone"])
        os.makedirs(os.path.join(work, "console"), mode=0o777)
        os.chmod(os.path.join(work, "console"), 0o777)
        for key, img in (("deb", imgs["debian"]), ("win", imgs["windows"]), ("gone", imgs["gone"])):
            xml = run(os.path.join(RIG, "mkdomain"), "--name", names[key], "--rig", rig,
                      "--memory-mib", "128", "--fill", "zero" if key == "win" else "same",
                      "--fill-mib", "16", "--disk", img,
                      "--console", os.path.join(work, "console", key + ".log"))
            path = os.path.join(work, key + ".xml")
            with open(path, "w") as f:
                f.write(xml)
            subprocess.run(["virsh", "-q", "create", path], check=True, stdout=subprocess.DEVNULL)
        # QEMU keeps the image open; the path is gone for inspection.
        os.unlink(imgs["gone"])
        log("started %s" % " ".join(sorted(names.values())))

        with open(os.path.join(work, "ksmvirtd.conf"), "w") as f:
            f.write("[daemon]\ndry-run = true\n\n[inspect]\ninterval-seconds = 2\ntimeout-seconds = 500\n")
        env = guestfs_env()
        daemon = Daemon(work, env, "first")
        t_start = time.monotonic()
        daemon.start()

        # Poll status once a second until both OSes are known.
        slowest, samples, overlap, seen_running, lat = 0.0, 0, False, set(), []
        guests = {}
        while time.monotonic() - t_start < INSPECT_DEADLINE_S:
            doc, dt = daemon.status()
            samples += 1
            slowest = max(slowest, dt)
            lat.append(dt)
            guests = by_name(doc, names.values())
            running = [n for n, g in guests.items() if g["state"] == "running"]
            seen_running.update(running)
            overlap |= len([g for g in doc["inspection"]["guests"] if g["state"] == "running"]) > 1
            if all(guests.get(names[k], {}).get("state") in ("done", "unknown") for k in names):
                break
            time.sleep(1)
        took = time.monotonic() - t_start
        log("inspections ended after %.0f s; %d status samples, median %.3f s, slowest %.3f s" % (
            took, samples, sorted(lat)[len(lat) // 2] if lat else 0, slowest))
        for n, g in sorted(guests.items()):
            log("%s: %s %s" % (n, g["state"], json.dumps(g.get("os"))))

        ok(samples >= 10 and slowest < STATUS_MAX_S,
           "status answered within %.1f s all along (%d samples, slowest %.3f s)" % (STATUS_MAX_S, samples, slowest))
        ok(names["deb"] in seen_running and names["win"] in seen_running,
           "status showed each inspection running (%s)" % ", ".join(sorted(seen_running)))
        ok(not overlap, "never two inspections at once")
        deb, win, gone = (guests.get(names[k], {}) for k in ("deb", "win", "gone"))
        ok(deb.get("state") == "done" and deb["os"]["family"].startswith("linux/debian/"),
           "Debian-like guest: done, %s" % (deb.get("os") or {}).get("family"))
        ok(win.get("state") == "done" and win["os"]["type"] == "windows" and
           win["os"]["product_name"] == "Windows 10 Pro" and win["os"]["major"] == 10,
           "Windows-like guest: done, %s" % (win.get("os") or {}).get("product_name"))
        ok(gone.get("state") == "unknown" and "No such file" in (gone.get("os") or {}).get("reason", ""),
           "guest whose disk went: unknown, %s" % (gone.get("os") or {}).get("reason"))
        ok(daemon.log_text().count("inspecting ") == 2,
           "two appliances launched (none for the missing disk)")

        # The report names the OS from the daemon's OS map.
        rep = json.loads(run(KSMVIRT, "report", "--json", "--os-map", os.path.join(work, "state", "os.json")))
        ros = {g["name"]: (g.get("os") or {}) for g in rep["guests"] if g["name"] in names.values()}
        log("report: %s" % json.dumps(ros))
        ok(ros.get(names["deb"], {}).get("distro") == "debian", "report: Debian-like guest is debian")
        ok(ros.get(names["win"], {}).get("product_name") == "Windows 10 Pro",
           "report: Windows-like guest is Windows 10 Pro")

        # The dry-run balancer: use_zero_pages for the Windows guest (from
        # the first tick after the inspection).
        t0 = time.monotonic()
        while True:
            doc, _ = daemon.status()
            zero = [d for d in doc["decisions"] if d["policy"] == "zero"]
            if (zero and names["win"] in zero[0]["reason"]) or time.monotonic() - t0 > 30:
                break
            time.sleep(1)
        ok(zero and names["win"] in zero[0]["reason"] and "only affects pages scanned after" in zero[0]["reason"],
           "zero-page decision names the Windows guest: %s" % (zero[0]["reason"] if zero else None))
        text = run(KSMVIRT, "status", "--socket", daemon.sock)
        ok("Guest OS inspection" in text and "Windows 10 Pro (windows/windows/10)" in text,
           "ksmvirt status shows the inspection table")

        # Restart: everything from the cache, no child, no appliance.
        daemon.stop()
        daemon = Daemon(work, env, "second")
        t0 = time.monotonic()
        daemon.start()
        cached = {}
        while time.monotonic() - t0 < 15:
            doc, _ = daemon.status()
            cached = by_name(doc, names.values())
            if all(cached.get(names[k], {}).get("state") in ("done", "unknown") for k in names):
                break
            time.sleep(0.2)
        dt = time.monotonic() - t0
        ok(all(cached.get(names[k], {}).get("state") == "done" and cached[names[k]].get("cached")
               for k in ("deb", "win")),
           "after a restart both guests are answered from the cache in %.1f s" % dt)
        ok("inspecting " not in daemon.log_text(), "no inspection child after the restart")
        daemon.stop()

        # A timeout bounds each inspection: a fresh state and cache file
        # ([inspect] cache), 5 s for appliances that need 15 s or more.
        with open(os.path.join(work, "timeout.conf"), "w") as f:
            f.write("[daemon]\ndry-run = true\n\n[inspect]\ninterval-seconds = 2\ntimeout-seconds = 5\n"
                    "cache = %s\n" % os.path.join(work, "cache2.json"))
        daemon = Daemon(work, env, "timeout", conf="timeout.conf", state="state2")
        t0 = time.monotonic()
        daemon.start()
        timed, slowest, seen = {}, 0.0, set()
        while time.monotonic() - t0 < 120:
            doc, dt = daemon.status()
            slowest = max(slowest, dt)
            seen |= appliances_of(daemon.proc.pid)
            timed = by_name(doc, (names["deb"], names["win"]))
            if all(g["state"] == "unknown" for g in timed.values()) and len(timed) == 2:
                break
            time.sleep(0.5)
        dt = time.monotonic() - t0
        reasons = sorted({(g.get("os") or {}).get("reason") for g in timed.values()})
        ok(len(timed) == 2 and reasons == ["inspection timed out after 5 s"] and dt < 60,
           "timeout-seconds = 5: both unknown, %s, after %.0f s (status slowest %.3f s)" % (reasons, dt, slowest))
        cache2 = os.path.join(work, "cache2.json")
        ok(not os.path.exists(cache2) or not json.load(open(cache2))["entries"],
           "a timed-out inspection is not cached")
        daemon.stop()
        time.sleep(3)   # libguestfs' recovery process checks every second or so
        left = [p for p in seen if os.path.exists("/proc/%d" % p)]
        ok(seen and not left, "appliances killed with their inspection (%d seen, %d left)" % (len(seen), len(left)))
    finally:
        if daemon:
            daemon.stop()
        for n in names.values():
            subprocess.run(["virsh", "-q", "destroy", n], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([os.path.join(RIG, "libvirtd-ctl"), "stop"], env=dict(os.environ, KSMVIRT_RUN_DIR=work),
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)

    fails = results.count(False)
    print("1..%d" % len(results))
    print("%d passed, %d failed" % (len(results) - fails, fails))
    return 0 if fails == 0 and results else 1


if __name__ == "__main__":
    sys.exit(main())
