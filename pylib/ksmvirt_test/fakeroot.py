# SPDX-License-Identifier: GPL-2.0-or-later
"""Writers of fake /proc and /sys trees for `ksmvirt --root`: files, KSM
sysfs, processes (stat, status, cmdline, ksm_stat, smaps, pagemap) and what
libvirt leaves for a guest.  The fixture roots (tests/data/mkroots.py), the
balancer tests' hosts and the report benchmark are made with them."""
import os
import struct

PAGE = 4096
KPF_KSM, KPF_ZERO_PAGE = 1 << 21, 1 << 24
PM_PRESENT, PM_SWAP = 1 << 63, 1 << 62


def write(root, path, data, mode="w"):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, mode) as f:
        f.write(data)


def ksm_sysfs(root, values):
    for k, v in values.items():
        write(root, "/sys/kernel/mm/ksm/" + k, "%s\n" % v)


FULL_KSM = {
    "run": 1, "pages_to_scan": 1000, "sleep_millisecs": 20,
    "pages_shared": 100, "pages_sharing": 120, "pages_unshared": 300, "pages_volatile": 7,
    "pages_skipped": 11, "pages_scanned": 123456, "full_scans": 42, "ksm_zero_pages": 20,
    "general_profit": 1040000, "stable_node_chains": 0, "stable_node_dups": 0,
    "stable_node_chains_prune_millisecs": 2000, "max_page_sharing": 256, "merge_across_nodes": 1,
    "use_zero_pages": 1, "smart_scan": 1, "advisor_mode": "[none] scan-time",
    "advisor_max_cpu": 70, "advisor_min_pages_to_scan": 500, "advisor_max_pages_to_scan": 30000,
    "advisor_target_scan_time": 200,
}

VMSTAT = "nr_free_pages 5000000\npswpin 10\npswpout 20\nksm_swpin_copy 3\ncow_ksm 5\n"
MEMINFO = ("MemTotal:       24572440 kB\nMemFree:        20000000 kB\nMemAvailable:   21000000 kB\n"
           "Buffers:           10000 kB\nCached:           500000 kB\nSwapTotal:       1048572 kB\n"
           "SwapFree:         1048572 kB\n")


def stat_line(pid, comm, ppid, utime=100, stime=50, rss=1000):
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
    # cmajflt utime stime cutime cstime priority nice threads itreal starttime vsize rss
    return "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 %d %d 0 0 20 0 4 0 1000 123456789 %d\n" % (
        pid, comm, ppid, pid, pid, utime, stime, rss)


def smaps_entry(start, end, path="", inode=0, rss_kib=0, swap_kib=0, ksm_kib=None, flags="rd wr mr mw me ac sd"):
    size_kib = (end - start) // 1024
    s = "%x-%x rw-p 00000000 %s %d" % (start, end, "00:00" if not inode else "fe:00", inode)
    s += (" " * 10 + path if path else "") + "\n"
    s += "Size:           %8d kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\n" % size_kib
    s += "Rss:            %8d kB\nPss:            %8d kB\n" % (rss_kib, rss_kib)
    s += "Anonymous:      %8d kB\n" % (rss_kib if not inode else 0)
    if ksm_kib is not None:
        s += "KSM:            %8d kB\n" % ksm_kib
    s += "LazyFree:              0 kB\nAnonHugePages:         0 kB\nSwap:           %8d kB\nSwapPss:        %8d kB\n" % (
        swap_kib, swap_kib)
    s += "Locked:                0 kB\nTHPeligible:           0\nVmFlags: %s\n" % flags
    return s


# The user libvirt runs QEMU as (Debian's libvirt-qemu), and a local user.
QEMU_UID, USER_UID = 64055, 1000
PASSWD = ("root:x:0:0:root:/root:/bin/bash\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
          "libvirt-qemu:x:%d:107:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n"
          "alice:x:%d:1000:,,,:/home/alice:/bin/bash\n" % (QEMU_UID, USER_UID))


class Proc:
    def __init__(self, root, pid, comm, argv, ppid=1, ksm_stat=None, rss_kib=20000, swap_kib=0, uid=0):
        self.root, self.pid = root, pid
        write(root, "/proc/%d/stat" % pid, stat_line(pid, comm, ppid))
        write(root, "/proc/%d/status" % pid,
              "Name:\t%s\nState:\tS (sleeping)\nUid:\t%d\t%d\t%d\t%d\nVmRSS:\t%8d kB\nVmSwap:\t%8d kB\n" % (
                  comm.replace("\n", "\\n"), uid, uid, uid, uid, rss_kib, swap_kib))
        write(root, "/proc/%d/cmdline" % pid, "\0".join(argv) + "\0")
        if ksm_stat is not None:
            write(root, "/proc/%d/ksm_stat" % pid, ksm_stat)
        self.smaps = ""
        self.pagemap = {}

    def libvirt(self, name, domid, v2=False, cgroup=None, pidfile=True):
        """What libvirt leaves for a QEMU it started: its pid file, the
        guest's machine cgroup (v1 memory, or v2), and /etc/passwd with
        the QEMU user (the process must be made with uid=QEMU_UID)."""
        if pidfile:
            write(self.root, "/run/libvirt/qemu/%s.pid" % name, "%d" % self.pid)
        if cgroup is None:
            scope = "/machine/qemu-%d-%s.libvirt-qemu" % (domid, name)
            cgroup = ("0::%s/emulator\n" % scope if v2 else
                      "12:memory:%s/emulator\n1:name=systemd:/system.slice/libvirtd.service\n0::/\n" % scope)
        write(self.root, "/proc/%d/cgroup" % self.pid, cgroup)
        write(self.root, "/etc/passwd", PASSWD)
        return self

    def mapping(self, start, pages, entries=None, **kw):
        """entries: list of (kind, pfn) per page: kind in present/swap/none."""
        self.smaps += smaps_entry(start, start + pages * PAGE, **kw)
        for i, e in enumerate(entries or []):
            self.pagemap[start // PAGE + i] = e

    def finish(self):
        write(self.root, "/proc/%d/smaps" % self.pid, self.smaps)
        if self.pagemap:
            n = max(self.pagemap) + 1
            buf = bytearray(8 * n)
            for vpn, (kind, pfn) in self.pagemap.items():
                v = (PM_PRESENT | pfn) if kind == "present" else PM_SWAP if kind == "swap" else 0
                struct.pack_into("<Q", buf, 8 * vpn, v)
            write(self.root, "/proc/%d/pagemap" % self.pid, bytes(buf), "wb")


def ksm_stat(rmap, zero, merging, profit, merge_any="no", mergeable="yes"):
    return ("ksm_rmap_items %d\nksm_zero_pages %d\nksm_merging_pages %d\nksm_process_profit %d\n"
            "ksm_merge_any: %s\nksm_mergeable: %s\n" % (rmap, zero, merging, profit, merge_any, mergeable))
