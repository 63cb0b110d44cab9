#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Live merge on/off: `ksmvirt policy` on real guests, no restart.

Real libvirtd (tests/rig/libvirtd-ctl), two real TCG guests of the rig
holding the same content (one with two guest NUMA cells), real KSM.
Checked, each against the kernel's own view (/proc/PID/ksm_stat and the
VmFlags of the guest RAM mappings in /proc/PID/smaps), not ksmvirt's:
  - both guests merge; `ksmvirt policy A merge=off` leaves no merged page
    in A's RAM (smaps KSM:; ksm_stat's ksm_merging_pages drops to the
    pages of QEMU's firmware and ROM blocks, which QEMU cannot switch at
    run time) and its RAM mappings lose the "mg" flag, without a restart
    (same QEMU pid); the policy is in the live and the persistent
    domain XML; libvirt marks the domain tainted (custom-monitor);
  - `merge=on` gives "mg" back and A merges again;
  - `cell=1:off`: only one of the two RAM mappings loses "mg", and QEMU
    says that backend is cell 1's (ram-node1's merge property);
  - the balancer (ksmvirt balance --oneshot, the daemon's tick): A in
    group "small" (set with virsh metadata), B in "big", the merging group:
    it turns A's merging off, says why, and leaves B's alone;
  - headroom: with [ksm] unmerge-reserve-mib set to leave 1 GiB of
    today's MemAvailable, merge=off fits; a real 2 GiB memory hog makes
    it not fit: ksmvirt refuses (exit 1, a message), changes nothing (the
    metadata and "mg" stay); the hog gone, it goes through.
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
from ksmvirt_test.ksm import KsmSettings, ksm_set, ksm_stat, require_root_ksm  # noqa: E402
from ksmvirt_test.procfs import meminfo  # noqa: E402
from ksmvirt_test.tap import Tap, fail, skip  # noqa: E402

RIG = os.path.join(TOP, "tests", "rig")
URI = "qemu:///system"
GUEST_MIB = 256
CELL_MIB = GUEST_MIB // 2
FILL_MIB = 96
PREFIX = "kv-pol-%d" % os.getpid()
A, B = PREFIX + "-a", PREFIX + "-b"
KSMVIRT = os.path.join(BUILD, "ksmvirt")

require_root_ksm()
for tool in ("libvirtd", "virsh", "virtlogd"):
    if not shutil.which(tool):
        skip("%s not installed: scripts/install-deps hooks" % tool)
if not os.access(KSMVIRT, os.X_OK):
    fail("missing %s: run make" % KSMVIRT)

t = Tap()
work = tempfile.mkdtemp(prefix="ksmvirt-policy-live.", dir="/var/tmp")
os.chmod(work, 0o755)
ctl_dir = os.path.join(work, "ctl")
console = os.path.join(work, "console")
conf = os.path.join(work, "ksmvirtd.conf")
started_libvirtd = False
hog = None


def log(msg):
    print("# [%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(*cmd, timeout=120, env=None):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env)


def cleanup():
    if hog and hog.poll() is None:
        hog.kill()
        hog.wait()
    for n in (A, B):
        run("virsh", "-c", URI, "-q", "destroy", n, timeout=60)
        run("virsh", "-c", URI, "-q", "undefine", n, timeout=60)
    if started_libvirtd:
        run(os.path.join(RIG, "libvirtd-ctl"), "stop", env=dict(os.environ, KSMVIRT_RUN_DIR=ctl_dir))
    shutil.rmtree(work, ignore_errors=True)


def qemu_pid(name):
    try:
        with open("/run/libvirt/qemu/%s.pid" % name) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def smaps(pid):
    """{start address: [size bytes, path, vmflags, KSM kB]} of PID's mappings."""
    out, cur = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(\S*)$", line)
            if m:
                cur = int(m.group(1), 16)
                out[cur] = [int(m.group(2), 16) - cur, m.group(3), [], 0]
            elif line.startswith("KSM:") and cur is not None:
                out[cur][3] = int(line.split()[1])
            elif line.startswith("VmFlags:") and cur is not None:
                out[cur][2] = line.split()[1:]
    return out


def ram_starts(pid, size_mib=CELL_MIB):
    """Start addresses of a guest's RAM mappings: the anonymous ones of
    SIZE_MIB (A's two cells by default)."""
    return [a for a, (size, path, _, _) in sorted(smaps(pid).items()) if size == size_mib << 20 and not path]


def mergeable(pid):
    """How many of A's RAM mappings are mergeable (VmFlags mg)."""
    maps = smaps(pid)
    return sum("mg" in maps[a][2] for a in ram_starts(pid))


def ksm_outside_ram_pages(pid):
    """Merged pages of PID outside its guest RAM (firmware, ROMs)."""
    ram = set(ram_starts(pid))
    return sum(k for a, (_, _, _, k) in smaps(pid).items() if a not in ram) // 4


def ksm_in_ram_kib(pid):
    maps = smaps(pid)
    return sum(maps[a][3] for a in ram_starts(pid))


def qom_merge(name, backend):
    """QEMU's own merge property of BACKEND."""
    r = run("virsh", "-c", URI, "qemu-monitor-command", name,
            '{"execute":"qom-get","arguments":{"path":"/objects/%s","property":"merge"}}' % backend)
    return json.loads(r.stdout).get("return") if r.returncode == 0 else None


def merging_pages(name):
    return ksm_stat(qemu_pid(name), missing_ok=True).get("ksm_merging_pages", 0)


def wait(cond, what, timeout_s):
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        if cond():
            return True
        time.sleep(1)
    log("timed out after %d s waiting for %s" % (timeout_s, what))
    return False


def policy(*args, config=None):
    cmd = [KSMVIRT, "policy", "--config", config or conf] + list(args)
    r = run(*cmd)
    log("%s -> %d\n%s%s" % (" ".join(cmd[1:]), r.returncode, r.stdout, r.stderr))
    return r


def live_xml(name, inactive=False):
    args = ["virsh", "-c", URI, "dumpxml", name] + (["--inactive"] if inactive else [])
    return run(*args).stdout


def write_conf(reserve_mib, merging_group=""):
    """KSM, balloons and swap are left alone: only isolation acts."""
    with open(conf, "w") as f:
        f.write("[daemon]\nguests = %s-*\n[ksm]\nmanage = false\nunmerge-reserve-mib = %d\n"
                "[balloon]\nmanage = false\n[swap]\nmanage = false\n"
                "[isolation]\nby = none\nmerging-group = %s\n" % (PREFIX, reserve_mib, merging_group))


signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
try:
    with KsmSettings():
        r = run(os.path.join(RIG, "libvirtd-ctl"), "start", timeout=180,
                env=dict(os.environ, KSMVIRT_RUN_DIR=ctl_dir))
        if r.returncode != 0:
            fail("libvirtd does not start: %s%s" % (r.stdout, r.stderr))
        started_libvirtd = "started:" in r.stdout and "libvirtd" in r.stdout.split("started:")[-1]
        r = run(os.path.join(RIG, "build-rig"), "-q", timeout=900)
        if r.returncode != 0:
            fail("build-rig: %s" % r.stderr)
        rig = r.stdout.strip()
        os.makedirs(console)
        os.chmod(console, 0o777)
        for n, extra in ((A, ["--numa-cells", "2"]), (B, [])):
            r = run(os.path.join(RIG, "mkdomain"), "--name", n, "--rig", rig, "--memory-mib", str(GUEST_MIB),
                    "--fill", "same", "--fill-mib", str(FILL_MIB), "--seed", "11",
                    "--console", os.path.join(console, n + ".log"), *extra)
            if r.returncode != 0:
                fail("mkdomain %s: %s" % (n, r.stderr))
            xml = os.path.join(work, n + ".xml")
            with open(xml, "w") as f:
                f.write(r.stdout)
            for cmd in (["define", xml], ["start", n]):
                r = run("virsh", "-c", URI, "-q", *cmd)
                if r.returncode != 0:
                    fail("virsh %s: %s" % (" ".join(cmd), r.stderr))

        def booted(n):
            try:
                return "memfill: filled %d MiB" % FILL_MIB in open(os.path.join(console, n + ".log")).read()
            except OSError:
                return False

        if not wait(lambda: booted(A) and booted(B), "the guests to boot and fill", 300):
            fail("guests did not boot")
        pid_a = qemu_pid(A)
        t.ok(len(ram_starts(pid_a)) == 2, "A has two RAM mappings of %d MiB (its cells)" % CELL_MIB)
        ON, OFF = 2, 0
        ksm_set("pages_to_scan", 4000)
        ksm_set("sleep_millisecs", 10)
        ksm_set("run", 1)
        fill_pages = FILL_MIB * 256
        t.ok(wait(lambda: merging_pages(A) > fill_pages // 2 and merging_pages(B) > fill_pages // 2,
                  "both guests to merge", 300),
             "both guests merge (A %d, B %d pages)" % (merging_pages(A), merging_pages(B)))
        t.ok(mergeable(pid_a) == ON, "A's RAM is mergeable (mg) before")

        write_conf(1024)
        r = policy(A, "merge=off")
        t.ok(r.returncode == 0, "ksmvirt policy A merge=off succeeds")
        # QEMU has no run-time switch for its other RAM blocks (firmware,
        # option ROMs): what merges of A is theirs alone.
        t.ok(wait(lambda: merging_pages(A) == ksm_outside_ram_pages(pid_a), "A's RAM to unmerge", 60),
             "A's merged pages drop to those outside its RAM (ksm_stat %d, firmware and ROMs %d)"
             % (merging_pages(A), ksm_outside_ram_pages(pid_a)))
        t.ok(ksm_in_ram_kib(pid_a) == 0 and merging_pages(A) < 256,
             "no merged page left in A's RAM (smaps KSM: %d kB)" % ksm_in_ram_kib(pid_a))
        t.ok(mergeable(pid_a) == OFF, "A's RAM mappings lost mg: %s" % mergeable(pid_a))
        t.ok(qemu_pid(A) == pid_a, "no restart: the same QEMU process")
        t.ok('merge="off"' in live_xml(A) and 'merge="off"' in live_xml(A, inactive=True),
             "the policy is in the live and the persistent XML")
        t.ok("custom-monitor" in run("virsh", "-c", URI, "dominfo", A).stdout + live_xml(A) or
             os.path.exists("/var/log/libvirt/qemu/%s.log" % A) and
             "custom-monitor" in open("/var/log/libvirt/qemu/%s.log" % A).read(),
             "libvirt marks the domain tainted (custom-monitor)")
        time.sleep(5)
        t.ok(ksm_in_ram_kib(pid_a) == 0, "A's RAM stays unmerged while ksmd runs")

        r = policy(A, "merge=on")
        t.ok(r.returncode == 0, "ksmvirt policy A merge=on succeeds")
        t.ok(mergeable(pid_a) == ON, "A's RAM is mergeable again: %s" % mergeable(pid_a))
        t.ok(wait(lambda: merging_pages(A) > fill_pages // 2, "A to merge again", 300),
             "A merges again (%d pages)" % merging_pages(A))

        r = policy(A, "merge=default", "cell=1:off")
        t.ok(r.returncode == 0 and "ram-node1 merge off" in r.stdout, "ksmvirt policy A cell=1:off")
        t.ok(mergeable(pid_a) == 1, "one of A's two RAM mappings lost mg (%d left)" % mergeable(pid_a))
        t.ok(qom_merge(A, "ram-node1") is False and qom_merge(A, "ram-node0") is True,
             "and QEMU says it is cell 1's: ram-node1 merge=%s, ram-node0 merge=%s"
             % (qom_merge(A, "ram-node1"), qom_merge(A, "ram-node0")))
        r = policy(A, "cell=1:default")
        t.ok(r.returncode == 0 and mergeable(pid_a) == ON, "cell=1:default gives it back")
        t.ok(wait(lambda: merging_pages(A) > fill_pages // 2, "A to merge again", 300), "A merged again")

        # Headroom: the reserve leaves 1 GiB of today's MemAvailable.
        avail_mib = meminfo()["MemAvailable"] // 1024
        write_conf(avail_mib - 1024)
        r = policy(A, "merge=off", "--dry-run")
        t.ok(r.returncode == 0, "with 1 GiB of room, merge=off fits (dry run)")
        hog = subprocess.Popen([sys.executable, "-c",
                                "import sys,time\nb=bytearray(2048<<20)\n"
                                "for i in range(0,len(b),4096): b[i]=1\n"
                                "print('ready',flush=True)\ntime.sleep(600)"],
                               stdout=subprocess.PIPE, text=True)
        t.ok(hog.stdout.readline().startswith("ready"), "a 2 GiB memory hog runs")
        r = policy(A, "merge=off")
        t.ok(r.returncode == 1 and "refused, nothing changed" in r.stderr,
             "with the hog, merge=off is refused with a message")
        t.ok('merge="off"' not in live_xml(A) and mergeable(pid_a) == ON,
             "nothing changed: no merge=off in the XML, RAM still mergeable")
        hog.kill()
        hog.wait()
        hog = None
        time.sleep(2)
        r = policy(A, "merge=off")
        t.ok(r.returncode == 0 and mergeable(pid_a) == OFF,
             "the hog gone, merge=off goes through")
        r = policy(A, "merge=maybe")
        t.ok(r.returncode == 2, "a bad argument is a usage error")

        # The balancer's strict fallback, one real tick: A and B in two
        # groups of equal RAM; the configuration names the merging one.
        write_conf(1024, "big")
        r1, r2 = policy(A, "merge=default"), policy(B, "group=big")
        t.ok(r1.returncode == 0 and r2.returncode == 0 and mergeable(pid_a) == ON,
             "A back to the default policy: mergeable")
        # Group "small" for A, written as an administrator would with virsh
        # (so that only the balancer acts on it).
        r = run("virsh", "-c", URI, "metadata", A, "--uri", "http://ksmvirt.org/xmlns/policy/1.0",
                "--key", "ksmvirt", "--set", '<policy group="small"/>', "--live")
        t.ok(r.returncode == 0 and mergeable(pid_a) == ON, "virsh metadata puts A in group small; nothing acts yet")
        r = run(KSMVIRT, "balance", "--oneshot", "--config", conf, "--connect", URI, timeout=300)
        log("balance --oneshot -> %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
        t.ok(r.returncode == 0 and "isolation" in r.stdout and "strict" in r.stdout,
             "one balancer tick: isolation strict")
        t.ok(re.search(r"guest %s RAM merge off \(isolation: group small is not the merging group big" % A,
                       r.stdout) is not None, "it turns A's merging off and says why")
        t.ok(mergeable(pid_a) == OFF, "A's RAM mappings lost mg")
        t.ok(wait(lambda: ksm_in_ram_kib(pid_a) == 0, "A's RAM to unmerge", 60), "no merged page left in A's RAM")
        maps_b, ram_b = smaps(qemu_pid(B)), ram_starts(qemu_pid(B), GUEST_MIB)
        t.ok(len(ram_b) == 1 and "mg" in maps_b[ram_b[0]][2], "B's RAM (group big) stays mergeable")
finally:
    cleanup()
t.done()
