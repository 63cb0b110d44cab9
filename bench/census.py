#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Census throughput: GiB of mapped guest RAM walked per CPU-second.

Starts one real process with MIB MiB (default 4096) of resident,
MADV_MERGEABLE memory, then times `ksmvirt report --census` on it REPEAT
times (default 5): CPU time (user + sys, one core) of the whole report,
and, side by side in the same run, the kernel's own walk of the same
mapping (reading /proc/PID/smaps) as a reference.

Usage: bench/census.py [MIB] [REPEAT]   (root; run from the source tree)
Prints one line per run and a summary.  The target is 10 GiB/s per core
on the machine where it was set, whose smaps walk ran at 77.7 GiB/s
(BENCHMARKS.md): these machines differ by 1.5x from day to day, so the
pass mark is that target relative to the walk measured in the same run,
census/smaps >= 10 / 77.7 = 0.13.  Exits 1 under it.
"""
import os
import resource
import statistics
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(TOP, os.environ.get("KSMVIRT_BUILD", "build"))
TARGET_GIB_S = 10.0
REFERENCE_WALK_GIB_S = 77.7
TARGET_RATIO = round(TARGET_GIB_S / REFERENCE_WALK_GIB_S, 2)


def child_cpu(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if os.geteuid() != 0:
        print("census benchmark needs root (pagemap PFNs, kpageflags)")
        return 77
    p = subprocess.Popen([os.path.join(BUILD, "tests/helpers/mergeable"), "--mib", str(mib), "--fill", "unique"],
                         stdout=subprocess.PIPE, text=True)
    try:
        if not p.stdout.readline().startswith("ready"):
            print("helper failed")
            return 1
        gib = mib / 1024
        cmd = [os.path.join(BUILD, "ksmvirt"), "report", "--census", "--json", "--interval", "0",
               "--no-libvirt", "--pid", str(p.pid)]
        ref = ["cat", "/proc/%d/smaps" % p.pid]
        rates, ref_rates = [], []
        for i in range(repeat):
            cpu, wall = child_cpu(cmd)
            rcpu, rwall = child_cpu(ref)
            rates.append(gib / cpu)
            ref_rates.append(gib / rcpu if rcpu > 0 else float("inf"))
            print("run %d: census %.3f s CPU (%.3f s wall) = %.1f GiB/s/core; smaps walk %.3f s CPU = %.1f GiB/s/core"
                  % (i + 1, cpu, wall, gib / cpu, rcpu, ref_rates[-1]))
        med = statistics.median(rates)
        ratio = med / statistics.median(ref_rates)
        ok = ratio >= TARGET_RATIO
        print("census of %d MiB: median %.1f GiB/s per core (min %.1f, max %.1f); smaps walk median %.1f GiB/s;"
              " census/smaps ratio %.2f; target >= %.2f (%.0f GiB/s where the walk ran at %.1f): %s"
              % (mib, med, min(rates), max(rates), statistics.median(ref_rates), ratio,
                 TARGET_RATIO, TARGET_GIB_S, REFERENCE_WALK_GIB_S, "PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
