"""Requests per token: a token bucket in this process's memory.

Simple on purpose: each API process keeps its own buckets (N processes behind a proxy allow N
times the rate) and a restart refills them. A shared limit would live in Redis or the proxy.
"""

from __future__ import annotations

import math
import threading
import time


class TokenBucket:
    """``burst`` requests at once, refilled at ``rate`` per second, per key."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[int, tuple[float, float]] = {}  # key -> (tokens, monotonic time)
        self._lock = threading.Lock()

    def take(self, key: int) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def retry_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
