#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Census throughput: GiB of mapped guest RAM walked per CPU-second.

Starts one real process with MIB MiB (default 4096) of resident,
MADV_MERGEABLE memory, then times `ksmvirt report --census` on it REPEAT
times (default 5): CPU time (user + sys, one core) of the whole report,
and, side by side in the same run, the kernel's own walk of the same
mapping (reading /proc/PID/smaps) as a reference.

Usage: bench/census.py [MIB] [REPEAT]   (root; run from the source tree)
Prints one line per run and a summary; exits 1 if the median is under the
target of 10 GiB/s per core.
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
        print("census of %d MiB: median %.1f GiB/s per core (min %.1f, max %.1f); smaps walk median %.1f GiB/s;"
              " census/smaps ratio %.2f; target >= %.0f GiB/s: %s"
              % (mib, med, min(rates), max(rates), statistics.median(ref_rates),
                 med / statistics.median(ref_rates), TARGET_GIB_S, "PASS" if med >= TARGET_GIB_S else "FAIL"))
        return 0 if med >= TARGET_GIB_S else 1
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
