#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Guest OS inspection: appliance launch per image, and the cache hit.

Usage: python3 bench/inspect.py [COLD_RUNS [WARM_RUNS]]   (defaults 3, 20)

Builds the Debian-like and the Windows-like image (tests/rig/mkimage),
then times "ksmvirt inspect --json" on each: COLD_RUNS times without a
cache (one libguestfs appliance launch each, the cost ksmvirtd pays once
per change of a guest's disks) and WARM_RUNS times answered from a cache
file (what ksmvirtd's restart and every unchanged guest cost).  Prints
median, min and max in seconds (cold) and milliseconds (warm).  Needs root
and the libguestfs kernel (tests/rig/guestfs-kernel); runs under TCG here.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "pylib"))
from ksmvirt_test.run import guestfs_env  # noqa: E402

KSMVIRT = os.path.join(TOP, "build", "ksmvirt")


def timed(args, e):
    t0 = time.monotonic()
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True, env=e).stdout
    return time.monotonic() - t0, json.loads(out)


def fmt(xs, scale):
    xs = [x * scale for x in xs]
    return "%8.1f %8.1f %8.1f" % (statistics.median(xs), min(xs), max(xs))


def main():
    cold = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    warm = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    if os.geteuid() != 0:
        print("needs root")
        return 77
    e = guestfs_env()
    with tempfile.TemporaryDirectory() as tmp:
        print("inspection with a libguestfs appliance (%s), %d cold and %d cached runs per image"
              % (e.get("LIBGUESTFS_BACKEND_SETTINGS", "default backend"), cold, warm))
        print("%-8s %-28s %26s   %26s" % ("image", "answer", "cold s: median min max",
                                            "cached ms: median min max"))
        for kind in ("debian", "windows"):
            img = os.path.join(tmp, kind + ".img")
            subprocess.run([os.path.join(TOP, "tests", "rig", "mkimage"), kind, img], check=True)
            cache = os.path.join(tmp, kind + ".cache.json")
            cold_s, warm_s, answer = [], [], None
            for _ in range(cold):
                dt, answer = timed([KSMVIRT, "inspect", "--json", "--timeout", "600", img], e)
                cold_s.append(dt)
            timed([KSMVIRT, "inspect", "--json", "--timeout", "600", "--cache", cache, img], e)
            for _ in range(warm):
                dt, hit = timed([KSMVIRT, "inspect", "--json", "--timeout", "600", "--cache", cache, img], e)
                assert hit == answer, (hit, answer)
                warm_s.append(dt)
            what = "%s %s" % (answer["type"], answer.get("product_name"))
            print("%-8s %-28s %26s   %26s" % (kind, what, fmt(cold_s, 1), fmt(warm_s, 1000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
