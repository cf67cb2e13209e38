"""Writing validated orders: history in bulk, open orders through order entry's batch path.

*Open* orders (not yet shipped in the source) must behave exactly like entered ones —
numbering, reservation or backorder, review rules, alerts, audit — so they go through
:func:`core.services.orders.batch.create_orders` inside the import's transaction: the
decisions ``create_order`` would make for them one after the other in file order, written
set-wise (a 双11 export holds 100,000 of them).

*History* (shipped, delivered, completed, cancelled in the source) keeps its timestamps and
status and must not touch today's stock, so it is written set-wise with Core inserts: orders,
lines and one timeline event each, numbered from one bulk reservation of the ``SO`` sequence.
That path writes tens of thousands of lines per second; the rows it gets have passed the
import's validation suite, and it still applies the order rulebook itself
(:func:`_check_rulebook`) so no caller can store what order entry would refuse. Only when the user asks
(``deduct_stock``) do shipped history lines post ``shipment`` movements through the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from core import stock
from core.domain import payments, rulebook, totals
from core.domain.rules import first_action
from core.errors import (
    Conflict,
    FieldIssue,
    Message,
    OMSError,
    ValidationError,
    stored,
)
from core.geo import normalise_province, region_of
from core.importing.bulk import Cents, Same, insert_columns, one_of, reserve_ids
from core.models import Order, OrderEvent, OrderLine, Payment, Product, StockLevel
from core.numbering import reserve_values
from core.permissions import Actor
from core.refdata import RefData
from core.services.orders import LineInput, OrderInput
from core.services.orders.batch import create_orders
from core.timeutil import shop_tz, utcnow

SHIPPED = ("shipped", "delivered", "completed")
_O, _L, _E = Order.__table__, OrderLine.__table__, OrderEvent.__table__

Progress = Callable[[float], None]


def _money(cents: float) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


def _opt(value: Any) -> Any:
    """pandas missing values (NaN, NaT, None) → None for the database."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def order_heads(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per order (its first line's row), in file order."""
    return rows.drop_duplicates("_okey", keep="first")


def per_line(rows: pd.DataFrame, per_order: list[Any]) -> np.ndarray:
    """``per_order`` (aligned with :func:`order_heads`) spread over the lines of each order:
    orders are numbered in order of first appearance, as ``order_heads`` keeps them, so this
    is one array take instead of a dict look-up per line."""
    positions, _ = pd.factorize(rows["_okey"])
    spread: np.ndarray = np.asarray(per_order)[positions]
    return spread


def _warehouses(heads: pd.DataFrame, ref: RefData) -> list[int]:
    """History is placed where it shipped from: the file's warehouse, else the allocation
    rules by region, else the cheapest warehouse — no availability check (stock is untouched)."""
    ranked = sorted(ref.warehouses.values(), key=lambda w: (w.ship_cost, w.code))
    by_region: dict[tuple[str | None, str], int] = {}
    out = []
    for wh_code, province, channel in zip(heads["warehouse_v"], heads["province"], heads["channel_v"], strict=True):
        if isinstance(wh_code, str) and wh_code in ref.warehouses:
            out.append(ref.warehouses[wh_code].id)
            continue
        key = (province if isinstance(province, str) else None, channel)
        if key not in by_region:
            short = normalise_province(key[0])
            code, _ = first_action(ref.rules["allocation"],
                                   {"province": short, "region": region_of(short), "channel": channel}, "warehouse")
            by_region[key] = ref.warehouses[code].id if code in ref.warehouses else ranked[0].id
        out.append(by_region[key])
    return out


@dataclass(frozen=True)
class HistoryResult:
    orders: int
    lines: int
    movements: int


def _values(series: pd.Series) -> list[Any]:
    """A column as Python values with None for every kind of missing (NaN, NaT, None)."""
    return list(series.astype(object).where(series.notna(), None).tolist())


