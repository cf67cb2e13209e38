"""Read-only inventory queries: stock by product × warehouse, stock in transit, a product's
ledger history and its stock over time, and the expected quantities of a count sheet.

Everything aggregates in SQL; only one product's movements are ever pulled into pandas (the
stock-over-time chart), never the whole ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Select, String, and_, case, cast, func, literal, or_, select, true
from sqlalchemy.orm import Session

from core import paging
from core.analytics import _read
from core.barcodes import has_barcode
from core.models import (
    Order,
    POLine,
    Product,
    PurchaseOrder,
    Return,
    StockAdjustment,
    StockLevel,
    StockMovement,
    Supplier,
    Transfer,
    TransferLine,
    Warehouse,
)
from core.searchbox import search_text
from core.timeutil import local_day_start_utc, local_today, shop_tz, utcnow

DEMAND_DAYS = 28  # window of shipments behind "days of cover"
OPEN_TRANSFER_STATUSES = ("shipped", "partial")

STOCK_COLUMNS = ["product_id", "sku", "name", "category", "warehouse", "on_hand", "reserved", "available",
                 "in_transit", "safety_stock", "reorder_point", "daily_demand", "days_of_cover", "below_safety"]
COST_COLUMNS = ["unit_cost", "stock_value"]
TRANSIT_COLUMNS = ["product_id", "sku", "warehouse", "in_transit"]
LEDGER_COLUMNS = ["id", "at", "warehouse", "kind", "qty_delta", "balance", "reason", "reference", "actor"]
COUNT_COLUMNS = ["product_id", "sku", "barcode", "name", "category", "expected", "reserved"]


def _in_transit_subquery():  # noqa: ANN202 - a SQLAlchemy subquery
    """Σ(shipped − received) per (product, destination) over transfers still on the way."""
    return (
        select(TransferLine.product_id, Transfer.to_warehouse_id.label("warehouse_id"),
               func.sum(TransferLine.qty_shipped - TransferLine.qty_received).label("in_transit"))
        .join(Transfer, Transfer.id == TransferLine.transfer_id)
        .where(Transfer.status.in_(OPEN_TRANSFER_STATUSES))
        .group_by(TransferLine.product_id, Transfer.to_warehouse_id)
        .subquery()
    )


def in_transit(warehouse: str | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Units shipped towards each warehouse and not received yet: ``[product_id, sku, warehouse,
    in_transit]``, only rows with something on the way."""
    transit = _in_transit_subquery()
    stmt = (
        select(transit.c.product_id, Product.sku, Warehouse.code, transit.c.in_transit)
        .join(Product, Product.id == transit.c.product_id)
        .join(Warehouse, Warehouse.id == transit.c.warehouse_id)
        .where(transit.c.in_transit > 0)
        .order_by(Warehouse.code, Product.sku)
    )
    if warehouse:
        stmt = stmt.where(Warehouse.code == warehouse)
    rows = _read(session, lambda s: s.execute(stmt).all())
    frame = pd.DataFrame(rows, columns=TRANSIT_COLUMNS)
    frame["in_transit"] = frame["in_transit"].astype(int)
    return frame


