"""UTC in the database, the shop's timezone on screen, and the one clock everything reads.

All stored timestamps are naive datetimes holding UTC; these helpers are the only place that
converts, so "today" on a dashboard means the shop's local day, not the server's.

Every "now" and "today" in the code comes from :func:`utcnow` / :func:`local_today`, so one
setting moves the whole system in time: ``OMS_NOW`` pins the clock of a process (and of every
process started from it) — ``2026-11-25T04:00:00`` makes that instant "now" when the process
starts and lets time tick on from there; ``2026-11-25T04:00:00@1764043200.5`` says the instant
was pinned at that real epoch second, so a parent and the servers it starts share one clock.
The tests pin it (``tests/conftest.py``) so the suite passes on any date; a shop can use it to
replay a day. :func:`pin` does the same inside one process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from core import config

CLOCK_ENV = "OMS_NOW"
TIME_FORMAT = "%Y-%m-%d %H:%M"  # how a timestamp is shown: shop-local wall time to the minute

_offset: dt.timedelta | None = None  # pinned instant minus the real time at which it was pinned
_offset_source: str | None = None  # the OMS_NOW text _offset was computed from


def _parse_pin(text: str) -> dt.timedelta:
    """``INSTANT[@EPOCH]`` → offset from the real clock; a bad value is a start-up error."""
    instant_text, _, epoch_text = text.strip().partition("@")
    try:
        instant = dt.datetime.fromisoformat(instant_text.strip().removesuffix("Z"))
        epoch = float(epoch_text) if epoch_text.strip() else time.time()
    except ValueError as exc:
        raise ValueError(f"{CLOCK_ENV}={text!r}: expected ISO date-time[@epoch seconds]") from exc
    if instant.tzinfo is not None:
        instant = instant.astimezone(dt.UTC).replace(tzinfo=None)
    return instant - dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)


def _current_offset() -> dt.timedelta | None:
    """The pin in force: :func:`pin` first, else ``OMS_NOW`` (parsed once per distinct value)."""
    global _offset, _offset_source
    if _offset_source == "<pin>":
        return _offset
    text = os.environ.get(CLOCK_ENV) or None
    if text != _offset_source:
        _offset, _offset_source = (_parse_pin(text) if text else None), text
    return _offset


def real_utcnow() -> dt.datetime:
    """The machine's UTC time, aware; only for the clock itself and for pinning it."""
    return dt.datetime.now(dt.UTC)


def now_aware() -> dt.datetime:
    """Current instant (pinned if a pin is in force) as an aware UTC datetime."""
    now = real_utcnow()
    offset = _current_offset()
    return now + offset if offset is not None else now


def utcnow() -> dt.datetime:
    """Current UTC time as a naive datetime (the storage convention)."""
    return now_aware().replace(tzinfo=None, microsecond=0)


def pin_value(instant: dt.datetime) -> str:
    """The ``OMS_NOW`` text that pins ``instant`` (naive = UTC) for this and child processes."""
    aware = instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)
    return f"{aware.astimezone(dt.UTC).replace(tzinfo=None).isoformat()}@{time.time():.6f}"


@contextlib.contextmanager
def pin(instant: dt.datetime) -> Iterator[None]:
    """Within the block "now" starts at ``instant`` (naive = UTC) and ticks on."""
    global _offset, _offset_source
    saved = _offset, _offset_source
    _offset = _parse_pin(pin_value(instant))
    _offset_source = "<pin>"
    try:
        yield
    finally:
        _offset, _offset_source = saved


def shop_tz() -> ZoneInfo:
    return ZoneInfo(config.shop_timezone())


def to_local(ts: dt.datetime | None) -> dt.datetime | None:
    """Stored UTC → aware datetime in the shop's timezone."""
    if ts is None:
        return None
    return ts.replace(tzinfo=dt.UTC).astimezone(shop_tz())


def format_time(ts: dt.datetime | None, fmt: str = TIME_FORMAT) -> str:
    """A stored (naive UTC) timestamp as shop-local wall time; empty for None/NaT."""
    if ts is None or ts != ts:  # NaT compares unequal to itself
        return ""
    local = to_local(ts)
    return local.strftime(fmt) if local else ""


def local_today() -> dt.date:
    return now_aware().astimezone(shop_tz()).date()


def local_day_start_utc(day: dt.date) -> dt.datetime:
    """UTC instant at which the shop's local ``day`` begins (naive, storage convention)."""
    local = dt.datetime.combine(day, dt.time.min, tzinfo=shop_tz())
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def to_utc(ts: dt.datetime) -> dt.datetime:
    """Aware datetime → naive UTC; a naive input is taken to be shop-local time."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=shop_tz())
    return ts.astimezone(dt.UTC).replace(tzinfo=None)