# Rulebook header field → staged column of the history frame.
_HEADER_COLUMNS = {
    "status": "_target", "payment_status": "payment_status_v", "payment_method": "payment_method_v",
    "delivery_method": "delivery_method_v", "customer_name": "customer_name", "province": "province",
    "city": "city", "district": "district", "address": "address", "external_ref": "external_ref",
    "carrier": "carrier", "tracking_no": "tracking_no", "note": "note", "placed_at": "placed_at_v",
}


def _check_rulebook(heads: pd.DataFrame, rows: pd.DataFrame, now: dt.datetime) -> None:
    """Refuse the write (ValidationError naming file row and field) when any order or line
    breaks the order rulebook: its vectorised screen finds the suspects, its own checks say why."""
    issues: list[FieldIssue] = []
    header = heads[list(_HEADER_COLUMNS.values())].set_axis(list(_HEADER_COLUMNS), axis=1)
    suspects = heads[rulebook.screen_headers(header, now).to_numpy()]
    for row, record in zip(suspects["_row"], header.loc[suspects.index].to_dict("records"), strict=True):
        present = {name: _opt(v) for name, v in record.items() if _opt(v) is not None}  # missing → default
        issues += [replace(i, row=int(row)) for i in rulebook.validate_header(present, now)]
    lines = rows[rulebook.screen_lines(rows["qty_v"], rows["_unit_price"], rows["_disc"]).to_numpy()]
    for r in lines[["_row", "qty_v", "_unit_price", "_disc"]].to_dict("records"):
        price, discount = ((_money(c) if np.isfinite(c) else c) for c in (r["_unit_price"], r["_disc"]))
        line = {"qty": r["qty_v"], "unit_price": price, "discount": discount}
        issues += rulebook.validate_line(line, int(r["_row"]))[1]
    if not issues:  # whole numbers of cents from here on (the screens above bound them)
        line_sums = rows.groupby("_okey", sort=False)["_line_total"].sum(min_count=1).reindex(heads["_okey"])
        amounts = [heads[c].to_numpy(dtype="float64") for c in ("_subtotal", "_order_disc", "_shipping", "_total")]
        amounts.append(line_sums.to_numpy(dtype="float64"))
        known = np.logical_and.reduce([np.isfinite(a) for a in amounts])
        adds_up = known & totals.totals_add_up(*(np.rint(np.where(known, a, 0)) for a in amounts))
        issues += [FieldIssue("total", "issue.totals", int(row)) for row in heads["_row"][~adds_up]]
    if issues:
        raise ValidationError(issues)


