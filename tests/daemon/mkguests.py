#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""mkguests.py N DIR [--psi-some X] [--psi-full Y] [--avail-pct P] [--ram-mib M]

Writes a fake host root with N QEMU guests under DIR (which must not exist):
/proc/meminfo, /proc/vmstat, /proc/pressure/memory, KSM sysfs, ksmd, and per
guest /proc/PID/{stat,status,cmdline,ksm_stat,smaps,cgroup} plus its cgroup
v1 memory directory (odd guests) or cgroup2 directory (even guests).  Used
by the balancer tests and the footprint benchmark.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test import fakeroot  # noqa: E402

GIB_KIB = 1024 * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("dir")
    ap.add_argument("--psi-some", type=float, default=0.0)
    ap.add_argument("--psi-full", type=float, default=0.0)
    ap.add_argument("--avail-pct", type=float, default=60.0)
    ap.add_argument("--ram-mib", type=int, default=2048)
    ap.add_argument("--host-gib", type=int, default=256)
    a = ap.parse_args()
    if os.path.exists(a.dir):
        sys.exit("mkguests: %s exists" % a.dir)
    root = a.dir
    total = a.host_gib * GIB_KIB
    avail = int(total * a.avail_pct / 100)
    ksm = dict(fakeroot.FULL_KSM)
    ksm.update({"run": 0, "pages_to_scan": 100, "pages_shared": 0, "pages_sharing": 0})
    fakeroot.ksm_sysfs(root, ksm)
    fakeroot.write(root, "/proc/vmstat", fakeroot.VMSTAT)
    fakeroot.write(root, "/proc/meminfo",
                   "MemTotal: %d kB\nMemFree: %d kB\nMemAvailable: %d kB\nBuffers: 0 kB\nCached: 0 kB\n"
                   "SwapTotal: %d kB\nSwapFree: %d kB\n" % (total, avail, avail, 8 * GIB_KIB, 8 * GIB_KIB))
    fakeroot.write(root, "/proc/pressure/memory",
                   "some avg10=%.2f avg60=0.00 avg300=0.00 total=1\nfull avg10=%.2f avg60=0.00 avg300=0.00 total=1\n"
                   % (a.psi_some, a.psi_full))
    fakeroot.write(root, "/sys/fs/cgroup/unified/cgroup.controllers", "memory\n")
    fakeroot.Proc(root, 1, "init", ["/sbin/init"]).finish()
    fakeroot.Proc(root, 2, "kthreadd", []).finish()
    fakeroot.Proc(root, 40, "ksmd", [], ppid=2).finish()
    ram_kib = a.ram_mib * 1024
    for i in range(a.n):
        pid = 10000 + i
        name = "guest-%04d" % i
        uuid = "00000000-0000-4000-8000-%012d" % i
        argv = ["/usr/bin/qemu-system-x86_64", "-name", "guest=%s,debug-threads=on" % name,
                "-machine", "pc,memory-backend=pc.ram", "-accel", "tcg", "-m", "%d" % a.ram_mib,
                "-object", '{"qom-type":"memory-backend-ram","id":"pc.ram","size":%d}' % (ram_kib * 1024),
                "-uuid", uuid]
        merging = (i * 37) % 5000
        p = fakeroot.Proc(root, pid, "qemu-system-x86", argv,
                          ksm_stat=fakeroot.ksm_stat(merging + 10, 0, merging, merging * 4096),
                          rss_kib=ram_kib // 2, swap_kib=0, uid=fakeroot.QEMU_UID)
        p.mapping(0x7f0000000000, ram_kib // 4, rss_kib=ram_kib // 2, ksm_kib=merging * 4,
                  flags="rd wr mr mw me ac sd mg dc dd")
        p.finish()
        scope = "/machine/qemu-%d-%s.libvirt-qemu" % (i + 1, name)
        # libvirt's pid file and /etc/passwd: the guest is libvirt's.
        p.libvirt(name, i + 1)
        if i % 2:
            fakeroot.write(root, "/proc/%d/cgroup" % pid, "4:memory:%s\n1:name=systemd:/\n0::/\n" % scope)
            d = "/sys/fs/cgroup/memory" + scope
            fakeroot.write(root, d + "/memory.limit_in_bytes", "9223372036854771712\n")
            fakeroot.write(root, d + "/memory.usage_in_bytes", "%d\n" % (ram_kib * 1024 // 2))
        else:
            fakeroot.write(root, "/proc/%d/cgroup" % pid, "0::%s/emulator\n" % scope)
            d = "/sys/fs/cgroup/unified" + scope
            fakeroot.write(root, d + "/memory.high", "max\n")
            fakeroot.write(root, d + "/memory.current", "%d\n" % (ram_kib * 1024 // 2))


if __name__ == "__main__":
    main()
