"""Shop-local calendar arithmetic inside SQL, the same on SQLite and PostgreSQL.

Timestamps are stored as naive UTC. A summary that groups by the shop's *local* day or hour
must convert every row, in the database, without loading rows into Python. The conversion is
integer arithmetic on epoch seconds: ``local = epoch + offset``, where ``offset`` is a literal
for a zone without daylight saving (Asia/Shanghai) and a CASE over the exact UTC instants of
the transitions inside the window otherwise — so 00:01 and 23:59 land on the right day and a
DST day has 23 or 25 hours, as on the wall clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import BigInteger, Date, Integer, case, cast, func, literal, literal_column
from sqlalchemy.sql.elements import ColumnElement

from core.timeutil import shop_tz

EPOCH = dt.date(1970, 1, 1)
DAY_SECONDS = 86_400
HOUR_SECONDS = 3_600


def _offset_at(utc: dt.datetime) -> int:
    """The shop's UTC offset in seconds at the naive-UTC instant ``utc``."""
    offset = utc.replace(tzinfo=dt.UTC).astimezone(shop_tz()).utcoffset()
    return int(offset.total_seconds()) if offset else 0


@dataclass(frozen=True)
class LocalClock:
    """The shop's UTC offsets over a window: ``segments[i] = (UTC start, offset seconds)``;
    the first segment also covers everything before its start."""

    segments: tuple[tuple[dt.datetime, int], ...]

    @classmethod
    def between(cls, first_utc: dt.datetime, last_utc: dt.datetime) -> LocalClock:
        """Offsets for instants in ``[first_utc, last_utc]``, transitions exact to the second.

        Offsets are sampled every 12 hours (zones change at most a few times a year, never
        twice within 12 hours); a change between two samples is located by bisection.
        """
        step = dt.timedelta(hours=12)
        at, offset = first_utc, _offset_at(first_utc)
        segments = [(first_utc, offset)]
        while at < last_utc:
            nxt = min(at + step, last_utc)
            new = _offset_at(nxt)
            if new != offset:
                lo, hi = at, nxt  # offset(lo) == old, offset(hi) == new
                while hi - lo > dt.timedelta(seconds=1):
                    mid = lo + (hi - lo) / 2
                    lo, hi = (mid, hi) if _offset_at(mid) == offset else (lo, mid)
                segments.append((hi.replace(microsecond=0), new))
                offset = new
            at = nxt
        return cls(tuple(segments))

    def offset_sql(self, column: ColumnElement) -> ColumnElement[int]:
        """The UTC offset (seconds) in force at each row's ``column``."""
        if len(self.segments) == 1:
            return literal(self.segments[0][1], Integer)
        return case(*[(column >= start, off) for start, off in reversed(self.segments[1:])],
                    else_=self.segments[0][1])


def epoch_seconds(column: ColumnElement, dialect: str) -> ColumnElement[int]:
    """Whole seconds since 1970-01-01 of a naive (UTC) timestamp column."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), BigInteger)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def local_seconds(column: ColumnElement, clock: LocalClock, dialect: str) -> ColumnElement[int]:
    """Epoch seconds of ``column`` as shown on the shop's wall clock."""
    return epoch_seconds(column, dialect) + clock.offset_sql(column)


def day_number(local: ColumnElement[int]) -> ColumnElement[int]:
    """Local day (days since 1970-01-01) of a :func:`local_seconds` expression."""
    return local // DAY_SECONDS


def hour_of_day(local: ColumnElement[int]) -> ColumnElement[int]:
    """Local hour 0–23 of a :func:`local_seconds` expression."""
    return (local % DAY_SECONDS) // HOUR_SECONDS


def date_of(number: ColumnElement[int], dialect: str) -> ColumnElement[dt.date]:
    """The DATE whose day number is ``number``."""
    if dialect == "sqlite":
        return func.date(number * DAY_SECONDS, "unixepoch", type_=Date)
    return cast(literal_column("DATE '1970-01-01'") + cast(number, Integer), Date)


def month_of(number: ColumnElement[int], dialect: str) -> ColumnElement[dt.date]:
    """The first day of the month containing day ``number``, as a DATE."""
    if dialect == "sqlite":
        return func.date(number * DAY_SECONDS, "unixepoch", "start of month", type_=Date)
    return cast(func.date_trunc("month", literal_column("DATE '1970-01-01'") + cast(number, Integer)), Date)


def number_of(day: ColumnElement[dt.date], dialect: str) -> ColumnElement[int]:
    """Day number (days since 1970-01-01) of a DATE column."""
    if dialect == "sqlite":
        return cast(func.julianday(day) - 2440587.5, Integer)
    return cast(day - literal_column("DATE '1970-01-01'"), Integer)


def to_number(day: dt.date) -> int:
    """Python side of :func:`number_of`."""
    return (day - EPOCH).days


def hours_between(start: ColumnElement, end: ColumnElement, dialect: str) -> ColumnElement[float | Decimal]:
    """``end − start`` in hours (fractional)."""
    return (epoch_seconds(end, dialect) - epoch_seconds(start, dialect)) / 3600.0
