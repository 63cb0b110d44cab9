#!/usr/bin/env python3
"""Writes the fixture roots under tests/data/roots/ (run from anywhere).

Each root is a small /proc + /sys + /run tree that `ksmvirt report --root`
reads.  The trees are committed; this script documents how they were made
and regenerates them after a change: python3 tests/data/mkroots.py
The writers are pylib/ksmvirt_test/fakeroot.py's.
"""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "pylib"))
from ksmvirt_test.fakeroot import (FULL_KSM, KPF_KSM, KPF_ZERO_PAGE, MEMINFO, QEMU_UID,  # noqa: E402
                                   USER_UID, VMSTAT, Proc, ksm_stat, ksm_sysfs, write)

ROOTS = os.path.join(HERE, "roots")


def host_full():
    root = os.path.join(ROOTS, "host-full")
    ksm_sysfs(root, FULL_KSM)
    write(root, "/proc/vmstat", VMSTAT)
    write(root, "/proc/meminfo", MEMINFO)
    # Two host nodes with non-contiguous ids 0 and 2; 128 MiB memory blocks.
    write(root, "/sys/devices/system/memory/block_size_bytes", "8000000\n")
    for node, blocks in ((0, (0, 1)), (2, (2, 3))):
        write(root, "/sys/devices/system/node/node%d/meminfo" % node,
              "Node %d MemTotal:       262144 kB\nNode %d MemFree:        131072 kB\n" % (node, node))
        for b in blocks:
            # As in sysfs: node*/memoryN links to memory/memoryN (and git
            # keeps links and files, not empty directories).
            write(root, "/sys/devices/system/memory/memory%d/online" % b, "1\n")
            write(root, "/sys/devices/system/memory/memory%d/phys_index" % b, "%08x\n" % b)
            os.symlink("../../memory/memory%d" % b,
                       os.path.join(root, "sys/devices/system/node/node%d/memory%d" % (node, b)))
    # kpageflags: frames 0..0x20000 (512 MiB); KSM frames 1000-1099 (node 0)
    # and 70000-70019 (node 2); zero page at frame 500.
    flags = bytearray(8 * 0x20000)
    for pfn in list(range(1000, 1100)) + list(range(70000, 70020)):
        struct.pack_into("<Q", flags, 8 * pfn, KPF_KSM)
    struct.pack_into("<Q", flags, 8 * 500, KPF_ZERO_PAGE)
    write(root, "/proc/kpageflags", bytes(flags), "wb")

    Proc(root, 1, "init", ["/sbin/init"]).finish()
    Proc(root, 2, "kthreadd", []).finish()
    Proc(root, 40, "ksmd", [], ppid=2).finish()

    # web-1: libvirt-style command line (JSON -object, machine memory-backend).
    web = Proc(root, 1201, "qemu-system-x86", [
        "/usr/bin/qemu-system-x86_64", "-name", "guest=web-1,debug-threads=on", "-S",
        "-machine", "pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram",
        "-accel", "tcg", "-m", "size=256k",
        "-object", '{"qom-type":"memory-backend-ram","id":"pc.ram","size":262144}',
        "-uuid", "0A1B2C3D-0000-4000-8000-000000000001"],
        ksm_stat=ksm_stat(64, 4, 60, 245000), rss_kib=3000, uid=QEMU_UID).libvirt("web-1", 1)
    web.mapping(0x400000, 8, path="/usr/bin/qemu-system-x86_64", inode=4242, rss_kib=32)
    # 64 pages: 60 KSM (frames 1000-1059), 2 zero, 1 private, 1 swapped.
    web.mapping(0x1000000, 64, rss_kib=252, swap_kib=4, ksm_kib=240, flags="rd wr mr mw me ac sd mg dc dd",
                entries=[("present", 1000 + i) for i in range(60)] + [("present", 500)] * 2
                + [("present", 5000), ("swap", 0)])
    web.mapping(0x1040000, 1, flags="mr mw me ac")   # guard page
    web.finish()

    # A guest whose name has spaces, quotes and non-ASCII; two NUMA nodes,
    # m1 merge=off (which stock QEMU leaves mergeable).
    db = Proc(root, 1302, "qemu-system-x86", [
        "/usr/bin/qemu-system-x86_64", "-name", 'guest=db "primary",,ü', "-m", "1M",
        "-object", "memory-backend-ram,id=m0,size=512K,merge=on",
        "-object", "memory-backend-ram,id=m1,size=512K,merge=off",
        "-numa", "node,nodeid=0,memdev=m0", "-numa", "node,nodeid=1,memdev=m1",
        "-uuid", "0a1b2c3d-0000-4000-8000-000000000002"],
        ksm_stat=ksm_stat(256, 0, 60, 240000), rss_kib=5000, uid=QEMU_UID).libvirt("db-primary", 2, v2=True)
    db.mapping(0x2000000, 128, rss_kib=512, ksm_kib=160, flags="rd wr mr mw me ac sd mg dc",
               entries=[("present", 1040 + i) for i in range(40)] + [("present", 6000 + i) for i in range(88)])
    db.mapping(0x2080000, 1, flags="mr mw me ac")
    db.mapping(0x2100000, 128, rss_kib=512, ksm_kib=80, flags="rd wr mr mw me ac sd mg dc",
               entries=[("present", 70000 + i) for i in range(20)] + [("present", 71000 + i) for i in range(108)])
    db.finish()

    # win10: <memoryBacking><nosharepages/>: mem-merge=off, no mg.
    win = Proc(root, 1403, "qemu-system-x86", [
        "/usr/bin/qemu-system-x86_64", "-name", "guest=win10", "-machine", "pc,mem-merge=off",
        "-m", "512k", "-uuid", "0a1b2c3d-0000-4000-8000-000000000003"],
        ksm_stat=ksm_stat(0, 0, 0, 0, mergeable="no"), rss_kib=1000, uid=QEMU_UID).libvirt("win10", 3)
    win.mapping(0x3000000, 128, rss_kib=512, ksm_kib=0, flags="rd wr mr mw me ac sd dc",
                entries=[("present", 7000 + i) for i in range(128)])
    win.finish()

    # Carries the UUID of libvirt's test:///default domain "test": with that
    # driver the report names it "test" (source libvirt), else "lv-probe".
    lv = Proc(root, 1700, "qemu-system-x86", [
        "/usr/bin/qemu-system-x86_64", "-name", "guest=lv-probe", "-m", "128k",
        "-uuid", "6695eb01-f6a4-8304-79aa-97f2502e193f"],
        ksm_stat=ksm_stat(32, 0, 0, -2048), rss_kib=800, uid=QEMU_UID).libvirt("test", 4)
    lv.mapping(0x4000000, 32, rss_kib=128, ksm_kib=0, flags="rd wr mr mw me ac sd mg dc")
    lv.finish()

    # A non-QEMU process with KSM pages: its name has a space, parentheses
    # and a newline.
    other = Proc(root, 1500, "ja) (va\nx", ["/usr/bin/java", "-jar", "app.jar"],
                 ksm_stat=ksm_stat(50, 16, 40, 220000, merge_any="yes"))
    other.finish()
    # The libvirt hook's registry (what ksmvirtd keeps): names web-1 by UUID.
    write(root, "/var/lib/ksmvirt/registry.json", """{
  "schema" : "ksmvirt-registry/1",
  "guests" : [
    {
      "uuid" : "0a1b2c3d-0000-4000-8000-000000000001",
      "name" : "web-1",
      "state" : "running",
      "last_op" : "started",
      "last_subop" : "begin",
      "last_time_us" : 1795306418293055,
      "last_event_id" : "fixture-1"
    }
  ]
}
""")
    # What "ksmvirt inspect --record" keeps: the OS of three guests.
    write(root, "/var/lib/ksmvirt/os.json", """{
  "schema": "ksmvirt-os/1",
  "guests": {
    "0a1b2c3d-0000-4000-8000-000000000001": {"type":"linux","distro":"debian","product_name":"12.7","arch":"x86_64","reason":null,"major":12,"minor":7},
    "0a1b2c3d-0000-4000-8000-000000000002": {"type":"linux","distro":"debian","product_name":"12.7","arch":"x86_64","reason":null,"major":12,"minor":7},
    "0a1b2c3d-0000-4000-8000-000000000003": {"type":"windows","distro":"windows","product_name":"Windows 10 Pro","arch":"x86_64","reason":null,"major":10,"minor":0}
  }
}
""")
    # ksmvirtd's time series: an older part and the current one (with a
    # line that is not history, which is skipped).
    def tick(i, run, scan, sharing, avail):
        return ('{"schema":"ksmvirt-history/1","time":%.1f,"tick":%d,"mem_total_kib":24572440,'
                '"mem_available_kib":%d,"psi_some_avg10":%.1f,"ksm_run":%d,"pages_to_scan":%d,'
                '"pages_sharing":%d,"pages_shared":%d,"ksm_zero_pages":0,"guests":3,"dry_run":false}\n'
                % (1795300000 + 5 * i, i, avail, 0.5 * i, run, scan, sharing, sharing // 2))
    write(root, "/var/lib/ksmvirt/history.jsonl.1", "".join(
        tick(i, 0, 100, 0, 9000000) for i in range(3)))
    write(root, "/var/lib/ksmvirt/history.jsonl", "".join(
        tick(i, 1, min(4000, 300 * 2 ** (i - 3)), 6000 * (i - 3), 9000000 + 120000 * (i - 3))
        for i in range(3, 12)) + "not json\n")
    # A process without ksm_stat access is skipped silently.
    Proc(root, 1600, "bash", ["/bin/bash"]).finish()


def numa_spread():
    """Two host nodes (ids 0 and 3), four guests of two OS families, each
    family split over both nodes: the placement advice pairs them."""
    root = os.path.join(ROOTS, "numa-spread")
    ksm_sysfs(root, dict(FULL_KSM, merge_across_nodes=0))
    write(root, "/proc/vmstat", VMSTAT)
    write(root, "/proc/meminfo", MEMINFO)
    write(root, "/sys/devices/system/memory/block_size_bytes", "8000000\n")
    for node, block in ((0, 0), (3, 1)):
        write(root, "/sys/devices/system/node/node%d/meminfo" % node,
              "Node %d MemTotal:       131072 kB\nNode %d MemFree:         65536 kB\n" % (node, node))
        write(root, "/sys/devices/system/memory/memory%d/online" % block, "1\n")
        os.symlink("../../memory/memory%d" % block,
                   os.path.join(root, "sys/devices/system/node/node%d/memory%d" % (node, block)))
    write(root, "/proc/kpageflags", bytes(8 * 0x10000), "wb")
    Proc(root, 1, "init", ["/sbin/init"]).finish()
    osmap = {}
    guests = (("deb-a", "debian", 0), ("deb-b", "debian", 3), ("win-a", "windows", 0), ("win-b", "windows", 3))
    for i, (name, osname, node) in enumerate(guests):
        uuid = "0a1b2c3d-0000-4000-8000-0000000001%02d" % i
        g = Proc(root, 4000 + i, "qemu-system-x86", [
            "/usr/bin/qemu-system-x86_64", "-name", "guest=" + name, "-m", "256k", "-uuid", uuid],
            ksm_stat=ksm_stat(64, 0, 0, 0), rss_kib=1000, uid=QEMU_UID).libvirt(name, i + 1)
        base = 32768 * (1 if node == 3 else 0) + 1000 + 100 * i
        g.mapping(0x1000000, 64, rss_kib=256, ksm_kib=0, flags="rd wr mr mw me ac sd mg dc",
                  entries=[("present", base + k) for k in range(64)])
        g.finish()
        # The guest RAM's residency by host node, as the balancer reads it.
        write(root, "/proc/%d/numa_maps" % g.pid,
              "1000000 default anon=64 dirty=64 N%d=64 kernelpagesize_kB=4\n"
              "7f0000000000 default file=/usr/lib/x86_64-linux-gnu/libc.so.6 mapped=40 N0=40 "
              "kernelpagesize_kB=4\n" % node)
        if osname == "debian":
            osmap[uuid] = '{"type":"linux","distro":"debian","product_name":"12.7","arch":"x86_64","reason":null,"major":12,"minor":7}'
        else:
            osmap[uuid] = '{"type":"windows","distro":"windows","product_name":"Windows 10 Pro","arch":"x86_64","reason":null,"major":10,"minor":0}'
    write(root, "/var/lib/ksmvirt/os.json", '{"schema": "ksmvirt-os/1", "guests": {%s}}\n' % ", ".join(
        '"%s": %s' % kv for kv in sorted(osmap.items())))


def host_old():
    """A 5.15-era kernel: no ksm_zero_pages, general_profit, smart_scan or
    advisor; no /proc/PID/ksm_stat; no KSM: line in smaps; no memory
    blocks (PFN ranges from /proc/zoneinfo)."""
    root = os.path.join(ROOTS, "host-old")
    ksm_sysfs(root, {k: v for k, v in FULL_KSM.items()
                     if k not in ("ksm_zero_pages", "general_profit", "smart_scan")
                     and not k.startswith("advisor_")})
    write(root, "/proc/vmstat", "nr_free_pages 5000000\npswpin 0\npswpout 0\n")
    write(root, "/proc/meminfo", MEMINFO)
    write(root, "/proc/zoneinfo",
          "Node 0, zone      DMA\n  pages free     3968\n        spanned  4095\n        present  3998\n"
          "  start_pfn:           1\nNode 0, zone    DMA32\n  pages free     100\n        spanned  1044480\n"
          "  start_pfn:           4096\n")
    Proc(root, 1, "init", ["/sbin/init"]).finish()
    Proc(root, 45, "ksmd", [], ppid=2).finish()
    g = Proc(root, 2001, "qemu-system-x86", [
        "/usr/libexec/qemu-kvm", "-name", "legacy", "-m", "256k", "-uuid", "0a1b2c3d000040008000000000000099"],
        uid=QEMU_UID).libvirt("legacy", 1)
    g.mapping(0x5000000, 64, rss_kib=256, flags="rd wr mr mw me ac sd mg dc")
    g.finish()


def no_ksm():
    root = os.path.join(ROOTS, "no-ksm")
    write(root, "/proc/vmstat", "nr_free_pages 5000000\n")
    write(root, "/proc/meminfo", MEMINFO)
    Proc(root, 1, "init", ["/sbin/init"]).finish()
    # /sys exists, /sys/kernel/mm/ksm does not.
    write(root, "/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n")


def hostile():
    """Broken and hostile content: 2^64-1, non-numbers, truncated files."""
    root = os.path.join(ROOTS, "hostile")
    vals = dict(FULL_KSM)
    vals["pages_sharing"] = 18446744073709551615
    vals["pages_shared"] = "abc"
    vals["full_scans"] = "18446744073709551616"   # 2^64: overflow
    vals["general_profit"] = -9223372036854775808
    vals["advisor_mode"] = ""
    ksm_sysfs(root, vals)
    write(root, "/sys/kernel/mm/ksm/pages_volatile", "")   # empty (truncated)
    write(root, "/sys/kernel/mm/ksm/future_knob", "17\n")
    write(root, "/proc/vmstat", "pswpin\nksm_swpin_copy 18446744073709551615\ncow_ksm -1\n")
    write(root, "/proc/meminfo", "MemTotal: lots kB\nMemAvailable:")
    Proc(root, 1, "init", ["/sbin/init"]).finish()
    # A truncated stat file: skipped.
    write(root, "/proc/77/stat", "77 (trunc")
    write(root, "/proc/77/status", "")
    # A QEMU whose command line and smaps are junk.
    q = Proc(root, 3001, "qemu-system-x86", [
        "/usr/bin/qemu-system-x86_64", "-name", "", "-m", "lots", "-object", "{not json",
        "-object", "memory-backend-ram,id=x,size=-1", "-numa", "node,memdev=nosuch", "-uuid", "zz"],
        ksm_stat="ksm_rmap_items 18446744073709551615\nksm_zero_pages x\nksm_merging_pages\n"
                 "ksm_process_profit -9223372036854775808\nksm_merge_any: maybe\n",
        uid=QEMU_UID).libvirt("junk", 1, v2=True)
    q.smaps = "1000-2000 rw-p 00000000 00:00 0\nSize: 4 kB\nRss: 99999999999999999999 kB\nVmFlags: mg\n"
    q.finish()


def impostor():
    """One libvirt guest and processes that only call themselves QEMU: a
    local user's fake qemu-system-x86_64 with -m 1T, a -qmp socket and a
    100000-deep JSON -object, and processes that have two of libvirt's
    three marks (pid file, machine cgroup, QEMU user) but not the third.
    None of them is a guest: they are "other processes"."""
    root = os.path.join(ROOTS, "impostor")
    ksm_sysfs(root, dict(FULL_KSM, run=0, pages_shared=0, pages_sharing=0, ksm_zero_pages=0))
    write(root, "/proc/vmstat", VMSTAT)
    write(root, "/proc/meminfo", MEMINFO)
    Proc(root, 1, "init", ["/sbin/init"]).finish()
    Proc(root, 2, "kthreadd", []).finish()
    Proc(root, 40, "ksmd", [], ppid=2).finish()
    vm = Proc(root, 4100, "qemu-system-x86", [
        "/usr/bin/qemu-system-x86_64", "-name", "guest=vm-1,debug-threads=on", "-m", "256k",
        "-uuid", "0a1b2c3d-0000-4000-8000-000000000401"],
        ksm_stat=ksm_stat(64, 0, 0, 0), rss_kib=1000, uid=QEMU_UID).libvirt("vm-1", 1)
    vm.mapping(0x1000000, 64, rss_kib=256, ksm_kib=0, flags="rd wr mr mw me ac sd mg dc")
    vm.finish()
    user_cg = "0::/user.slice/user-1000.slice/session-1.scope\n"
    evil = ["/tmp/qemu-system-x86_64", "-name", "guest=evil", "-m", "1T",
            "-qmp", "unix:/tmp/evil-qmp.sock,server,nowait",
            "-object", '{"qom-type":"memory-backend-ram","id":"pc.ram","size":' + "[" * 100000,
            "-uuid", "0a1b2c3d-0000-4000-8000-000000000001"]
    # No mark at all: a local user's process.
    p = Proc(root, 5001, "qemu-system-x86", evil, ksm_stat=ksm_stat(40, 0, 30, 100000), uid=USER_UID)
    p.mapping(0x2000000, 64, rss_kib=256, ksm_kib=120, flags="rd wr mr mw me ac sd mg")
    write(root, "/proc/5001/cgroup", user_cg)
    p.finish()
    # Machine cgroup and QEMU user, no pid file.
    Proc(root, 5002, "qemu-system-x86", evil, uid=QEMU_UID).libvirt("none", 9, pidfile=False).finish()
    # A pid file (stale, its pid reused) and the machine cgroup, not the QEMU user.
    Proc(root, 5003, "qemu-system-x86", evil, uid=USER_UID).libvirt("gone-1", 10).finish()
    # The defaults, whatever is installed on the host running the tests.
    write(root, "/etc/ksmvirt/ksmvirtd.conf", "# defaults\n")
    # A pid file and the QEMU user, outside the machine cgroups.
    Proc(root, 5004, "qemu-system-x86", evil, uid=QEMU_UID).libvirt("gone-2", 11, cgroup=user_cg).finish()


if __name__ == "__main__":
    shutil.rmtree(ROOTS, ignore_errors=True)
    host_full()
    numa_spread()
    host_old()
    no_ksm()
    hostile()
    impostor()
