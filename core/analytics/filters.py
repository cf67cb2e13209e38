"""The dashboards' filter set and how it narrows a summary table.

A :class:`Filters` value is frozen and hashable, so a page can pass it straight to
``core.webui.cached_read``. Dates are shop-local calendar days, both ends included. Empty
selections mean "all". The category is a single choice: the summaries count orders
*containing* a category exactly, which a union of several categories could not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import _read
from core.errors import FieldIssue, ValidationError
from core.geo import REGION_OF_PROVINCE
from core.models import Channel, Product, Warehouse
from core.timeutil import local_today

REGIONS: tuple[str, ...] = tuple(dict.fromkeys(REGION_OF_PROVINCE.values()))
UNKNOWN_REGION = ""  # orders without a (recognised) ship-to province: counter sales, bad addresses
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Filters:
    """Date range (local days, inclusive) plus optional channel / warehouse codes, regions and
    one category. Raises :class:`ValidationError` naming the field when the range is empty
    or longer than three years."""

    start: dt.date
    end: dt.date
    channels: tuple[str, ...] = ()
    warehouses: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    category: str | None = None

    def __post_init__(self) -> None:
        issues = []
        if self.end < self.start:
            issues.append(FieldIssue("date_to", "issue.end_before_start", value=str(self.end)))
        elif (self.end - self.start).days >= MAX_DAYS:
            issues.append(FieldIssue("date_to", "issue.max_days", value=str(self.end), params={"n": MAX_DAYS}))
        unknown = [r for r in self.regions if r not in REGIONS and r != UNKNOWN_REGION]
        if unknown:
            issues.append(FieldIssue("region", "issue.one_of", value=unknown[0], params={"choices": ", ".join(REGIONS)}))
        if issues:
            raise ValidationError(issues)

    @classmethod
    def last(cls, days: int, today: dt.date | None = None, **kw: object) -> Filters:
        """The ``days`` local days up to and including ``today`` (default: the shop's today)."""
        end = today or local_today()
        return cls(end - dt.timedelta(days=days - 1), end, **kw)  # type: ignore[arg-type]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The same number of days right before this range, same other filters."""
        return replace(self, start=self.start - dt.timedelta(days=self.days),
                       end=self.start - dt.timedelta(days=1))

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]


def where(rel: FromClause, f: Filters, *, dates: bool = True, category: bool = False,
          start: dt.date | None = None) -> list[ColumnElement[bool]]:
    """Conditions selecting the rows of a summary relation that the filters keep.

    ``dates`` restricts ``rel.c.day`` to the range (from ``start`` instead of ``f.start`` when
    given, to read a comparison period in the same scan); ``category`` applies the category
    to a sales table's ``category`` key (``*`` = whole orders when no category is chosen).
    """
    conds: list[ColumnElement[bool]] = []
    if dates:
        conds += [rel.c.day >= (start or f.start), rel.c.day <= f.end]
    if f.channels:
        conds.append(rel.c.channel_id.in_(select(Channel.id).where(Channel.code.in_(f.channels))))
    if f.warehouses and "warehouse_id" in rel.c:
        conds.append(rel.c.warehouse_id.in_(select(Warehouse.id).where(Warehouse.code.in_(f.warehouses))))
    if f.regions:
        conds.append(rel.c.region.in_(f.regions))
    if category:
        conds.append(rel.c.category == (f.category or "*"))
    return conds


def filter_keys(f: Filters, rel: FromClause, *, category: bool = False) -> set[str]:
    """The key columns of ``rel`` that :func:`where` reads for these filters (what a roll-up
    must keep to answer them)."""
    wanted = {"channel_id": bool(f.channels), "warehouse_id": bool(f.warehouses) and "warehouse_id" in rel.c,
              "region": bool(f.regions), "category": category}
    return {key for key, needed in wanted.items() if needed}


def product_condition(product_id: ColumnElement[int], f: Filters) -> list[ColumnElement[bool]]:
    """The category filter for a relation keyed by product."""
    if not f.category:
        return []
    return [product_id.in_(select(Product.id).where(Product.category == f.category))]


def filter_options(*, session: Session | None = None) -> dict[str, pd.DataFrame]:
    """What the filter widgets offer: channels, warehouses (code, name), categories, regions."""

    def query(s: Session) -> dict[str, pd.DataFrame]:
        channels = pd.DataFrame(s.execute(select(Channel.code, Channel.name).order_by(Channel.id)).all(),
                                columns=["code", "name"])
        warehouses = pd.DataFrame(s.execute(select(Warehouse.code, Warehouse.name).order_by(Warehouse.id)).all(),
                                  columns=["code", "name"])
        categories = pd.DataFrame(s.execute(select(Product.category).distinct().order_by(Product.category)).all(),
                                  columns=["category"])
        return {"channels": channels, "warehouses": warehouses, "categories": categories,
                "regions": pd.DataFrame({"region": [*REGIONS, UNKNOWN_REGION]})}

    return _read(session, query)