def write_history(session: Session, rows: pd.DataFrame, *, actor: Actor, ref: RefData, note: Message,
                  product_ids: dict[str, int], deduct_stock: bool, progress: Progress) -> HistoryResult:
    """Bulk-insert historical orders (``rows``: validated lines with ``customer_id``)."""
    if rows.empty:
        return HistoryResult(0, 0, 0)
    heads = order_heads(rows)
    _check_rulebook(heads, rows, utcnow())
    conn = session.connection()
    n = len(heads)
    now = utcnow()
    counters = reserve_values(session, "SO", n)
    local_day = heads["placed_at_v"].dt.tz_localize("UTC").dt.tz_convert(shop_tz().key).dt.strftime("%Y%m%d").tolist()
    numbers = [f"SO{day}-{c:06d}" for day, c in zip(local_day, counters, strict=True)]
    wh_ids = _warehouses(heads, ref)
    status = heads["_target"]
    cancelled, shipped = status.eq("cancelled"), status.isin(SHIPPED)
    placed = heads["placed_at_v"]
    ship_at, delivered_at = heads["shipped_at_v"], heads["delivered_at_v"]
    due = placed + pd.Timedelta(hours=int(ref.setting("order_due", "hours", 48)))
    paid = heads["payment_status_v"].where(heads["payment_status_v"].notna(), status.map(
        lambda st: "unpaid" if st == "cancelled" else "paid"))
    channel_ids = {c.code: c.id for c in ref.channels.values()}
    order_ids = reserve_ids(conn, _O, n)
    insert_columns(conn, _O, {
        "id": order_ids, "number": numbers, "channel_id": heads["channel_v"].map(channel_ids).tolist(),
        "external_ref": heads["external_ref"].tolist(), "customer_id": _values(heads["customer_id"]),
        "status": status.tolist(), "payment_status": paid.tolist(),
        "payment_method": _values(heads["payment_method_v"]),
        "delivery_method": heads["delivery_method_v"].fillna("express").tolist(),
        "ship_name": _values(heads["customer_name"]), "ship_phone": _values(heads["phone_v"]),
        "ship_province": heads["province"].map(
            {v: normalise_province(v) for v in heads["province"].dropna().unique()}),
        "ship_city": _values(heads["city"]), "ship_district": _values(heads["district"]),
        "ship_address": _values(heads["address"]), "warehouse_id": wh_ids, "priority": Same(0),
        "subtotal": Cents(heads["_subtotal"]), "discount": Cents(heads["_order_disc"]),
        "shipping_fee": Cents(heads["_shipping"]), "total": Cents(heads["_total"]), "placed_at": placed,
        "approved_at": heads["approved_at_v"].where(heads["approved_at_v"].notna(), placed).where(~cancelled),
        "shipped_at": ship_at.where(shipped),
        "delivered_at": delivered_at.where(status.isin(("delivered", "completed"))),
        "completed_at": delivered_at.where(delivered_at.notna(), ship_at).where(status.eq("completed")),
        "cancelled_at": heads["cancelled_at_v"].where(heads["cancelled_at_v"].notna(), placed).where(cancelled),
        "due_by": due, "carrier": _values(heads["carrier"]), "tracking_no": _values(heads["tracking_no"]),
        "note": _values(heads["note"]), "created_by": Same(actor.username), "updated_at": Same(now),
        "version": Same(1),
    })
    progress(0.4)
    line_orders = pd.Series(per_line(rows, order_ids), index=rows.index)
    line_shipped = rows["_target"].isin(SHIPPED)
    qty = rows["qty_v"].astype("int64")
    line_wh = per_line(rows, wh_ids).tolist()
    line_product = rows["sku"].map(product_ids).tolist()
    shares = totals.discount_shares_cents(pd.factorize(rows["_okey"])[0], np.rint(rows["_line_total"].to_numpy()),
                                          np.rint(heads["_order_disc"].to_numpy()))
    insert_columns(conn, _L, {
        "order_id": line_orders.tolist(), "line_no": (rows.groupby("_okey", sort=False).cumcount() + 1).tolist(),
        "product_id": line_product, "qty": qty.tolist(),
        "unit_price": Cents(rows["_unit_price"]), "discount": Cents(rows["_disc"]),
        "line_total": Cents(rows["_line_total"]), "discount_share": Cents(pd.Series(shares)),
        "warehouse_id": line_wh, "qty_reserved": Same(0),
        "qty_shipped": qty.where(line_shipped, 0).tolist(), "qty_returned": Same(0),
        "unit_cost": _costs_at_shipping(conn, line_product, line_shipped),
    })
    progress(0.85)
    _write_payments(conn, heads, paid, order_ids, actor)
    insert_columns(conn, _E, {
        "order_id": order_ids, "at": placed, "actor": Same(actor.username), "from_status": Same(None),
        "to_status": status.tolist(), **{k: Same(v) for k, v in stored("note", note).items()},
    })
    movements = 0
    if deduct_stock:
        lines = pd.DataFrame({"order_id": line_orders, "product_id": line_product, "warehouse_id": line_wh,
                              "qty": qty.where(line_shipped, 0)})
        movements = _deduct(session, lines, dict(zip(order_ids, numbers, strict=True)), actor)
    progress(1.0)
    return HistoryResult(n, len(rows), movements)


