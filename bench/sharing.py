#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sharing audit cost: `report --sharing` against `report --census` at 100
guests.

Starts GUESTS (default 100) real processes of MIB MiB (default 8) of
resident, MADV_MERGEABLE memory, all of the same content, in 10 groups
(--group): once KSM has merged them every frame is mapped by every guest,
the case where counting pairs frame by frame costs C(100, 2) = 4950
updates a frame; and every guest shares with 90 of another group, so the
cross-group warnings are at their cap.  KSM then stops (run=0: the
merged pages stay) and the two reports run alternately REPEAT times
(default 7) with the same --pid and --group arguments: CPU time (user +
sys) of each whole report process, side by side in one run; once with
--json (every one of the 5050 guest pairs written out) and once with
--prometheus (per group pair only: the model's own cost).

Then each of the four runs once under valgrind's callgrind: the
instructions it executes do not move with the machine's load as its CPU
time does (these machines differ by 1.5x from day to day).

Usage: bench/sharing.py [GUESTS] [MIB] [REPEAT]   (root; from the source tree)
Prints one line per run and a summary with the medians and their ratios.
The target is on the audit itself, with --prometheus: --sharing executes
at most TARGET_RATIO times the instructions of --census (without
valgrind: uses at most that much CPU time).  Exits 1 above it.  The JSON
writer's extra cost is printed, not targeted: it is proportional to the
pairs it writes (json-glib builds a node tree of 5050 objects).
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "pylib"))
from ksmvirt_test import BUILD  # noqa: E402
from ksmvirt_test.ksm import KsmSettings, ksm_read, ksm_stat, ksm_write, require_root_ksm  # noqa: E402
from ksmvirt_test.run import instructions  # noqa: E402

TARGET_RATIO = 1.4
GROUPS = 10


def child_cpu(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, out


def main():
    guests = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    require_root_ksm()
    pages = mib * 2**20 // os.sysconf("SC_PAGE_SIZE")
    procs = []
    with KsmSettings():
        try:
            ksm_write("use_zero_pages", 0)
            if guests > int(ksm_read("max_page_sharing")):
                print("max_page_sharing %s < %d guests: frames would not be shared by all" %
                      (ksm_read("max_page_sharing"), guests))
                return 1
            ksm_write("pages_to_scan", 20000)
            ksm_write("sleep_millisecs", 0)
            for _ in range(guests):
                p = subprocess.Popen([os.path.join(BUILD, "tests/helpers/mergeable"), "--mib", str(mib),
                                      "--fill", "same", "--seed", "7"], stdout=subprocess.PIPE, text=True)
                procs.append(p)
                if not p.stdout.readline().startswith("ready"):
                    print("helper failed")
                    return 1
            ksm_write("run", 1)
            t0 = time.monotonic()
            while not all(ksm_stat(p.pid).get("ksm_merging_pages") == pages for p in procs):
                if time.monotonic() - t0 > 600:
                    print("KSM did not merge the guests in 600 s")
                    return 1
                time.sleep(1)
            print("%d guests of %d MiB merged in %.0f s" % (guests, mib, time.monotonic() - t0))
            ksm_write("run", 0)

            args = [os.path.join(BUILD, "ksmvirt"), "report", "--interval", "0", "--no-libvirt"]
            for i, p in enumerate(procs):
                args += ["--pid", str(p.pid), "--group", "%d=group-%d" % (p.pid, i % GROUPS)]
            ratios = {}
            for fmt in ("--json", "--prometheus"):
                census, sharing = [], []
                for i in range(repeat):
                    c, cw, _ = child_cpu(args + [fmt, "--census"])
                    s, sw, out = child_cpu(args + [fmt, "--sharing"])
                    census.append(c)
                    sharing.append(s)
                    print("%s run %d: --census %.3f s CPU (%.3f s wall); --sharing %.3f s CPU (%.3f s wall); "
                          "ratio %.2f" % (fmt, i + 1, c, cw, s, sw, s / c))
                if fmt == "--json":
                    sh = json.loads(out)["sharing"]
                    print("model: %d distinct KSM frames, %d distinct sets of guests, %d guest pairs that share, "
                          "%d group pairs; %d cross-group frames"
                          % (sh["frames"], sh["guest_sets"], len(sh["guest_pairs"]), len(sh["group_pairs"]),
                             sh["cross_group_frames"]))
                mc, ms = statistics.median(census), statistics.median(sharing)
                ratios[fmt] = ms / mc
                print("%s: --census median %.3f s CPU (min %.3f, max %.3f); --sharing median %.3f s CPU "
                      "(min %.3f, max %.3f); sharing/census %.2f"
                      % (fmt, mc, min(census), max(census), ms, min(sharing), max(sharing), ratios[fmt]))
            ir = {}
            for fmt in ("--json", "--prometheus"):
                c = instructions(args + [fmt, "--census"])
                s = instructions(args + [fmt, "--sharing"])
                if c and s:
                    ir[fmt] = s / c
                    print("%s: instructions --census %.1f M, --sharing %.1f M; sharing/census %.2f"
                          % (fmt, c / 1e6, s / 1e6, ir[fmt]))
            decide = ir.get("--prometheus", ratios["--prometheus"])
            ok = decide <= TARGET_RATIO
            print("sharing audit of %d guests x %d MiB, every frame mapped by all: sharing/census CPU %.2f with "
                  "--json, %.2f with --prometheus; %s with --prometheus %.2f, target <= %.2f: %s"
                  % (guests, mib, ratios["--json"], ratios["--prometheus"],
                     "instructions" if ir else "CPU", decide, TARGET_RATIO, "PASS" if ok else "FAIL"))
            return 0 if ok else 1
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
