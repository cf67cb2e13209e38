"""Exponential backoff for failed attempts (sign-in, public order lookup): pure arithmetic.

A flat lock-out ("5 failures, locked for an hour") lets anyone lock anyone out and still lets
a patient guesser through at a fixed rate. Backoff instead makes each failure past a few free
ones double the wait before the next attempt is heard, up to a cap, counted per scope (a
client, an account on a client, an order number): a guesser slows to a crawl while the owner
waits at most the cap — and not at all from a client the guesser does not use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    free: int  # failures answered without any wait
    base: dt.timedelta  # the wait after the first failure past the free ones
    cap: dt.timedelta  # the longest wait
    window: dt.timedelta  # failures older than this are forgotten

    def wait(self, failures: int) -> dt.timedelta:
        """The wait after ``failures`` failures: none up to ``free``, then base · 2^k, capped."""
        if failures < self.free:
            return dt.timedelta(0)
        excess = min(failures - self.free, 32)  # 2^32 · base is far past any cap
        return min(self.cap, self.base * 2**excess)

    def retry_after(self, failures: int, last_failure: dt.datetime | None, now: dt.datetime) -> int:
        """Whole seconds until the next attempt is heard (0: now)."""
        if last_failure is None:
            return 0
        remaining = last_failure + self.wait(failures) - now
        return max(0, int(remaining.total_seconds() + 0.999))
