# SPDX-License-Identifier: GPL-2.0-or-later
"""Parsers of /proc files over their text, and the thin readers around them."""
import os
import re
from dataclasses import dataclass


def read(path, default=None):
    """The text of PATH, or DEFAULT when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def parse_meminfo(text):
    """/proc/meminfo: {field: kib}."""
    out = {}
    for line in text.splitlines():
        k, v = line.split(":", 1)
        out[k] = int(v.split()[0])
    return out


def meminfo():
    return parse_meminfo(read("/proc/meminfo", ""))


def parse_vmstat(text):
    """/proc/vmstat: {counter: value}."""
    out = {}
    for line in text.splitlines():
        k, v = line.split()
        out[k] = int(v)
    return out


def vmstat():
    return parse_vmstat(read("/proc/vmstat", ""))


@dataclass(frozen=True)
class Psi:
    """One line of a /proc/pressure file."""
    avg10: float
    total_us: int


def parse_psi(text):
    """/proc/pressure/*: {"some": Psi, "full": Psi}."""
    out = {}
    for line in text.splitlines():
        kind, rest = line.split(None, 1)
        f = dict(x.split("=") for x in rest.split())
        out[kind] = Psi(float(f["avg10"]), int(f["total"]))
    return out


def psi_memory():
    return parse_psi(read("/proc/pressure/memory", ""))


def ksmd_pid():
    """The pid of the ksmd kernel thread, None without one."""
    for pid in os.listdir("/proc"):
        if pid.isdigit() and (read("/proc/%s/comm" % pid, "") or "").strip() == "ksmd":
            return int(pid)
    return None


def parse_stat_cpu_ticks(text):
    """/proc/PID/stat: utime + stime in clock ticks."""
    f = text[text.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])


def proc_cpu_s(pid):
    """CPU seconds (user + system) PID has used; 0.0 when it is gone."""
    s = read("/proc/%d/stat" % pid)
    if not s:
        return 0.0
    return parse_stat_cpu_ticks(s) / os.sysconf("SC_CLK_TCK")


def parse_status_rss_kib(text):
    """/proc/PID/status: VmRSS in KiB, 0 without the field."""
    m = re.search(r"^VmRSS:\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def rss_kib(pid):
    return parse_status_rss_kib(read("/proc/%d/status" % pid, "") or "")
