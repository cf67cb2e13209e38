"""Where tracking numbers come from: the carrier's pre-allocated number ranges by default, or a
carrier's own API once an adapter is written for it.

A shop buys numbers from a carrier in blocks (电子面单 ranges). Taking one is a single
conditional UPDATE — ``next_no = next_no + 1 WHERE id = ? AND next_no <= end_no`` RETURNING the
new value — so on SQLite and PostgreSQL alike two packers printing at the same moment never get
the same number: the second UPDATE waits for the first row lock and re-checks the condition.
An exhausted carrier is refused with its name and an alert asks the office to buy more
(:func:`raise_exhausted_alert`, written after the refused transaction has rolled back).

A real carrier API would be a :class:`NumberSource` registered in :data:`SOURCES` under the
carrier's code; everything else (labels, shipping) asks :func:`allocate` and does not care.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.domain import parcels
from core.errors import (
    FieldIssue,
    Message,
    NotFound,
    Refused,
    ValidationError,
    stored,
)
from core.models import Alert, Carrier, TrackingRange
from core.permissions import Actor, require
from core.timeutil import utcnow

RANGE_COLUMNS = ["id", "carrier", "prefix", "next", "last", "width", "left", "active"]
MAX_WIDTH = 18  # digits that fit a BIGINT
_PREFIX = re.compile(r"[A-Z0-9]{0,16}")


class NumberSource(Protocol):
    """Hands out a carrier's next tracking number inside the caller's transaction; None when
    it has no numbers for this carrier at all (then a number must be typed)."""

    def allocate(self, session: Session, carrier_id: int, carrier_name: str) -> str | None: ...


class RangesExhausted(Refused):
    """No number left in any active range of the carrier (the alert is raised by the caller
    once the transaction has rolled back)."""


@dataclass(frozen=True)
class RangeSource:
    """The default: the carrier's active ranges, oldest first."""

    def allocate(self, session: Session, carrier_id: int, carrier_name: str) -> str | None:
        ranges = session.execute(select(TrackingRange.id, TrackingRange.next_no <= TrackingRange.end_no).where(
            TrackingRange.carrier_id == carrier_id, TrackingRange.active.is_(True))
            .order_by(TrackingRange.id)).all()
        if not ranges:
            return None
        ids = [range_id for range_id, left in ranges if left]
        for range_id in ids:
            taken = session.execute(
                update(TrackingRange)
                .where(TrackingRange.id == range_id, TrackingRange.next_no <= TrackingRange.end_no)
                .values(next_no=TrackingRange.next_no + 1)
                .returning(TrackingRange.next_no, TrackingRange.prefix, TrackingRange.width)).first()
            if taken is not None:  # None: a concurrent packer took this range's last number
                return parcels.format_number(taken.prefix, int(taken.next_no) - 1, int(taken.width))
        raise RangesExhausted("carrier.numbers_exhausted", carrier=carrier_name)


SOURCES: dict[str, NumberSource] = {}  # carrier code → adapter of that carrier's API


def allocate(session: Session, carrier_id: int, carrier_code: str, carrier_name: str) -> str | None:
    """The next tracking number of a carrier, from its adapter or else its number ranges
    (None: the carrier has neither)."""
    return SOURCES.get(carrier_code, RangeSource()).allocate(session, carrier_id, carrier_name)


F = TypeVar("F", bound=Callable[..., Any])


def alert_when_exhausted(service: F) -> F:
    """Wrap a service that takes numbers: when it is refused for an exhausted carrier, raise
    the alert in a transaction of its own (the refused one rolled back) and re-raise."""

    @functools.wraps(service)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return service(*args, **kwargs)
        except RangesExhausted as exc:
            raise_exhausted_alert(str(exc.params["carrier"]))
            raise

    return cast(F, wrapper)


@unit_of_work
def raise_exhausted_alert(session: Session, carrier_name: str) -> None:
    """One open alert per carrier whose numbers ran out (not one per refused label)."""
    open_ = session.execute(select(Alert.id).where(
        Alert.kind == "tracking_exhausted", Alert.entity_id == carrier_name,
        Alert.acknowledged_at.is_(None), Alert.resolved_at.is_(None))).first()
    if open_ is None:
        session.execute(insert(Alert).values(
            kind="tracking_exhausted", severity="critical", entity="carrier", entity_id=carrier_name,
            created_at=utcnow(),
            **stored("message", Message("alert_msg.tracking_exhausted", {"carrier": carrier_name}))))


@read_only
def list_ranges(session: Session, actor: Actor) -> pd.DataFrame:
    """Every number range with how many numbers are left in it."""
    require(actor, "masterdata.view")
    rows = session.execute(
        select(TrackingRange.id, Carrier.code, TrackingRange.prefix, TrackingRange.next_no, TrackingRange.end_no,
               TrackingRange.width, TrackingRange.end_no - TrackingRange.next_no + 1, TrackingRange.active)
        .join(Carrier, Carrier.id == TrackingRange.carrier_id).order_by(Carrier.code, TrackingRange.id)).all()
    frame = pd.DataFrame(rows, columns=RANGE_COLUMNS)
    frame["left"] = frame["left"].astype(int)
    return frame


@unit_of_work
def add_range(session: Session, carrier: str, prefix: str, first: int, last: int, width: int, actor: Actor) -> int:
    """Record a block of numbers bought from a carrier (``prefix`` + ``first``..``last``, zero-
    padded to ``width`` digits). Refused when the numbers would not match the carrier's
    pattern or overlap a range of the same carrier and prefix. Returns the range's id."""
    require(actor, "masterdata.edit")
    row = session.execute(select(Carrier.id, Carrier.code, Carrier.name, Carrier.tracking_pattern)
                          .where(Carrier.code == str(carrier or "").strip().upper())).first()
    if row is None:
        raise NotFound.coded("carrier.unknown", carrier=carrier)
    prefix = str(prefix or "").strip().upper()
    issues = []
    if not _PREFIX.fullmatch(prefix):
        issues.append(FieldIssue("prefix", "carrier.issue_prefix", value=prefix))
    if not 1 <= width <= MAX_WIDTH:
        issues.append(FieldIssue("width", "issue.whole_between", value=width, params={"low": 1, "high": MAX_WIDTH}))
    elif not 0 <= first <= last < 10**width:
        issues.append(FieldIssue("last", "carrier.issue_range", value=last, params={"width": width}))
    if not issues:
        for end in (first, last):
            number = parcels.format_number(prefix, end, width)
            if not parcels.matches_pattern(row.tracking_pattern, number):
                issues.append(FieldIssue("prefix", "carrier.issue_range_pattern", value=number,
                                         params={"tracking": number, "carrier": row.name}))
                break
        overlap = session.execute(select(func.count()).select_from(TrackingRange).where(
            TrackingRange.carrier_id == row.id, TrackingRange.prefix == prefix, TrackingRange.width == width,
            TrackingRange.next_no <= last, TrackingRange.end_no >= first)).scalar_one()
        if overlap:
            issues.append(FieldIssue("first", "carrier.issue_range_overlap", value=first))
    if issues:
        raise ValidationError(issues)
    range_id = int(session.execute(insert(TrackingRange).values(
        carrier_id=row.id, prefix=prefix, next_no=first, end_no=last, width=width, active=True)
        .returning(TrackingRange.id)).scalar_one())
    audit.record(session, actor, "carrier.range_add", "carrier", row.code,
                 after={"prefix": prefix, "first": first, "last": last, "width": width})
    return range_id