def _costs_at_shipping(conn: Connection, product_ids: list[int], shipped: pd.Series) -> list[Decimal | None]:
    """Each shipped line's cost of goods, as shipping records it: the product's unit cost now."""
    costs = dict(conn.execute(select(Product.id, Product.unit_cost).where(
        one_of(conn, Product.id, sorted(set(product_ids))))).all())
    return [costs.get(pid) if ship else None for pid, ship in zip(product_ids, shipped.tolist(), strict=True)]


def _write_payments(conn: Connection, heads: pd.DataFrame, paid: pd.Series, order_ids: list[int], actor: Actor) -> None:
    """One payment row of the whole total per order the history says was paid (as order entry
    writes, :func:`core.domain.payments.entry_payment`); settlement matching finds it by the
    order's channel reference."""
    received = (paid.isin(payments.RECEIVED_AT_ENTRY) & heads["_total"].gt(0)).to_numpy()
    if not received.any():
        return
    chosen = heads[received]
    insert_columns(conn, Payment.__table__, {
        "order_id": [i for i, keep in zip(order_ids, received, strict=True) if keep],
        "kind": Same("payment"), "method": _values(chosen["payment_method_v"]),
        "provider_ref": Same(None), "amount": Cents(chosen["_total"]), "fee": Same(0),
        "at": chosen["placed_at_v"], "status": Same("succeeded"), "refund_id": Same(None),
        "created_by": Same(actor.username),
    })


def shortfalls(session: Session, rows: pd.DataFrame, ref: RefData, product_ids: dict[str, int]) -> dict[str, str]:
    """Orders whose shipped lines the current stock cannot cover (``deduct_stock``), as
    ``{order key: "SKU @ WH: need n, available m"}``; orders are served in the order they were
    placed. Read in the write transaction; the ledger's conditional UPDATE stays the guard."""
    heads = order_heads(rows)
    wh_of = dict(zip(heads["_okey"], _warehouses(heads, ref), strict=True))
    shipped = rows[rows["_target"].isin(SHIPPED)].sort_values("placed_at_v", kind="stable")
    if shipped.empty:
        return {}
    pids = sorted({product_ids[s] for s in shipped["sku"]})
    levels = StockLevel.__table__
    avail = {(r.product_id, r.warehouse_id): r.on_hand - r.reserved
             for r in session.execute(levels.select().where(one_of(session.connection(), levels.c.product_id, pids)))}
    codes = {w.id: w.code for w in ref.warehouses.values()}
    failed: dict[str, str] = {}
    for key, group in shipped.groupby("_okey", sort=False):
        need: dict[tuple[int, int], int] = {}
        for sku, q in zip(group["sku"], group["qty_v"], strict=True):
            k = (product_ids[sku], wh_of[key])
            need[k] = need.get(k, 0) + int(q)
        short = [(k, q) for k, q in need.items() if avail.get(k, 0) < q]
        if short:
            sku_of = {product_ids[s]: s for s in group["sku"]}
            failed[str(key)] = "; ".join(f"{sku_of[p]} @ {codes[w]}: need {q}, available {avail.get((p, w), 0)}"
                                         for (p, w), q in short)
            continue
        for k, q in need.items():
            avail[k] -= q
    return failed


def _deduct(session: Session, lines: pd.DataFrame, numbers: dict[int, str], actor: Actor) -> int:
    """Post a ``shipment`` movement per shipped history line, in (product, warehouse) order."""
    posted = 0
    for r in lines[lines["qty"] > 0].sort_values(["product_id", "warehouse_id", "order_id"]).itertuples(index=False):
        ok = stock.post_movement(session, product_id=int(r.product_id), warehouse_id=int(r.warehouse_id),
                                 qty_delta=-int(r.qty), kind="shipment", actor=actor.username,
                                 reason=numbers[int(r.order_id)], ref_type="order", ref_id=int(r.order_id))
        if not ok:  # stock moved between the check and now (another writer): refuse the import
            raise Conflict.coded("imp.stock_changed")
        posted += 1
    return posted


@dataclass(frozen=True)
class OpenResult:
    created: dict[str, str]  # order key → status
    failed: dict[str, str]  # order key → reason (quarantine mode only)


