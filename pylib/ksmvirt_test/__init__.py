# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmvirt_test: the Python helpers shared by ksmvirt's tests and benchmarks
(python3, standard library only).

A script under tests/ or bench/ puts the source tree's pylib/ on sys.path
and imports what it needs:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
    from ksmvirt_test.tap import Tap

Modules, one job each:
  tap       TAP output, skip (exit 77) and fail
  ksm       KSM's sysfs knobs, the host's KSM lock, saved settings, ksm_stat
  procfs    parsers of /proc files over text, and their thin readers
  run       the programs under test, helper processes, libguestfs' environment
  fakeroot  writers of fake /proc and /sys trees (the tests' fixture roots)

TOP is the source tree (or $KSMVIRT_TOP), BUILD its build directory
($KSMVIRT_BUILD, default "build").
"""
import os

TOP = os.environ.get("KSMVIRT_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, os.environ.get("KSMVIRT_BUILD", "build"))
