"""UTC in the database, the shop's timezone on screen.

All stored timestamps are naive datetimes holding UTC; these helpers are the only place that
converts, so "today" on a dashboard means the shop's local day, not the server's.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core import config


def utcnow() -> dt.datetime:
    """Current UTC time as a naive datetime (the storage convention)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def shop_tz() -> ZoneInfo:
    return ZoneInfo(config.shop_timezone())


def to_local(ts: dt.datetime | None) -> dt.datetime | None:
    """Stored UTC → aware datetime in the shop's timezone."""
    if ts is None:
        return None
    return ts.replace(tzinfo=dt.UTC).astimezone(shop_tz())


def local_today() -> dt.date:
    return dt.datetime.now(shop_tz()).date()


def local_day_start_utc(day: dt.date) -> dt.datetime:
    """UTC instant at which the shop's local ``day`` begins (naive, storage convention)."""
    local = dt.datetime.combine(day, dt.time.min, tzinfo=shop_tz())
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def to_utc(ts: dt.datetime) -> dt.datetime:
    """Aware datetime → naive UTC; a naive input is taken to be shop-local time."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=shop_tz())
    return ts.astimezone(dt.UTC).replace(tzinfo=None)