# the staged header columns of an open order (:func:`_order_input`)
_OPEN_HEAD = ("channel_v", "customer_name", "phone_v", "email_v", "customer_id", "province", "city", "district",
              "address", "payment_method_v", "payment_status_v", "approved_at_v", "delivery_method_v", "_shipping",
              "_order_disc", "order_total_v", "warehouse_v", "external_ref", "note", "placed_at_v")


def _order_input(lines: list[LineInput], h: dict[str, Any]) -> OrderInput:
    """The validated rows of one open order (its lines, its header's values with None for
    missing) as the input ``create_order`` takes (a walk-in sale — no customer detail in the
    file — has no customer id)."""
    return OrderInput(
        channel=h["channel_v"], lines=lines, customer_name=h["customer_name"] or "", phone=h["phone_v"],
        email=h["email_v"], customer_id=h["customer_id"], walk_in=h["customer_id"] is None, province=h["province"],
        city=h["city"], district=h["district"], address=h["address"], payment_method=h["payment_method_v"],
        payment_status=h["payment_status_v"] or ("paid" if h["approved_at_v"] is not None else "unpaid"),
        delivery_method=h["delivery_method_v"] or "express", shipping_fee=_money(h["_shipping"]),
        discount=_money(h["_order_disc"]),
        expected_total=_money(h["order_total_v"]) if h["order_total_v"] is not None else None,
        warehouse=h["warehouse_v"], external_ref=h["external_ref"], note=h["note"], allow_backorder=True,
        require_address=False, placed_at=h["placed_at_v"],
    )


def _open_inputs(rows: pd.DataFrame) -> tuple[list[str], list[OrderInput]]:
    """Order keys and inputs in file order, built column by column (a 双11 export has 100,000
    orders: a dict per row of a hundred-column frame cost more than creating the orders)."""
    heads = order_heads(rows)
    columns = {name: _values(heads[name]) for name in _OPEN_HEAD}
    columns["placed_at_v"] = [None if t is None else t.to_pydatetime() for t in columns["placed_at_v"]]
    lines: list[list[LineInput]] = [[] for _ in range(len(heads))]
    positions, _ = pd.factorize(rows["_okey"])  # order_heads keeps orders in order of first appearance
    money: dict[float, Decimal] = {}  # prices repeat: one Decimal per distinct amount
    for pos, sku, qty, price, discount in zip(positions.tolist(), rows["sku"].tolist(), rows["qty_v"].tolist(),
                                              rows["_unit_price"].tolist(), rows["_disc"].tolist(), strict=True):
        unit = money[price] if price in money else money.setdefault(price, _money(price))
        off = money[discount] if discount in money else money.setdefault(discount, _money(discount))
        lines[pos].append(LineInput(sku, int(qty), unit, off))
    inputs = [_order_input(order_lines, {name: columns[name][i] for name in _OPEN_HEAD})
              for i, order_lines in enumerate(lines)]
    return [str(k) for k in heads["_okey"].tolist()], inputs


def write_open(session: Session, rows: pd.DataFrame, *, actor: Actor, quarantine: bool,
               progress: Progress) -> OpenResult:
    """Create every open order as ``create_order`` would, one after the other in file order,
    through the batch path (:func:`core.services.orders.batch.create_orders`: the same
    decisions, set-wise writes). In quarantine mode a refused order (and only it) is left out
    and reported; otherwise the first refusal aborts the whole import."""
    if rows.empty:
        return OpenResult({}, {})
    keys, inputs = _open_inputs(rows)
    results = create_orders(inputs, actor, quarantine=quarantine, progress=progress, session=session)
    created: dict[str, str] = {}
    failed: dict[str, str] = {}
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, OMSError):
            failed[key] = _reason(result)
        else:
            created[key] = result.status
    return OpenResult(created, failed)


def _reason(exc: OMSError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join((f"line {i.row}: " if i.row else "") + f"{i.field}: {i.english()}" for i in exc.issues)
    return exc.message
