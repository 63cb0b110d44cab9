#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/overcommit: ksmvirtd side by side with the KSM tuners people run.

The same real TCG guests (the guest rig under the system libvirtd) are
started identically for each contender, on a host made to overcommit by a
memory hog, and the host is sampled every second:

  none      KSM off (run=0): the baseline
  kernel    KSM on with the kernel's defaults (pages_to_scan 100,
            sleep_millisecs 20)
  ksmtuned  Debian's ksmtuned package, its shipped /etc/ksmtuned.conf, the
            script run in the foreground of the benchmark and killed after
  advisor   the kernel's scan-time advisor (advisor_mode=scan-time, its
            default knobs), KSM on
  ksmvirtd  this project's daemon (build/ksmvirtd) with its shipped
            defaults for [ksm]; see "ksmvirtd's configuration" below

Usage:
  bench/overcommit run --out DIR [OPTION]...
      Installs what it needs (scripts/install-deps build hooks bench),
      builds the project and the guest rig, then runs every contender REPS
      times, interleaved (rep 1 of each, then rep 2 ...), writing one JSON
      lines file per run under DIR/runs/.  Resumable: finished runs are kept,
      an unfinished one is run again; the first run's settings are kept in
      DIR/config.json and reused (options that differ are an error).
  bench/overcommit report DIR [--update BENCHMARKS.md] [--figures DIR2]
      Metrics, a Markdown table and SVG plots from DIR (see
      bench/overcommit_report.py); with --update, the section between the
      "overcommit:begin/end" markers of BENCHMARKS.md is replaced and the
      SVGs are written to --figures (default doc/bench).
  bench/overcommit pressure --out DIR [OPTION]...
      The pressure scenario, one JSON lines file per run under
      DIR/pressure/: guests fill and KSM merges (at least two full scans
      and --merge-min-s 240, then until the guests' merged pages stop
      growing for 30 s, at most --merge-timeout-s 600); every guest's libvirt memory
      cgroup (v1) is limited to --budget-mib (160) for --swapout-s (45) with
      a --swap-mib (2048) swap file on; the limits are lifted and every
      guest's RAM is read back through /proc/PID/mem (swap-in); the guests'
      merged pages are then watched until they are back at 90% of their
      level before the swap-out (at most --recover-s 300).  Contenders: kernel (plain KSM at the
      kernel's defaults), ksmtuned, advisor, ksmvirtd (default kernel,ksmtuned,ksmvirtd), --reps
      (3), --guests (4) and the guest and hog options of "run".
  bench/overcommit cleanup [--prefix P]
      Destroys leftover guests of this benchmark (prefix kvb-oc; the
      pressure scenario's are kvb-pr).

Run options:
  --contenders LIST      comma-separated (default none,kernel,ksmtuned,advisor,ksmvirtd)
  --reps N               runs per contender (default 3)
  --guests N             guests (default 6): N-1 hold identical content plus
                         some unique memory each, the last fills zeros
  --guest-mib N          RAM of each guest (default 512)
  --fill-mib N           identical content per guest (default 320)
  --unique-mib N         unique content per guest (default 64); the zero guest
                         fills FILL+UNIQUE MiB of zeros
  --window-s S           seconds sampled after every guest has filled (default 240)
  --target-available-mib N  size the hog so that MemAvailable is about N MiB
                         once the guests have filled (default 2800)
  --min-available-mib N  never leave less than N MiB available to others when
                         sizing (default 2560); a run aborts (hog killed) if
                         MemAvailable falls under half of it
  --hog-mib N            a fixed hog size instead of sizing it at each run
  --prefix P             domain name prefix (default kvb-oc)
  --no-setup             skip install-deps and the builds

The hog: one process, anonymous memory mlock()ed and written once (so it
never swaps), started before the contender and the guests.  It is sized at
the start of each run, after KSM was reset, from MemAvailable then:
MemAvailable - guests (RAM + 72 MiB each) - the target, so that every
contender meets the same MemAvailable once the guests have filled, whatever
the other users of a shared machine hold at the time (each run records the
size).  It exists because ksmtuned only turns KSM on when the qemu
processes' committed RSS + thres > MemTotal or MemFree+Buffers+Cached <
thres (thres = 20% of MemTotal; the committed RSS counts only processes
whose command line matches "qemu-system.*-enable-kvm", so TCG guests count
nothing): on a large host with a few small guests neither holds.

KSM: every run holds /run/lock/ksmvirt-ksm.lock from before the reset to
after the restore (between runs it is released so other users take turns);
it saves every KSM knob, unmerges (run=2), sets the kernel's defaults with
run=0, starts the contender and the guests, and at the end destroys the
guests, unmerges and restores the saved knobs.

ksmvirtd's configuration: the shipped defaults (every key of
doc/ksmvirtd.conf.example commented out) except three keys: lock-file is
empty because the benchmark holds the KSM lock for the daemon (as the
real-host daemon tests do), and [balloon] and [swap] manage = false: the
other contenders only drive KSM, and on a shared host the daemon must not
balloon or limit guests the benchmark did not start.

Samples (one JSON object per line, "type":"sample", every second): t (s
since the guests were started), pages_sharing, pages_shared,
ksm_zero_pages, general_profit, full_scans, run, pages_to_scan,
sleep_ms, advisor_mode, ksmd_cpu_s (ksmd utime+stime since the start,
/proc/PID/stat), mem_available_kib, mem_free_kib, buffers_kib, cached_kib,
swap_used_kib, psi_some_avg10, psi_full_avg10, psi_some_us, psi_full_us
(/proc/pressure/memory), pswpin, pswpout, ksm_swpin_copy (/proc/vmstat),
guests_merging_pages (sum of the guests' /proc/PID/ksm_stat) and
guests_rss_kib.  Other lines: "meta" first, "event" (guest filled, contender
actions), "end" last.

Exit status: 0 success, 1 failure, 2 usage.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import overcommit_report  # noqa: E402
from ksmvirt_test import TOP  # noqa: E402
from ksmvirt_test.ksm import (KSM, LOCK, KsmLock, ksm_knob, ksm_restore, ksm_save, ksm_set,  # noqa: E402
                              ksm_stat)
from ksmvirt_test.procfs import (ksmd_pid, meminfo, proc_cpu_s, psi_memory, read,  # noqa: E402
                                 rss_kib, vmstat)

CONTENDERS = ("none", "kernel", "ksmtuned", "advisor", "ksmvirtd")
# The kernel's defaults (mm/ksm.c) for every knob a contender may change.
KERNEL_DEFAULTS = [
    ("run", "0"), ("advisor_mode", "none"), ("pages_to_scan", "100"), ("sleep_millisecs", "20"),
    ("use_zero_pages", "0"), ("smart_scan", "1"), ("max_page_sharing", "256"),
    ("advisor_max_cpu", "70"), ("advisor_min_pages_to_scan", "500"),
    ("advisor_max_pages_to_scan", "30000"), ("advisor_target_scan_time", "200"),
]
SAVED_KNOBS = [k for k, _ in KERNEL_DEFAULTS] + ["merge_across_nodes"]
RUN_OPTS = ("contenders", "reps", "guests", "guest_mib", "fill_mib", "unique_mib", "window_s",
            "target_available_mib", "min_available_mib", "prefix")


def log(msg):
    print("[%s] overcommit: %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Abort(Exception):
    pass


def on_signal(signum, _frame):
    raise Abort("signal %d" % signum)


# ---------------------------------------------------------------- sensing

def sample(t, ksmd, cpu0, guest_pids):
    mi, vm, ps = meminfo(), vmstat(), psi_memory()
    s = {"type": "sample", "t": round(t, 2)}
    for k in ("pages_sharing", "pages_shared", "ksm_zero_pages", "general_profit", "full_scans",
              "run", "pages_to_scan", "sleep_millisecs"):
        v = ksm_knob(k)
        s[k] = int(v) if v is not None and v.lstrip("-").isdigit() else None
    s["sleep_ms"] = s.pop("sleep_millisecs")
    s["advisor_mode"] = ksm_knob("advisor_mode")
    s["ksmd_cpu_s"] = round(proc_cpu_s(ksmd) - cpu0, 2) if ksmd else None
    s["mem_available_kib"] = mi.get("MemAvailable")
    s["mem_free_kib"] = mi.get("MemFree")
    s["buffers_kib"] = mi.get("Buffers")
    s["cached_kib"] = mi.get("Cached")
    s["swap_used_kib"] = mi.get("SwapTotal", 0) - mi.get("SwapFree", 0)
    for kind in ("some", "full"):
        p = ps.get(kind)
        s["psi_%s_avg10" % kind] = p.avg10 if p else None
        s["psi_%s_us" % kind] = p.total_us if p else None
    for k in ("pswpin", "pswpout", "ksm_swpin_copy"):
        s[k] = vm.get(k)
    merging = rss = 0
    for pid in guest_pids:
        merging += ksm_stat(pid, missing_ok=True).get("ksm_merging_pages", 0)
        rss += rss_kib(pid)
    s["guests_merging_pages"] = merging
    s["guests_rss_kib"] = rss
    return s


# ---------------------------------------------------------------- KSM state

def ksm_unmerge(timeout_s=300):
    ksm_set("run", "2")
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        if all(int(ksm_knob(k) or 0) == 0 for k in ("pages_shared", "pages_sharing", "ksm_zero_pages")):
            return True
        time.sleep(0.5)
    return False


def ksm_baseline():
    """Kernel defaults, KSM stopped and empty."""
    if not ksm_unmerge():
        raise Abort("KSM did not unmerge in 300 s")
    ksm_set("run", "0")
    for k, v in KERNEL_DEFAULTS:
        if k != "run":
            try:
                ksm_set(k, v)
            except OSError as e:
                raise Abort("cannot set KSM %s=%s: %s" % (k, v, e))


def ksm_put_back(saved):
    """Unmerges, stops KSM and restores the knobs saved before the run."""
    ksm_unmerge()
    ksm_set("run", "0")
    ksm_restore(saved, lambda k, v, e: log("WARNING: cannot restore KSM %s=%s: %s" % (k, v, e)))


# ---------------------------------------------------------------- the hog

HOG_CODE = r"""
import ctypes, mmap, sys, time
mib = int(sys.argv[1])
n = mib << 20
m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
libc = ctypes.CDLL(None, use_errno=True)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
# mlock() faults every page in (much faster than touching them first);
# then write them once anyway.
if libc.mlock(ctypes.c_void_p(addr), ctypes.c_size_t(n)) != 0:
    print("mlock failed: errno %d" % ctypes.get_errno(), flush=True)
    sys.exit(1)
step = 256 << 20
for off in range(0, n, step):
    ctypes.memset(addr + off, 0x5a, min(step, n - off))
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


def start_hog(mib):
    p = subprocess.Popen([sys.executable, "-c", HOG_CODE, str(mib)], stdout=subprocess.PIPE,
                         text=True, start_new_session=True)
    line = p.stdout.readline().strip()
    if line != "ready":
        p.kill()
        p.wait()
        raise Abort("the hog did not start: %r" % line)
    return p


# ---------------------------------------------------------------- guests

@dataclass(frozen=True)
class GuestSpec:
    """One guest of a run: its domain name, what its memfill writes
    ("same" content or "zero"), and how much."""
    name: str
    fill: str
    fill_mib: int
    unique_mib: int

    def meta(self):
        return {"name": self.name, "fill": self.fill, "fill_mib": self.fill_mib,
                "unique_mib": self.unique_mib}

    def filled(self, rundir):
        """Whether its console shows a "memfill: filled" line per region."""
        want = (1 if self.fill_mib else 0) + (1 if self.unique_mib else 0)
        console = read(os.path.join(rundir, self.name + ".console"), "") or ""
        return console.count("memfill: filled") >= want


def guest_specs(cfg):
    """The guests of every run, always the same: N-1 with identical content
    plus some unique memory each, the last filling zeros."""
    specs = []
    for i in range(1, cfg["guests"] + 1):
        name = "%s-%d" % (cfg["prefix"], i)
        if i == cfg["guests"]:
            specs.append(GuestSpec(name, "zero", cfg["fill_mib"] + cfg["unique_mib"], 0))
        else:
            specs.append(GuestSpec(name, "same", cfg["fill_mib"], cfg["unique_mib"]))
    return specs


def destroy_guests(prefix):
    r = subprocess.run(["virsh", "-q", "list", "--name"], capture_output=True, text=True)
    for n in r.stdout.split():
        if n.startswith(prefix + "-"):
            subprocess.run(["virsh", "-q", "destroy", n], capture_output=True)
    r = subprocess.run(["virsh", "-q", "list", "--all", "--name"], capture_output=True, text=True)
    for n in r.stdout.split():
        if n.startswith(prefix + "-"):
            subprocess.run(["virsh", "-q", "undefine", n], capture_output=True)


def qemu_pid(name):
    v = read("/run/libvirt/qemu/%s.pid" % name)
    return int(v) if v and v.strip().isdigit() else None


# ---------------------------------------------------------------- contenders

@dataclass
class Contender:
    """The KSM tuner under test in one run, and what it started."""
    name: str
    rep: int
    rundir: str
    proc: Optional[subprocess.Popen] = None   # ksmvirtd
    pgid: Optional[int] = None                # ksmtuned's process group

    def start(self):
        if self.name == "none":
            return
        if self.name == "kernel":
            ksm_set("run", "1")
        elif self.name == "advisor":
            ksm_set("advisor_mode", "scan-time")
            ksm_set("run", "1")
        elif self.name == "ksmtuned":
            # The packaged script forks its loop and exits: its own session
            # makes the loop (and its sleep) one process group to kill.
            env = dict(os.environ, PIDFILE=os.path.join(self.rundir, "ksmtuned.pid"),
                       DEBUG="1", LOGFILE=os.path.join(self.rundir, "ksmtuned.log"))
            p = subprocess.Popen(["/usr/sbin/ksmtuned"], env=env, start_new_session=True,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            p.wait()
            self.pgid = p.pid
        elif self.name == "ksmvirtd":
            conf = os.path.join(self.rundir, "ksmvirtd.conf")
            with open(os.path.join(TOP, "doc", "ksmvirtd.conf.example")) as f:
                shipped = f.read()
            with open(conf, "w") as f:
                f.write(shipped)
                f.write("\n# bench/overcommit: the benchmark holds the KSM lock for the daemon, and\n"
                        "# the daemon only drives KSM, like the other contenders.\n"
                        "[ksm]\nlock-file =\n[balloon]\nmanage = false\n[swap]\nmanage = false\n")
            self.proc = subprocess.Popen(
                [os.path.join(TOP, "build", "ksmvirtd"), "--config", conf,
                 "--socket", os.path.join(self.rundir, "ksmvirtd.sock"),
                 "--state-dir", os.path.join(self.rundir, "ksmvirtd-state"), "--verbose"],
                stdout=open(os.path.join(self.rundir, "ksmvirtd.log"), "w"),
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        else:
            raise Abort("unknown contender %s" % self.name)

    def alive(self):
        if self.name == "ksmvirtd":
            return self.proc.poll() is None
        return True

    def stop(self):
        if self.name == "ksmtuned" and self.pgid:
            try:
                os.killpg(self.pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.pgid = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- one run

@dataclass
class Run:
    """One run of one contender: its settings, output, and everything its
    body starts, which cleanup() stops whatever happened."""
    cfg: dict
    rig: str
    name: str                       # e.g. "ksmvirtd-2", "pressure-kernel-1"
    rundir: str
    specs: list                     # [GuestSpec]
    cont: Contender
    emit: Callable[[dict], None]    # writes one JSON line
    lock: Optional[KsmLock] = None
    pids: dict = field(default_factory=dict)      # guest name -> QEMU pid
    hog: Optional[subprocess.Popen] = None
    creator: Optional[threading.Thread] = None    # creates the guests (run)
    sampler: Optional["Sampler"] = None           # samples (pressure)
    swapfile: Optional[str] = None                # switched on (pressure)
    cgroups: list = field(default_factory=list)   # limited (pressure)

    def guest_pids(self):
        """The QEMU pids of the guests started so far."""
        for g in self.specs:
            if not self.pids.get(g.name):
                self.pids[g.name] = qemu_pid(g.name)
        return [p for p in self.pids.values() if p]

    def emit_meta(self, hog_mib, avail0_mib, mi, **extra):
        meta = {"type": "meta", "contender": self.cont.name, "rep": self.cont.rep,
                "config": self.cfg, "hog_mib": hog_mib, "mem_available_before_mib": avail0_mib,
                "mem_total_kib": mi["MemTotal"], "lock_wait_s": round(self.lock.waited_s, 1),
                "kernel": os.uname().release, "page_size": os.sysconf("SC_PAGE_SIZE"),
                "loadavg": (read("/proc/loadavg", "") or "").split()[:3],
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "guests": [g.meta() for g in self.specs]}
        meta.update(extra)
        self.emit(meta)

    def cleanup(self):
        if self.sampler and self.sampler.is_alive():
            self.sampler.stop()
        self.cont.stop()
        if self.creator:
            self.creator.join()
        for cg in self.cgroups:
            try:
                cg_limit(cg, -1)
            except OSError:
                pass
        destroy_guests(self.cfg["prefix"])
        if self.hog:
            self.hog.kill()
            self.hog.wait()
            self.hog = None
        if self.swapfile:
            swapfile_off(self.swapfile)


def framed_run(cfg, rig, contender, rep, name, rundir, path, body, swapfile=None):
    """Runs body(Run) under the KSM lock with KSM saved, reset and
    restored, its JSON lines going to PATH.part, renamed to PATH when it
    went well, else to PATH.aborted.  A signal stops it and is raised
    again after the cleanup.  Returns whether the run went well."""
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(rundir)
    os.chmod(rundir, 0o755)
    part = path + ".part"
    out = open(part, "w")
    wlock = threading.Lock()

    def emit(obj):
        with wlock:
            out.write(json.dumps(obj, sort_keys=True) + "\n")
            out.flush()

    run = Run(cfg, rig, name, rundir, guest_specs(cfg), Contender(contender, rep, rundir), emit,
              swapfile=swapfile)
    status, why, interrupted = "ok", "", None
    destroy_guests(cfg["prefix"])
    with KsmLock(on_wait=lambda s: log("waiting for %s (%d s)" % (LOCK, s))) as lock:
        run.lock = lock
        saved = ksm_save(SAVED_KNOBS)
        try:
            body(run)
        except (Abort, subprocess.CalledProcessError, OSError) as e:
            status, why = "aborted", str(e)
            log("%s: ABORTED: %s" % (name, why))
            if isinstance(e, Abort) and str(e).startswith("signal"):
                interrupted = e
        finally:
            run.cleanup()
            ksm_put_back(saved)
    emit({"type": "end", "status": status, "why": why,
          "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    out.close()
    os.rename(part, path if status == "ok" else path + ".aborted")
    if interrupted:
        raise interrupted
    return status == "ok"


def start_guests(run, errors):
    """virsh create every guest, in order (runs in a thread while sampling)."""
    try:
        for g in run.specs:
            console = os.path.join(run.rundir, g.name + ".console")
            xml = subprocess.run(
                [os.path.join(TOP, "tests/rig/mkdomain"), "--name", g.name, "--rig", run.rig,
                 "--memory-mib", str(run.cfg["guest_mib"]), "--fill", g.fill,
                 "--fill-mib", str(g.fill_mib), "--unique-mib", str(g.unique_mib), "--seed", "7171",
                 "--console", console],
                capture_output=True, text=True, check=True).stdout
            xml_path = os.path.join(run.rundir, g.name + ".xml")
            with open(xml_path, "w") as f:
                f.write(xml)
            r = subprocess.run(["virsh", "-q", "create", xml_path], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append("virsh create %s: %s" % (g.name, r.stderr.strip()))
                return
    except (subprocess.CalledProcessError, OSError) as e:
        errors.append(str(e))


def run_body(run):
    """Reset KSM, start the hog, the contender and the guests, sample."""
    cfg, name, specs, cont, emit = run.cfg, run.name, run.specs, run.cont, run.emit
    ksm_baseline()
    mi = meminfo()
    avail0 = mi["MemAvailable"] // 1024
    if cfg.get("hog_fixed_mib") is not None:
        hog_mib = cfg["hog_fixed_mib"]
    else:
        hog_mib = avail0 - cfg["guests_resident_mib"] - cfg["target_available_mib"]
    room = avail0 - cfg["guests_resident_mib"] - cfg["min_available_mib"]
    if hog_mib > room:
        log("%s: only %d MiB available: hog %d MiB instead of %d" % (name, avail0, room, hog_mib))
        hog_mib = room
    hog_mib = max(0, hog_mib)
    others = [p for p in os.listdir("/proc") if p.isdigit() and
              (read("/proc/%s/comm" % p, "") or "").startswith("qemu-system")]
    run.emit_meta(hog_mib, avail0, mi, other_qemu_processes=len(others))
    if hog_mib:
        run.hog = start_hog(hog_mib)
    ksmd = ksmd_pid()
    cpu0 = proc_cpu_s(ksmd) if ksmd else 0.0
    t0 = time.time()
    cont.start()
    emit({"type": "event", "t": round(time.time() - t0, 2), "what": "contender started"})
    errors = []
    creator = threading.Thread(target=start_guests, args=(run, errors))
    creator.start()
    run.creator = creator
    created = False
    filled = set()
    t_filled = None
    next_t = t0
    floor_kib = cfg["min_available_mib"] * 1024 // 2
    last_log = -30
    while True:
        next_t += 1.0
        time.sleep(max(0.0, next_t - time.time()))
        t = time.time() - t0
        pids = run.guest_pids()
        if not created and not creator.is_alive():
            creator.join()
            created = True
            if errors:
                raise Abort(errors[0])
            emit({"type": "event", "t": round(t, 2), "what": "guests created"})
        s = sample(t, ksmd, cpu0, pids)
        s["filled"] = len(filled)
        emit(s)
        for g in specs:
            if g.name not in filled and g.filled(run.rundir):
                filled.add(g.name)
                emit({"type": "event", "t": round(t, 2), "what": "filled " + g.name})
        if t_filled is None and len(filled) == len(specs):
            t_filled = t
            emit({"type": "event", "t": round(t, 2), "what": "all guests filled"})
            log("%s: all guests filled after %.0f s" % (name, t))
        if t_filled is None and t > cfg["fill_timeout_s"]:
            raise Abort("guests not filled after %d s" % cfg["fill_timeout_s"])
        if t_filled is not None and t - t_filled >= cfg["window_s"]:
            break
        if s["mem_available_kib"] is not None and s["mem_available_kib"] < floor_kib:
            raise Abort("MemAvailable %d MiB under the floor %d MiB: the hog goes" %
                        (s["mem_available_kib"] // 1024, floor_kib // 1024))
        if not cont.alive():
            raise Abort("%s exited" % cont.name)
        if t - last_log >= 30:
            last_log = t
            log("%s: t=%3.0f s filled %d/%d saved %.0f MiB ksmd %.1f s avail %d MiB run=%s pts=%s" % (
                name, t, len(filled), len(specs),
                ((s["pages_sharing"] or 0) + (s["ksm_zero_pages"] or 0)) / 256.0,
                s["ksmd_cpu_s"] or 0, s["mem_available_kib"] // 1024, s["run"], s["pages_to_scan"]))


def one_run(cfg, rig, contender, rep, out_dir):
    name = "%s-%d" % (contender, rep)
    return framed_run(cfg, rig, contender, rep, name, os.path.join(out_dir, "work", name),
                      os.path.join(out_dir, "runs", name + ".jsonl"), run_body)


# ---------------------------------------------------------------- pressure

class Sampler(threading.Thread):
    """Samples every second in the background; phases run meanwhile."""

    def __init__(self, t0, emit, pids_fn):
        super().__init__(daemon=True)
        self.t0, self.emit, self.pids_fn = t0, emit, pids_fn  # pids_fn: the guests' pids now
        self.ksmd = ksmd_pid()
        self.cpu0 = proc_cpu_s(self.ksmd) if self.ksmd else 0.0
        self.stop_flag = threading.Event()
        self.last = None

    def run(self):
        next_t = self.t0
        while not self.stop_flag.is_set():
            next_t += 1.0
            time.sleep(max(0.0, next_t - time.time()))
            s = sample(time.time() - self.t0, self.ksmd, self.cpu0, self.pids_fn())
            self.last = s
            self.emit(s)

    def stop(self):
        self.stop_flag.set()
        self.join()


def memory_cgroup(pid):
    """The v1 memory cgroup directory of a guest (above libvirt's emulator/vcpu dirs)."""
    for line in (read("/proc/%d/cgroup" % pid, "") or "").splitlines():
        _, ctrl, path = line.split(":", 2)
        if "memory" in ctrl.split(","):
            while os.path.basename(path) in ("emulator",) or os.path.basename(path).startswith("vcpu"):
                path = os.path.dirname(path)
            return "/sys/fs/cgroup/memory" + path
    return None


def cg_limit(cg, value_bytes, timeout_s=90):
    """Lower (or raise, value -1) memory.limit_in_bytes, stepping down while the
    kernel answers EBUSY (it reclaims between the steps)."""
    path = os.path.join(cg, "memory.limit_in_bytes")
    if value_bytes < 0:
        with open(path, "w") as f:
            f.write("-1")
        return True
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        usage = int(read(os.path.join(cg, "memory.usage_in_bytes"), "0"))
        step = max(value_bytes, usage - (64 << 20))
        try:
            with open(path, "w") as f:
                f.write(str(step))
            if step == value_bytes:
                return True
        except OSError:
            time.sleep(0.2)
    return False


def guest_ram_range(pid, guest_mib):
    """(start, end) of the guest RAM mapping: the anonymous mapping of the guest's size."""
    best = None
    for line in (read("/proc/%d/maps" % pid, "") or "").splitlines():
        f = line.split()
        a, b = (int(x, 16) for x in f[0].split("-"))
        size = b - a
        if len(f) < 6 and "rw" in f[1] and guest_mib << 20 <= size <= (guest_mib + 8) << 20:
            if best is None or size < best[1] - best[0]:
                best = (a, b)
    return best


def touch_guest_ram(pid, rng):
    """Read every page of a guest's RAM through /proc/PID/mem: what comes from
    swap is faulted back in, as when the guest touches it."""
    fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    try:
        off, end = rng
        while off < end:
            n = min(1 << 20, end - off)
            try:
                os.pread(fd, n, off)
            except OSError:
                pass
            off += n
    finally:
        os.close(fd)


def swapfile_on(path, mib):
    if subprocess.run(["fallocate", "-l", "%dM" % mib, path]).returncode != 0:
        subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1M", "count=%d" % mib, "status=none"],
                       check=True)
    os.chmod(path, 0o600)
    subprocess.run(["mkswap", "-q", path], check=True)
    subprocess.run(["swapon", path], check=True)


def swapfile_off(path):
    if os.path.exists(path):
        if path in (read("/proc/swaps", "") or ""):
            subprocess.run(["swapoff", path])
        os.unlink(path)


def pressure_body(run):
    cfg, name, specs, cont, emit = run.cfg, run.name, run.specs, run.cont, run.emit
    ksm_baseline()
    mi = meminfo()
    avail0 = mi["MemAvailable"] // 1024
    hog_mib = max(0, min(avail0 - cfg["guests_resident_mib"] - cfg["target_available_mib"],
                         avail0 - cfg["guests_resident_mib"] - cfg["min_available_mib"]))
    run.emit_meta(hog_mib, avail0, mi, scenario="pressure")
    swapfile_on(run.swapfile, cfg["swap_mib"])
    if hog_mib:
        run.hog = start_hog(hog_mib)
    guest_pids = run.guest_pids
    t0 = time.time()
    sampler = Sampler(t0, emit, guest_pids)
    run.sampler = sampler
    sampler.start()

    def event(what, **kw):
        o = {"type": "event", "t": round(time.time() - t0, 2), "what": what}
        o.update(kw)
        emit(o)
        log("%s: %s %s" % (name, what, kw or ""))

    cont.start()
    errors = []
    start_guests(run, errors)
    if errors:
        raise Abort(errors[0])
    event("guests created")
    while True:
        done = [g for g in specs if g.filled(run.rundir)]
        if len(done) == len(specs):
            break
        if time.time() - t0 > cfg["fill_timeout_s"]:
            raise Abort("guests not filled after %d s" % cfg["fill_timeout_s"])
        time.sleep(1)
    event("all guests filled")

    def sharing():
        return int(ksm_knob("pages_sharing") or 0) + int(ksm_knob("ksm_zero_pages") or 0)

    def merged():
        """The guests' own merged pages: other users' do not count."""
        return sum(ksm_stat(p, missing_ok=True).get("ksm_merging_pages", 0) for p in guest_pids())

    # Merge phase: KSM merges nothing in the pass that first checksums a
    # page, so the phase lasts at least two full scans after every guest
    # filled; then until the guests' merged pages stop growing for 30 s,
    # or the timeout.  It also lasts at least --merge-min-s, the same for
    # every contender, so that the swap-out starts with the guests in the
    # same state whoever merged first (the host kernel splits underused
    # THPs of the zero-filling guest at some point after the fill, which
    # changes how much the guests hold).
    def full_scans():
        return int(ksm_knob("full_scans") or 0)

    t_m, best, since, fs0 = time.time(), 0, time.time(), full_scans()
    while time.time() - t_m < cfg["merge_timeout_s"]:
        time.sleep(1)
        cur = merged()
        if cur > best * 1.01 + 16:
            best, since = cur, time.time()
        elif (best > 0 and full_scans() >= fs0 + 2 and time.time() - since >= 30 and
              time.time() - t_m >= cfg["merge_min_s"]):
            break
        if not cont.alive():
            raise Abort("%s exited" % cont.name)
    else:
        event("merge timeout", full_scans=full_scans() - fs0)
    before = merged()
    event("merged", sharing_pages=sharing(), merged_pages=before)
    # Swap-out: every guest's memory cgroup limited to the budget.
    cgs = {}
    for g in specs:
        pid = run.pids.get(g.name)
        cg = memory_cgroup(pid) if pid else None
        if not cg or not os.path.exists(os.path.join(cg, "memory.limit_in_bytes")):
            raise Abort("no v1 memory cgroup for %s (%s)" % (g.name, cg))
        cgs[g.name] = cg
    run.cgroups = list(cgs.values())
    event("swap-out start", budget_mib_per_guest=cfg["budget_mib"])
    for g, cg in cgs.items():
        if not cg_limit(cg, cfg["budget_mib"] << 20):
            event("limit not reached", guest=g)
    time.sleep(cfg["swapout_s"])
    event("swap-out done", sharing_pages=sharing(), merged_pages=merged())
    # Swap-in: limits lifted, every guest's RAM read back.
    for cg in cgs.values():
        cg_limit(cg, -1)
    event("swap-in start")
    for g in specs:
        rng = guest_ram_range(run.pids[g.name], cfg["guest_mib"])
        if rng is None:
            raise Abort("guest RAM mapping of %s not found" % g.name)
        touch_guest_ram(run.pids[g.name], rng)
    event("swap-in done", sharing_pages=sharing(), merged_pages=merged())
    t_in = time.time()
    while time.time() - t_in < cfg["recover_s"]:
        time.sleep(1)
        if merged() >= 0.9 * before:
            event("recovered", sharing_pages=sharing(), merged_pages=merged())
            break
        if not cont.alive():
            raise Abort("%s exited" % cont.name)
    time.sleep(3)
    sampler.stop()


def pressure_run(cfg, rig, contender, rep, out_dir):
    name = "pressure-%s-%d" % (contender, rep)
    return framed_run(cfg, rig, contender, rep, name, os.path.join(out_dir, "work", name),
                      os.path.join(out_dir, "pressure", "%s-%d.jsonl" % (contender, rep)),
                      pressure_body, swapfile=os.path.join(out_dir, "work", "swapfile"))


# ---------------------------------------------------------------- commands

def setup():
    def sh(*cmd):
        log("$ " + " ".join(cmd))
        subprocess.run(cmd, cwd=TOP, check=True)
    sh("scripts/install-deps", "build", "hooks", "bench")
    # The package enables its units; this benchmark runs ksmtuned itself.
    for unit in ("ksmtuned.service", "ksm.service"):
        link = "/etc/systemd/system/multi-user.target.wants/" + unit
        if os.path.islink(link):
            os.unlink(link)
    if os.path.isdir("/run/systemd/system"):
        subprocess.run(["systemctl", "stop", "ksmtuned.service", "ksm.service"])
    if not os.path.exists(os.path.join(TOP, "config.mk")):
        sh("./configure")
    sh("make", "-s", "all")
    sh("tests/rig/libvirtd-ctl", "start")


def build_rig():
    """The guest rig's directory (built on first use)."""
    return subprocess.run([os.path.join(TOP, "tests/rig/build-rig"), "-q"], capture_output=True,
                          text=True, check=True).stdout.strip()


def run_all(cfg, rig, out_dir, subdir, what, run_fn):
    """Runs every contender REPS times, interleaved (rep 1 of each, then rep
    2 ...), passing over the runs finished already (OUT_DIR/SUBDIR/C-REP.jsonl).
    Exit status: 0 when every run went well, 1 otherwise."""
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failed = 0
    try:
        for rep in range(1, cfg["reps"] + 1):
            for c in cfg["contenders"].split(","):
                if os.path.exists(os.path.join(out_dir, subdir, "%s-%d.jsonl" % (c, rep))):
                    continue
                log("%s %s-%d" % (what, c, rep))
                if not run_fn(cfg, rig, c, rep, out_dir):
                    failed += 1
    except Abort as e:
        log("stopped: %s" % e)
        return 1
    log("done: %s (%d aborted runs)" % (out_dir, failed))
    return 1 if failed else 0


def cmd_run(a):
    if os.geteuid() != 0:
        print("overcommit: run as root", file=sys.stderr)
        return 1
    if not os.path.isdir(KSM):
        print("overcommit: no KSM in this kernel", file=sys.stderr)
        return 1
    contenders = a.contenders.split(",")
    for c in contenders:
        if c not in CONTENDERS:
            print("overcommit: unknown contender %s" % c, file=sys.stderr)
            return 2
    if not a.no_setup:
        setup()
    for c in contenders:
        if c == "ksmtuned" and not os.access("/usr/sbin/ksmtuned", os.X_OK):
            print("overcommit: /usr/sbin/ksmtuned missing: scripts/install-deps bench", file=sys.stderr)
            return 1
    r = subprocess.run(["pgrep", "-f", "/usr/sbin/ksmtuned"], capture_output=True, text=True)
    if r.stdout.strip():
        print("overcommit: a ksmtuned is running already (%s): stop it" % r.stdout.split(),
              file=sys.stderr)
        return 1
    rig = build_rig()
    os.makedirs(os.path.join(a.out, "runs"), exist_ok=True)
    cfg_path = os.path.join(a.out, "config.json")
    want = {k: getattr(a, k) for k in RUN_OPTS}
    if os.path.exists(cfg_path):
        with open(cfg_path) as f:
            cfg = json.load(f)
        diff = [k for k in RUN_OPTS if k in a.explicit and cfg.get(k) != want[k]]
        if diff:
            print("overcommit: %s was made with other settings (%s): use another --out" %
                  (a.out, ", ".join("%s=%s" % (k, cfg.get(k)) for k in diff)), file=sys.stderr)
            return 2
        log("resuming %s" % a.out)
    else:
        cfg = dict(want)
        # Host memory a guest takes once filled: all its RAM is touched
        # (the guest kernel zeroes it) plus QEMU and TCG's code buffer;
        # measured 584 MiB for a 512 MiB guest.
        per_guest = cfg["guest_mib"] + 72
        cfg["guests_resident_mib"] = per_guest * cfg["guests"]
        cfg["fill_timeout_s"] = 600
        cfg["hog_fixed_mib"] = a.hog_mib
        cfg["rig"] = open(os.path.join(rig, "VERSION")).read().strip()
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=1, sort_keys=True)
        log("new benchmark %s: guests ~%d MiB, MemAvailable target %d MiB once filled" %
            (a.out, cfg["guests_resident_mib"], cfg["target_available_mib"]))
    return run_all(cfg, rig, a.out, "runs", "run", one_run)


def cmd_pressure(a):
    if os.geteuid() != 0:
        print("overcommit: run as root", file=sys.stderr)
        return 1
    if not a.no_setup:
        setup()
    for c in a.contenders.split(","):
        if c not in ("kernel", "ksmtuned", "advisor", "ksmvirtd"):
            print("overcommit: pressure contenders: kernel, ksmtuned, advisor, ksmvirtd",
                  file=sys.stderr)
            return 2
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        print("overcommit: no cgroup v1 memory controller", file=sys.stderr)
        return 1
    rig = build_rig()
    os.makedirs(os.path.join(a.out, "pressure"), exist_ok=True)
    cfg = {k: getattr(a, k) for k in ("contenders", "reps", "guests", "guest_mib", "fill_mib",
                                      "unique_mib", "budget_mib", "swap_mib", "merge_min_s", "merge_timeout_s",
                                      "swapout_s", "recover_s", "target_available_mib",
                                      "min_available_mib", "prefix")}
    cfg["guests_resident_mib"] = (cfg["guest_mib"] + 72) * cfg["guests"]
    cfg["fill_timeout_s"] = 600
    return run_all(cfg, rig, a.out, "pressure", "pressure run", pressure_run)


def cmd_report(a):
    pres = overcommit_report.load_dir(a.dir, "pressure")
    if pres:
        pmd = overcommit_report.pressure_markdown(pres, figures=a.figures_rel)
        with open(os.path.join(a.dir, "pressure.md"), "w") as f:
            f.write(pmd)
        psvg = overcommit_report.svg_pressure(pres)
        if psvg:
            fig_dir = a.figures or a.dir
            os.makedirs(fig_dir, exist_ok=True)
            with open(os.path.join(fig_dir, "pressure-recovery.svg"), "w") as f:
                f.write(psvg)
        if a.update:
            with open(a.update) as f:
                doc = f.read()
            new = overcommit_report.replace_section(doc, pmd, "overcommit-pressure")
            if new is None:
                print("overcommit: no overcommit-pressure markers in %s" % a.update, file=sys.stderr)
                return 1
            with open(a.update, "w") as f:
                f.write(new)
        sys.stdout.write(pmd)
        if not os.path.isdir(os.path.join(a.dir, "runs")):
            return 0
    runs = overcommit_report.load_dir(a.dir)
    if not runs:
        print("overcommit: no finished runs in %s" % a.dir, file=sys.stderr)
        return 1
    res = overcommit_report.analyse(runs)
    md = overcommit_report.markdown(res, figures=a.figures_rel)
    sv = overcommit_report.svg_savings(res)
    sc = overcommit_report.svg_cpu(res)
    sh = overcommit_report.svg_host_saved(res)
    fig_dir = a.figures or a.dir
    os.makedirs(fig_dir, exist_ok=True)
    for fname, text in (("overcommit-savings.svg", sv), ("overcommit-ksmd-cpu.svg", sc),
                        ("overcommit-host-saved.svg", sh)):
        with open(os.path.join(fig_dir, fname), "w") as f:
            f.write(text)
    with open(os.path.join(a.dir, "report.md"), "w") as f:
        f.write(md)
    if a.update:
        with open(a.update) as f:
            doc = f.read()
        new = overcommit_report.replace_section(doc, md)
        if new is None:
            print("overcommit: no <!-- overcommit:begin --> ... end markers in %s" % a.update,
                  file=sys.stderr)
            return 1
        with open(a.update, "w") as f:
            f.write(new)
    sys.stdout.write(md)
    return 0


def cmd_cleanup(a):
    destroy_guests(a.prefix)
    return 0


class Explicit(argparse.Action):
    def __call__(self, parser, ns, values, option_string=None):
        setattr(ns, self.dest, values)
        ns.explicit.add(self.dest)


def main():
    ap = argparse.ArgumentParser(prog="bench/overcommit", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.set_defaults(explicit=set())
    r.add_argument("--out", required=True)
    r.add_argument("--contenders", default=",".join(CONTENDERS), action=Explicit)
    for opt, dflt in (("reps", 3), ("guests", 6), ("guest-mib", 512), ("fill-mib", 320),
                      ("unique-mib", 64), ("window-s", 240), ("target-available-mib", 2800),
                      ("min-available-mib", 2560)):
        r.add_argument("--" + opt, type=int, default=dflt, action=Explicit)
    r.add_argument("--hog-mib", type=int)
    r.add_argument("--prefix", default="kvb-oc", action=Explicit)
    r.add_argument("--no-setup", action="store_true")
    p = sub.add_parser("report")
    p.add_argument("dir")
    p.add_argument("--update", metavar="BENCHMARKS.md")
    p.add_argument("--figures", metavar="DIR", help="where the SVGs go (default DIR, or doc/bench "
                   "with --update)")
    q = sub.add_parser("pressure", help="the swap-out/swap-in scenario")
    q.add_argument("--out", required=True, help="results directory (runs go to DIR/pressure/)")
    q.add_argument("--contenders", default="kernel,ksmtuned,ksmvirtd",
                   help="comma-separated: kernel, ksmtuned, advisor, ksmvirtd (default %(default)s)")
    for opt, dflt, what in (
            ("reps", 3, "runs per contender"),
            ("guests", 4, "guests; the last one fills zeros"),
            ("guest-mib", 512, "RAM of each guest, MiB"),
            ("fill-mib", 320, "identical content per guest, MiB"),
            ("unique-mib", 64, "unique content per guest, MiB"),
            ("budget-mib", 160, "memory cgroup limit per guest during swap-out, MiB"),
            ("swap-mib", 2048, "size of the swap file switched on for the run, MiB"),
            ("merge-min-s", 240, "shortest merge phase (from the fill), the same for every contender, s"),
            ("merge-timeout-s", 600, "longest merge phase, s"),
            ("swapout-s", 45, "how long the limits hold, s"),
            ("recover-s", 300, "longest wait for the merged pages to recover after swap-in, s"),
            ("target-available-mib", 2800, "size the hog so that about this much stays available"),
            ("min-available-mib", 2560, "never leave less than this available to others")):
        q.add_argument("--" + opt, type=int, default=dflt, help=what + " (default %(default)s)")
    q.add_argument("--prefix", default="kvb-pr", help="domain name prefix (default %(default)s)")
    q.add_argument("--no-setup", action="store_true", help="skip install-deps and the builds")
    c = sub.add_parser("cleanup")
    c.add_argument("--prefix", default="kvb-oc")
    a = ap.parse_args()
    if a.cmd == "report":
        if a.update and not a.figures:
            a.figures = os.path.join(TOP, "doc", "bench")
        a.figures_rel = None
        if a.update and a.figures:
            a.figures_rel = os.path.relpath(a.figures, os.path.dirname(os.path.abspath(a.update)))
        return cmd_report(a)
    if a.cmd == "cleanup":
        return cmd_cleanup(a)
    if a.cmd == "pressure":
        return cmd_pressure(a)
    return cmd_run(a)


if __name__ == "__main__":
    sys.exit(main())
