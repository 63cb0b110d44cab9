# SPDX-License-Identifier: GPL-2.0-or-later
"""KSM's sysfs knobs, the host's KSM lock, saved settings and /proc/PID/ksm_stat.

Tests and benchmarks that change host-wide KSM settings hold an exclusive
lock on /run/lock/ksmvirt-ksm.lock for their whole run and restore every
setting they touched, whatever happens.
"""
import fcntl
import os
import time

from .procfs import read
from .tap import skip

KSM = "/sys/kernel/mm/ksm"
LOCK = "/run/lock/ksmvirt-ksm.lock"


def require_root_ksm():
    if os.geteuid() != 0:
        skip("needs root")
    if not os.path.isdir(KSM):
        skip("kernel without KSM")


def ksm_read(name):
    """The value of a KSM knob; raises OSError when it is missing."""
    with open(os.path.join(KSM, name)) as f:
        return f.read().strip()


def ksm_knob(name):
    """The value of a KSM knob, None when this kernel lacks it; for
    advisor_mode the selected one of "[none] scan-time"."""
    v = read(os.path.join(KSM, name))
    if v is None:
        return None
    v = v.strip()
    if name == "advisor_mode" and "[" in v:
        v = v[v.index("[") + 1:v.index("]")]
    return v


def ksm_write(name, value):
    with open(os.path.join(KSM, name), "w") as f:
        f.write(str(value))


def ksm_set(name, value):
    """Writes a knob only when this kernel has it and its value differs."""
    if not os.path.exists(os.path.join(KSM, name)):
        return
    if ksm_knob(name) == str(value):
        return
    ksm_write(name, value)


def ksm_save(knobs):
    """{knob: value} of those of KNOBS this kernel has."""
    saved = {}
    for k in knobs:
        v = ksm_knob(k)
        if v is not None:
            saved[k] = v
    return saved


def ksm_restore(saved, on_error=None):
    """Writes back what ksm_save() returned, run last: knobs such as
    use_zero_pages and merge_across_nodes can only change while nothing is
    merged.  A knob that cannot be written goes to on_error(knob, value,
    OSError), or is passed over."""
    knobs = [(k, v) for k, v in saved.items() if k != "run"]
    for k, v in knobs + [("run", saved.get("run", "0"))]:
        try:
            ksm_set(k, v)
        except OSError as e:
            if on_error:
                on_error(k, v, e)


def parse_ksm_stat(text):
    """/proc/PID/ksm_stat: {field: int, or the text when it is not a number}."""
    out = {}
    for line in text.splitlines():
        p = line.replace(":", " ").split()
        if len(p) >= 2:
            out[p[0]] = int(p[1]) if p[1].lstrip("-").isdigit() else p[1]
    return out


def ksm_stat(pid, missing_ok=False):
    """PID's ksm_stat; {} for a process that is gone when missing_ok."""
    try:
        with open("/proc/%d/ksm_stat" % pid) as f:
            return parse_ksm_stat(f.read())
    except OSError:
        if missing_ok:
            return {}
        raise


class KsmLock:
    """Exclusive flock on the host's KSM lock.  With on_wait, polls and
    calls on_wait(seconds waited) once a minute; waited_s says how long it
    took."""

    def __init__(self, on_wait=None):
        self.on_wait = on_wait
        self.waited_s = 0.0

    def __enter__(self):
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        self.f = open(LOCK, "w")
        t0 = time.time()
        if self.on_wait is None:
            fcntl.flock(self.f, fcntl.LOCK_EX)
        while self.on_wait is not None:
            try:
                fcntl.flock(self.f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if int(time.time() - t0) % 60 == 0:
                    self.on_wait(time.time() - t0)
                time.sleep(1)
        self.waited_s = time.time() - t0
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()
        return False


class KsmSettings:
    """Context manager: lock, save the named KSM knobs, restore on exit."""

    KNOBS = ("run", "pages_to_scan", "sleep_millisecs", "use_zero_pages", "max_page_sharing",
             "merge_across_nodes", "advisor_mode", "smart_scan")

    def __enter__(self):
        self.lock = KsmLock().__enter__()
        self.saved = ksm_save(self.KNOBS)
        return self

    def __exit__(self, *exc):
        ksm_restore(self.saved)
        return self.lock.__exit__(*exc)