def stock_overview(warehouse: str | None = None, category: str | None = None, query: str = "",
                   below_safety_only: bool = False, include_cost: bool = False,
                   now: dt.datetime | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Stock by product × warehouse (active warehouses): on hand, reserved, available, in transit,
    safety stock, reorder point, average daily shipments over the last ``DEMAND_DAYS`` days and
    the days of cover that gives (available ÷ daily demand; NaN when nothing shipped).

    ``below_safety`` marks rows whose available stock is under a set safety stock. With
    ``include_cost`` (callers check ``cost.view``) the unit cost and stock value are added.
    """
    since = (now or utcnow()) - dt.timedelta(days=DEMAND_DAYS)
    shipped = (
        select(StockMovement.product_id, StockMovement.warehouse_id,
               func.sum(-StockMovement.qty_delta).label("shipped"))
        .where(StockMovement.kind == "shipment", StockMovement.at >= since)
        .group_by(StockMovement.product_id, StockMovement.warehouse_id)
        .subquery()
    )
    transit = _in_transit_subquery()
    available = StockLevel.on_hand - StockLevel.reserved
    stmt = (
        select(Product.id, Product.sku, Product.name, Product.category, Warehouse.code, StockLevel.on_hand,
               StockLevel.reserved, available.label("available"),
               func.coalesce(transit.c.in_transit, 0), StockLevel.safety_stock, StockLevel.reorder_point,
               func.coalesce(shipped.c.shipped, 0), Product.unit_cost)
        .join(Product, Product.id == StockLevel.product_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .outerjoin(shipped, and_(shipped.c.product_id == StockLevel.product_id,
                                 shipped.c.warehouse_id == StockLevel.warehouse_id))
        .outerjoin(transit, and_(transit.c.product_id == StockLevel.product_id,
                                 transit.c.warehouse_id == StockLevel.warehouse_id))
        .where(Warehouse.active.is_(True))
        .order_by(Product.sku, Warehouse.code)
    )
    if warehouse:
        stmt = stmt.where(Warehouse.code == warehouse)
    if category:
        stmt = stmt.where(Product.category == category)
    q = search_text(query)
    if q:
        stmt = stmt.where(or_(Product.sku.icontains(q, autoescape=True), Product.name.icontains(q, autoescape=True),
                              has_barcode(q)))
    if below_safety_only:
        stmt = stmt.where(StockLevel.safety_stock > 0, available < StockLevel.safety_stock)
    rows = _read(session, lambda s: s.execute(stmt).all())
    frame = pd.DataFrame(rows, columns=[*STOCK_COLUMNS[:9], "safety_stock", "reorder_point", "shipped", "unit_cost"])
    for col in ("on_hand", "reserved", "available", "in_transit", "safety_stock", "reorder_point", "shipped"):
        frame[col] = frame[col].astype(int)
    frame["daily_demand"] = (frame["shipped"] / DEMAND_DAYS).round(2)
    demand = frame["daily_demand"].where(frame["daily_demand"] > 0)
    frame["days_of_cover"] = (frame["available"].clip(lower=0) / demand).round(1)
    frame["below_safety"] = (frame["safety_stock"] > 0) & (frame["available"] < frame["safety_stock"])
    if include_cost:
        frame["stock_value"] = [None if c is None else Decimal(n) * c  # cost unknown: no value, not 0
                                for n, c in zip(frame["on_hand"], frame["unit_cost"], strict=True)]
        return frame[STOCK_COLUMNS + COST_COLUMNS]
    return frame[STOCK_COLUMNS]


def categories(*, session: Session | None = None) -> list[str]:
    """Product categories, for filters."""
    return _read(session, lambda s: list(s.execute(
        select(Product.category).distinct().order_by(Product.category)).scalars()))


def _reference():  # noqa: ANN202 - a SQL expression
    """The document a movement came from, as people know it (order, PO, transfer, return…)."""
    return case(
        (StockMovement.ref_type == "order", Order.number),
        (StockMovement.ref_type == "po", PurchaseOrder.number),
        (StockMovement.ref_type == "transfer", Transfer.number),
        (StockMovement.ref_type == "return", Return.number),
        (StockMovement.ref_type == "adjustment", literal("ADJ-") + cast(StockAdjustment.id, String)),
        # anything else (imports, ad hoc receipts): "import #12", or just the type when no id
        else_=func.coalesce(StockMovement.ref_type + literal(" #") + cast(StockMovement.ref_id, String),
                            StockMovement.ref_type),
    )


def _ledger_stmt(product_id: int, warehouse: str | None) -> Select[*tuple[Any, ...]]:
    """The one statement behind a product's movement list, its count and its full download:
    newest first, the id breaking ties so pages never overlap."""
    balance = func.sum(StockMovement.qty_delta).over(
        partition_by=StockMovement.warehouse_id, order_by=(StockMovement.at, StockMovement.id))
    ref_is = StockMovement.ref_type
    inner = (
        select(StockMovement.id, StockMovement.at, Warehouse.code.label("warehouse"), StockMovement.kind,
               StockMovement.qty_delta, balance.label("balance"), StockMovement.reason,
               _reference().label("reference"), StockMovement.actor)
        .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
        .outerjoin(Order, and_(ref_is == "order", Order.id == StockMovement.ref_id))
        .outerjoin(PurchaseOrder, and_(ref_is == "po", PurchaseOrder.id == StockMovement.ref_id))
        .outerjoin(Transfer, and_(ref_is == "transfer", Transfer.id == StockMovement.ref_id))
        .outerjoin(Return, and_(ref_is == "return", Return.id == StockMovement.ref_id))
        .outerjoin(StockAdjustment, and_(ref_is == "adjustment", StockAdjustment.id == StockMovement.ref_id))
        .where(StockMovement.product_id == product_id)
    )
    if warehouse:
        inner = inner.where(Warehouse.code == warehouse)
    sub = inner.subquery()  # the running balance is taken over all movements before paging
    return select(*sub.c).order_by(sub.c.at.desc(), sub.c.id.desc())


def product_ledger(product_id: int, warehouse: str | None = None, limit: int = 1000, offset: int = 0, *,
                   session: Session | None = None) -> pd.DataFrame:
    """One page (``offset``, ``limit``) of a product's movements, newest first, with the running
    balance per warehouse after each one, who posted it, why, and the document it came from.
    :func:`count_ledger` says how many there are, :func:`export_ledger` feeds them all."""
    stmt = _ledger_stmt(product_id, warehouse)
    return _read(session, lambda s: paging.page_rows(s, stmt, LEDGER_COLUMNS, offset, limit))


def count_ledger(product_id: int, warehouse: str | None = None, *, session: Session | None = None) -> int:
    """How many movements :func:`product_ledger` lists, exactly."""
    stmt = _ledger_stmt(product_id, warehouse)
    return _read(session, lambda s: paging.count_rows(s, stmt))


def export_ledger(product_id: int, sink: Callable[[pd.DataFrame], object], warehouse: str | None = None, *,
                  chunk_size: int = paging.EXPORT_CHUNK, session: Session | None = None) -> int:
    """Every movement :func:`product_ledger` lists, no cap, handed to ``sink`` in chunks from
    one snapshot; returns the number of rows."""
    stmt = _ledger_stmt(product_id, warehouse)
    return _read(session, lambda s: paging.feed_chunks(s, stmt, LEDGER_COLUMNS, sink, chunk_size))


def stock_over_time(product_id: int, days: int = 90, warehouse: str | None = None,
                    *, session: Session | None = None) -> pd.DataFrame:
    """End-of-day on hand per warehouse for the last ``days`` local days: ``[day, warehouse,
    on_hand]`` (every day present, so a chart has no gaps). Built from the ledger: the balance
    before the window plus the cumulative daily net movements."""
    start_day = local_today() - dt.timedelta(days=days - 1)
    start = local_day_start_utc(start_day)
    wh_filter = Warehouse.code == warehouse if warehouse else true()

    def query(s: Session) -> tuple[Sequence[Any], Sequence[Any]]:
        opening = s.execute(
            select(Warehouse.code, func.sum(StockMovement.qty_delta))
            .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
            .where(StockMovement.product_id == product_id, StockMovement.at < start, wh_filter)
            .group_by(Warehouse.code)).all()
        moves = s.execute(
            select(StockMovement.at, Warehouse.code, StockMovement.qty_delta)
            .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
            .where(StockMovement.product_id == product_id, StockMovement.at >= start, wh_filter)).all()
        return opening, moves

    opening, moves = _read(session, query)
    day_index = pd.date_range(start_day, periods=days, freq="D").date
    base = {code: int(qty or 0) for code, qty in opening}
    frame = pd.DataFrame(moves, columns=["at", "warehouse", "qty_delta"])
    if not frame.empty:
        local = pd.to_datetime(frame["at"]).dt.tz_localize("UTC").dt.tz_convert(shop_tz())
        frame["day"] = local.dt.date
    warehouses = sorted(set(base) | set(frame["warehouse"]))
    out = []
    for code in warehouses:
        daily = (frame[frame["warehouse"] == code].groupby("day")["qty_delta"].sum()
                 if not frame.empty else pd.Series(dtype=int))
        running = base.get(code, 0) + daily.reindex(day_index, fill_value=0).cumsum()
        out.append(pd.DataFrame({"day": day_index, "warehouse": code, "on_hand": running.astype(int).values}))
    if not out:
        return pd.DataFrame(columns=["day", "warehouse", "on_hand"])
    return pd.concat(out, ignore_index=True)


def count_sheet(warehouse: str, category: str | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """What the system expects on the shelf: on hand per active product stocked in
    ``warehouse`` (optionally one category), the starting point of a cycle count."""
    stmt = (
        select(Product.id, Product.sku, Product.barcode, Product.name, Product.category, StockLevel.on_hand,
               StockLevel.reserved)
        .join(StockLevel, StockLevel.product_id == Product.id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(Warehouse.code == warehouse, Product.active.is_(True))
        .order_by(Product.category, Product.sku)
    )
    if category:
        stmt = stmt.where(Product.category == category)
    rows = _read(session, lambda s: s.execute(stmt).all())
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


RECEIVABLE_PO_STATUSES = ("sent", "partial")
PO_COLUMNS = ["id", "number", "supplier", "warehouse", "status", "expected_at", "lines", "qty_ordered",
              "qty_received"]
PO_LINE_COLUMNS = ["id", "sku", "name", "qty_ordered", "qty_received", "outstanding"]


def receivable_purchase_orders(warehouse: str | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Purchase orders goods can be received against (sent or partly received), oldest
    expected first, with their ordered and received unit totals."""
    totals = (select(POLine.po_id, func.count().label("lines"), func.sum(POLine.qty_ordered).label("ordered"),
                     func.sum(POLine.qty_received).label("received"))
              .group_by(POLine.po_id).subquery())
    stmt = (
        select(PurchaseOrder.id, PurchaseOrder.number, Supplier.name, Warehouse.code, PurchaseOrder.status,
               PurchaseOrder.expected_at, totals.c.lines, totals.c.ordered, totals.c.received)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
        .join(totals, totals.c.po_id == PurchaseOrder.id)
        .where(PurchaseOrder.status.in_(RECEIVABLE_PO_STATUSES))
        .order_by(PurchaseOrder.expected_at, PurchaseOrder.id)
    )
    if warehouse:
        stmt = stmt.where(Warehouse.code == warehouse)
    return pd.DataFrame(_read(session, lambda s: s.execute(stmt).all()), columns=PO_COLUMNS)


def purchase_order_lines(po_id: int, *, session: Session | None = None) -> pd.DataFrame:
    """A purchase order's lines with what is still outstanding (the receiving sheet)."""
    stmt = (
        select(POLine.id, Product.sku, Product.name, POLine.qty_ordered, POLine.qty_received,
               (POLine.qty_ordered - POLine.qty_received).label("outstanding"))
        .join(Product, Product.id == POLine.product_id)
        .where(POLine.po_id == po_id).order_by(Product.sku, POLine.id)
    )
    return pd.DataFrame(_read(session, lambda s: s.execute(stmt).all()), columns=PO_LINE_COLUMNS)
