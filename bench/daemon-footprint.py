#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmvirtd footprint: RSS and CPU at a 5 s tick with N fixture guests.

Builds a fake host root with N QEMU guests (tests/daemon/mkguests.py,
overcommitted and under PSI pressure, so every policy has work each tick),
runs ksmvirtd on it for SECONDS, and reports its resident set (VmRSS,
VmHWM), where the RSS lives (the largest mappings by Rss from smaps), and
its CPU time over the run as a percentage of one core.  Two runs: without
libvirt, and connected to libvirt's test:///default driver.
Targets: RSS <= 8 MiB and CPU <= 0.2 % of a core.

Then, in the same run, the floor: bench/footprint-floor.c built at four
stages (a GLib main loop; linked to libvirt; virInitialize(); a read-only
test:///default connection with bulk balloon statistics every 5 s) and
measured the same way, so the daemon's own share of its RSS shows apart
from what loading libvirt costs any process.

Usage: bench/daemon-footprint.py [N] [SECONDS]
Exit status: 0 when both runs meet both targets, 1 otherwise.
"""
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.stdout.reconfigure(line_buffering=True)

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(TOP, os.environ.get("KSMVIRT_BUILD", "build"))
RSS_TARGET_KIB = 8 * 1024
CPU_TARGET_PCT = 0.2
HZ = os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def rss_by_mapping(pid):
    by = collections.Counter()
    name = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
                name = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
                if name.startswith("lib"):
                    name = name.split(".so")[0] + ".so"
            elif parts[0] == "Rss:":
                by[name] += int(parts[1])
    return by


def rollup_kib(pid):
    out = collections.Counter()
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def run(n, seconds, extra, label, work):
    slug = "".join(c if c.isalnum() else "-" for c in label)
    root = os.path.join(work, "root-" + slug)
    subprocess.run([sys.executable, os.path.join(TOP, "tests/daemon/mkguests.py"), str(n), root,
                    "--psi-some", "20", "--psi-full", "2", "--host-gib", str(max(1, n))], check=True)
    conf = os.path.join(work, "conf")
    with open(conf, "w") as f:
        f.write("[daemon]\ntick-seconds = 5\n")
    sock = os.path.join(work, slug + ".sock")
    state = os.path.join(work, "state-" + slug)
    p = subprocess.Popen([os.path.join(BUILD, "ksmvirtd"), "--socket", sock, "--state-dir", state,
                          "--config", conf, "--root", root] + extra,
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, slug + ".log"), "w"))
    try:
        time.sleep(2)   # start-up and the first tick are not steady state
        t0, c0 = time.monotonic(), cpu_ticks(p.pid)
        time.sleep(seconds)
        t1, c1 = time.monotonic(), cpu_ticks(p.pid)
        rss, hwm = status_kib(p.pid, "VmRSS"), status_kib(p.pid, "VmHWM")
        top = rss_by_mapping(p.pid).most_common(8)
        roll = rollup_kib(p.pid)
        private = roll["Private_Clean"] + roll["Private_Dirty"]
        anon = roll["Anonymous"]
        r = subprocess.run([os.path.join(BUILD, "ksmvirt"), "status", "--json", "--socket", sock],
                           capture_output=True, text=True)
        guests = r.stdout.count('"merging_pages"')
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    cpu_pct = 100.0 * (c1 - c0) / HZ / (t1 - t0)
    print("%-28s guests %d  RSS %5.1f MiB (peak %5.1f)  CPU %.3f %% of a core over %.0f s (%d ticks)"
          % (label, guests, rss / 1024, hwm / 1024, cpu_pct, t1 - t0, (t1 - t0) // 5))
    print("    private (USS) %.1f MiB, anonymous %.1f MiB, shared library pages %.1f MiB"
          % (private / 1024, anon / 1024, (rss - anon) / 1024))
    print("    largest RSS: " + ", ".join("%s %.1f MiB" % (k, v / 1024) for k, v in top))
    return rss <= RSS_TARGET_KIB and cpu_pct <= CPU_TARGET_PCT, rss, cpu_pct


FLOOR_STAGES = (
    (0, "GLib main loop only"),
    (1, "+ linked to libvirt, not called"),
    (2, "+ virInitialize()"),
    (3, "+ test:///default, bulk stats/5 s"),
)


def floors(work):
    """RSS of the floor programs: {stage: (rss, anon, file)} in KiB."""
    src = os.path.join(TOP, "bench", "footprint-floor.c")
    out = {}
    for stage, _label in FLOOR_STAGES:
        exe = os.path.join(work, "floor%d" % stage)
        pkgs = ["glib-2.0"] + (["libvirt"] if stage >= 1 else [])
        flags = subprocess.run(["pkg-config", "--cflags", "--libs"] + pkgs, capture_output=True,
                               text=True, check=True).stdout.split()
        subprocess.run(["cc", "-O2", "-Wall", "-DSTAGE=%d" % stage, "-o", exe, src] + flags,
                       check=True)
        p = subprocess.Popen([exe], stdout=subprocess.PIPE, text=True)
        try:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("floor program %d failed" % stage)
            time.sleep(6)   # past the first 5 s tick
            out[stage] = (status_kib(p.pid, "VmRSS"), status_kib(p.pid, "RssAnon"),
                          status_kib(p.pid, "RssFile"))
        finally:
            p.kill()
            p.wait()
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    work = tempfile.mkdtemp(prefix="ksmvirt-footprint.")
    try:
        print("ksmvirtd, %d fixture guests, tick 5 s, measured over %d s; targets RSS <= %d MiB, CPU <= %.1f %%"
              % (n, seconds, RSS_TARGET_KIB // 1024, CPU_TARGET_PCT))
        ok1, _, _ = run(n, seconds, ["--no-libvirt"], "without libvirt", work)
        ok2, rss2, _ = run(n, seconds, ["--connect", "test:///default"], "with libvirt test:///default",
                           work)
        fl = floors(work)
        print("the floor (bench/footprint-floor.c, same run):")
        for stage, label in FLOOR_STAGES:
            rss, anon, fil = fl[stage]
            print("    %-36s RSS %5.1f MiB  (anonymous %4.1f, file %4.1f)"
                  % (label, rss / 1024, anon / 1024, fil / 1024))
        print("    ksmvirtd connected is %+.1f MiB over the last floor program; linking libvirt "
              "alone costs %.1f MiB over GLib alone"
              % ((rss2 - fl[3][0]) / 1024, (fl[1][0] - fl[0][0]) / 1024))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("footprint: %s" % ("PASS" if ok1 and ok2 else "FAIL (see figures above)"))
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    sys.exit(main())
