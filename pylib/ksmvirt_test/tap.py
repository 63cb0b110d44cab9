# SPDX-License-Identifier: GPL-2.0-or-later
"""TAP output for the Python tests, and their skip (exit 77) and fail."""
import sys

SKIP = 77


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


class Tap:
    """Minimal TAP producer that remembers failures."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)
        return cond

    def done(self):
        print("1..%d" % self.n)
        print("%d passed, %d failed" % (self.n - self.failed, self.failed))
        sys.exit(1 if self.failed else 0)
