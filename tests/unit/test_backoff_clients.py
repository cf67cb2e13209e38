"""The backoff arithmetic and the client key the sign-in and lookup limits are counted under."""

from __future__ import annotations

import datetime as dt

from core.backoff import Backoff
from core.clients import client_key

NOW = dt.datetime(2026, 11, 25, 4, 0)
POLICY = Backoff(free=3, base=dt.timedelta(seconds=10), cap=dt.timedelta(minutes=5), window=dt.timedelta(hours=1))


def test_waits_double_after_the_free_failures_up_to_the_cap() -> None:
    assert [POLICY.wait(n).total_seconds() for n in range(9)] == [0, 0, 0, 10, 20, 40, 80, 160, 300]
    assert POLICY.wait(10**6) == POLICY.cap  # no overflow for absurd counts


def test_retry_after_counts_from_the_latest_failure() -> None:
    assert POLICY.retry_after(5, None, NOW) == 0
    assert POLICY.retry_after(5, NOW - dt.timedelta(seconds=15), NOW) == 25
    assert POLICY.retry_after(5, NOW - dt.timedelta(seconds=60), NOW) == 0
    assert POLICY.retry_after(2, NOW, NOW) == 0


def test_client_key_prefers_the_direct_address_then_the_local_proxys_headers() -> None:
    assert client_key("203.0.113.9", "1.2.3.4", "5.6.7.8", "s1") == "ip:203.0.113.9"  # headers of a direct
    # connection are the client's own words: ignored
    assert client_key(None, "1.2.3.4, 198.51.100.7", None, "s1") == "ip:198.51.100.7"  # the proxy's entry
    assert client_key(None, None, "198.51.100.8", "s1") == "ip:198.51.100.8"
    assert client_key(None, " ", "", "s1") == "session:s1"
    assert len(client_key("x" * 100, None, None, "s1")) == 64
