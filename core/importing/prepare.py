"""Everything an import decides before writing: read, stage, look up, validate, judge.

:func:`prepare` runs in a read-only transaction (no write lock is held while GX validates) and
returns a :class:`Prepared`: the derived frame, every issue (structural, from the validation
suite, informational), and which *units* failed — an order (all its lines) for order imports,
a single row otherwise. The write phase re-checks only what another writer could have changed
meanwhile (orders imported concurrently) under its own lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import barcodes, refdata
from core.domain import rulebook
from core.importing import orders as order_rules
from core.importing.bulk import one_of
from core.importing.fields import FIELDS, ORDER_TARGETS, SETTLEMENT_KINDS, SETTLEMENT_SKIP, TIERS, spec
from core.importing.identity import chunks
from core.importing.issues import Issue
from core.importing.profile import Profile
from core.importing.stage import Staged, stage
from core.models import Channel, Order, Product, SettlementLine, StockLevel, StockMovement, Warehouse
from core.refdata import RefData
from expectations import imports as suites
from expectations.runner import SuiteResult, validate

ON_ERROR = ("reject", "quarantine")


@dataclass(frozen=True)
class ImportOptions:
    """What the user chose for one import (page form or CLI flags)."""

    kind: str
    profile: Profile
    channel: str | None = None  # orders/customers: channel for rows that do not name one
    warehouse: str | None = None  # stock: warehouse for rows that do not name one
    on_error: str = "reject"  # reject: any error → nothing written; quarantine: write the valid units
    dry_run: bool = False
    create_missing_products: bool = False  # orders: unknown SKUs become products
    repeated_lines: str | None = None  # orders: identical lines → sum | number (None: the profile's)
    deduct_stock: bool = False  # orders: shipped history posts shipment movements


@dataclass
class Prepared:
    options: ImportOptions
    staged: Staged
    frame: pd.DataFrame  # derived rows still in play (positional index = ``_i``)
    issues: list[Issue]
    suite: SuiteResult | None
    ref: RefData
    skipped_rows: int = 0
    lookups: dict[str, Any] = field(default_factory=dict)

    @property
    def unit_column(self) -> str:
        return "_okey" if self.options.kind == "orders" else "_unit"

    def failed_units(self) -> set[str]:
        """Units with an error: from the suite (by row) and structural issues (by source row)."""
        failed = set(self.frame.loc[self.frame["_error"], self.unit_column])
        struct = {(i.file, i.row) for i in self.issues if i.severity == "error" and i.code in STRUCTURAL}
        if struct:
            by_line = [(f, r) in struct for f, r in zip(self.frame["_file"], self.frame["_row"], strict=True)]
            by_head = [(f, r) in struct for f, r in zip(self.frame["_ofile"], self.frame["_orow"], strict=True)]
            hit = np.array(by_line) | np.array(by_head)
            failed |= set(self.frame.loc[hit, self.unit_column])
        return failed


STRUCTURAL = ("missing_lookup",)  # structural issues about rows that are still in the frame


def without(frame: pd.DataFrame, drop: pd.Series) -> pd.DataFrame:
    """``frame`` minus the rows of ``drop`` — the same frame, uncopied, when none are dropped
    (a 100k-line order file is a hundred columns wide)."""
    return frame[~drop] if drop.any() else frame


def _source_column(profile: Profile, name: str) -> str | None:
    if name in profile.columns:
        return profile.columns[name]
    return "(constant)" if name in profile.constants else None


def suite_issues(result: SuiteResult, frame: pd.DataFrame, profile: Profile) -> tuple[list[Issue], np.ndarray]:
    """The suite's failing rows as issues (value = the source text of the field), and a mask
    of rows with an *error*."""
    issues: list[Issue] = []
    error = np.zeros(len(frame), dtype=bool)
    names = {f.name for f in FIELDS[profile.kind]}
    for r in result.failed():
        if r.failing.empty:
            continue
        positions = r.failing["_i"].astype(int).to_numpy()
        if r.severity == "error":
            error[positions] = True
        level = spec(profile.kind, r.field).level if r.field in names else "line"
        file_col, row_col = ("_ofile", "_orow") if level == "order" else ("_file", "_row")
        sub = frame.iloc[positions]
        value_col = r.field if r.field in frame.columns else None
        detail_col = r.detail if r.detail in frame.columns else None
        column = _source_column(profile, r.field)
        refs = sub["external_ref"] if "external_ref" in sub.columns and profile.kind == "orders" else None
        for k in range(len(sub)):
            value = sub[value_col].iat[k] if value_col else None
            detail = sub[detail_col].iat[k] if detail_col else ""
            issues.append(Issue(
                r.code, r.field, str(sub[file_col].iat[k]), int(sub[row_col].iat[k]), column,
                None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value),
                "" if detail is None or (not isinstance(detail, str) and pd.isna(detail)) else str(detail),
                r.severity, None if refs is None else refs.iat[k],
            ))
    unique = list(dict.fromkeys(issues))  # an order-level issue repeats on each line of the order
    return unique, error


# --- lookups ---------------------------------------------------------------------------------


def _products(session: Session, skus: set[str]) -> dict[str, order_rules.ProductRow]:
    stmt = select(Product.sku, Product.id, Product.unit_price, Product.active).where(
        one_of(session.connection(), Product.sku, sorted(skus)))
    return {r.sku: order_rules.ProductRow(r.id, int(round(r.unit_price * 100)), bool(r.active))
            for r in session.execute(stmt)}


def stock_levels(session: Session, product_ids: list[int]) -> dict[tuple[int, int], tuple[int, int, bool]]:
    """(product, warehouse) → (on_hand, reserved, has ledger history) for ``product_ids``."""
    levels: dict[tuple[int, int], tuple[int, int, bool]] = {}
    moved: set[tuple[int, int]] = set()
    for part in chunks(sorted(set(product_ids))):
        moved.update(session.execute(
            select(StockMovement.product_id, StockMovement.warehouse_id).where(StockMovement.product_id.in_(part))
            .distinct()).all())
        for r in session.execute(select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand,
                                         StockLevel.reserved).where(StockLevel.product_id.in_(part))):
            levels[(r.product_id, r.warehouse_id)] = (r.on_hand, r.reserved, False)
    return {k: (on, res, k in moved) for k, (on, res, _) in levels.items()} | {
        k: (0, 0, True) for k in moved if k not in levels}


def existing_orders(session: Session, frame: pd.DataFrame, ref: RefData) -> dict[str, str]:
    """``{order key: order number}`` for the orders of ``frame`` already in the database."""
    pairs = frame[["channel_v", "external_ref"]].dropna().drop_duplicates()
    found: dict[str, str] = {}
    for channel, refs in pairs.groupby("channel_v", sort=False)["external_ref"]:
        if channel not in ref.channels:
            continue
        stmt = select(Order.external_ref, Order.number).where(
            Order.channel_id == ref.channels[channel].id, one_of(session.connection(), Order.external_ref, refs))
        for r in session.execute(stmt):
            found[f"{channel}{order_rules.KEY_SEP}{r.external_ref}"] = r.number
    return found


def _sku_known_flag(skus: pd.Series, known: set[str]) -> pd.Series:
    """The suites' ``_sku_known`` flag: the SKU is in ``known``, or empty (reported as missing
    by the ``required`` check instead, as a GX set check skips empty cells)."""
    return (skus.isna() | skus.isin(known)).astype(bool)


def _info_per_order(frame: pd.DataFrame, mask: pd.Series, code: str, field_: str,
                    detail: dict[str, str]) -> list[Issue]:
    """One informational issue per order of ``mask`` (on its header row), value = ``field_``."""
    heads = frame[mask].drop_duplicates("_okey")
    return [Issue(code, field_, str(f), int(r), None, None if v is None else str(v), detail.get(k, ""), "info", ref)
            for f, r, v, k, ref in zip(heads["_ofile"], heads["_orow"], heads[field_], heads["_okey"],
                                       heads["external_ref"], strict=True)]


# --- per kind --------------------------------------------------------------------------------


def _orders(session: Session, staged: Staged, options: ImportOptions, ref: RefData, now: dt.datetime) -> Prepared:
    profile = options.profile
    frame = order_rules.add_keys(staged.frame, profile, options.channel)
    skip = frame["_target"].eq("skip")
    issues = list(staged.issues) + _info_per_order(frame, skip, "skipped_status", "status", {})
    frame = without(frame, skip)
    existing = existing_orders(session, frame, ref)
    already = frame["_okey"].isin(set(existing))
    issues += _info_per_order(frame, already, "already_imported", "external_ref", existing)
    skipped = int(skip.sum() + already.sum())
    frame = without(frame, already)
    frame, merged = order_rules.repeated_lines(frame, profile, options.repeated_lines or profile.repeated_lines)
    issues += [Issue("lines_summed", "qty", str(f), int(r), profile.columns.get("qty"), str(q), str(into), "info",
                     ref)
               for f, r, ref, into, q in zip(merged["_file"], merged["_row"], merged["external_ref"],
                                            merged["into_row"], merged["qty"], strict=True)]
    products = _products(session, set(frame["sku"].dropna()))
    frame = order_rules.derive(frame, profile, products, now).reset_index(drop=True)
    known = set(products) | (set(frame["sku"].dropna()) if options.create_missing_products else set())
    frame["_sku_known"] = _sku_known_flag(frame["sku"], known)
    mapped = set(profile.columns) | set(profile.constants)
    builder = suites.order_suite(fields=FIELDS["orders"], mapped=mapped, channels=ref.channels,
                                 warehouses=ref.warehouses, targets=ORDER_TARGETS)
    return _judge(Prepared(options, staged, frame, issues, None, ref, skipped, {"products": products}),
                  "import.orders", builder)


def _products_kind(session: Session, staged: Staged, options: ImportOptions, ref: RefData) -> Prepared:
    frame = staged.frame.copy(deep=False)
    skus = set(frame["sku"].dropna())
    existing = {r.sku: r.id for r in session.execute(select(Product.sku, Product.id).where(
        Product.sku.in_(sorted(skus))))} if skus else {}
    owners = barcodes.owners(session, frame["barcode"].dropna())  # any barcode of any product
    new = ~frame["sku"].isin(set(existing))
    frame["_dup"] = frame["sku"].notna() & frame.duplicated("sku", keep=False)
    frame["_new_without_name"] = new & frame["sku"].notna() & frame["name"].isna()
    frame["_new_without_price"] = new & frame["sku"].notna() & frame["unit_price_v"].isna()
    frame["_barcode_dup"] = frame["barcode"].notna() & frame.duplicated("barcode", keep=False)
    frame["_barcode_taken"] = [owners.get(b) if isinstance(b, str) and owners.get(b) not in (None, s) else None
                               for b, s in zip(frame["barcode"], frame["sku"], strict=True)]
    for name in ("pack_size", "lead_time_days"):
        frame[f"_{name}_frac"] = frame[f"{name}_v"] % 1
    mapped = set(options.profile.columns) | set(options.profile.constants)
    return _judge(Prepared(options, staged, frame, list(staged.issues), None, ref, 0, {"existing": existing}),
                  "import.products", suites.product_suite(fields=FIELDS["products"], mapped=mapped))


def _stock(session: Session, staged: Staged, options: ImportOptions, ref: RefData) -> Prepared:
    frame = staged.frame.copy(deep=False)
    products = _products(session, set(frame["sku"].dropna()))
    frame["product_id"] = frame["sku"].map(lambda s: products[s].id if s in products else None)
    frame["warehouse_id"] = frame["warehouse_v"].map(lambda c: ref.warehouses[c].id if c in ref.warehouses else None)
    frame["_qty_frac"] = frame["qty_v"] % 1
    frame["_dup"] = frame["sku"].notna() & frame.duplicated(["sku", "warehouse_v"], keep=False)
    levels = stock_levels(session, [int(p) for p in frame["product_id"].dropna()])
    reserved = [levels.get((p, w), (0, 0, False))[1] if p is not None and w is not None else 0
                for p, w in zip(frame["product_id"], frame["warehouse_id"], strict=True)]
    frame["_reserved_over"] = [str(r) if r and q == q and q < r else None
                               for r, q in zip(reserved, frame["qty_v"], strict=True)]
    mapped = set(options.profile.columns) | set(options.profile.constants)
    frame["_sku_known"] = _sku_known_flag(frame["sku"], set(products))
    builder = suites.stock_suite(fields=FIELDS["stock"], mapped=mapped, warehouses=ref.warehouses)
    return _judge(Prepared(options, staged, frame, list(staged.issues), None, ref), "import.stock", builder)


def _customers(staged: Staged, options: ImportOptions, ref: RefData) -> Prepared:
    frame = staged.frame.copy(deep=False)
    frame["channel_v"] = frame["channel_v"].where(frame["channel_v"].notna(), options.channel)
    frame["_has_key"] = frame["phone_v"].notna() | frame["email_v"].notna() | frame["buyer_id"].notna()
    frame["_buyer_without_channel"] = frame["buyer_id"].notna() & frame["channel_v"].isna()
    mapped = set(options.profile.columns) | set(options.profile.constants) | ({"channel"} if options.channel else set())
    builder = suites.customer_suite(fields=FIELDS["customers"], mapped=mapped, channels=ref.channels, tiers=TIERS)
    return _judge(Prepared(options, staged, frame, list(staged.issues), None, ref), "import.customers", builder)


def _settlements(session: Session, staged: Staged, options: ImportOptions, ref: RefData, now: dt.datetime) -> Prepared:
    """Statement lines: the channel from the file or the import's option; a line stored by an
    earlier import of the same statement (same channel, kind, reference, time and amount) is
    skipped and said so, so importing a statement twice never looks like a double payout."""
    skip = staged.frame["kind_v"].eq(SETTLEMENT_SKIP).fillna(False).astype(bool)
    skipped = [Issue("skipped_status", "kind", str(f), int(r), options.profile.columns.get("kind"), str(v), "", "info",
                     None) for f, r, v in zip(staged.frame.loc[skip, "_file"], staged.frame.loc[skip, "_row"],
                                               staged.frame.loc[skip, "kind"], strict=True)]
    frame = without(staged.frame, skip).copy(deep=False)
    frame["channel_v"] = frame["channel_v"].where(frame["channel_v"].notna(), options.channel)
    frame["_has_channel"] = frame["channel_v"].notna()
    frame["_nonzero"] = frame["amount_v"].isna() | frame["amount_v"].ne(0)
    frame["_future"] = (frame["settled_at_v"] > pd.Timestamp(rulebook.latest_date(now))).fillna(False).astype(bool)
    frame["_too_old"] = (frame["settled_at_v"] < pd.Timestamp(rulebook.EARLIEST_DATE)).fillna(False).astype(bool)
    stored = _stored_lines(session, frame, ref)
    keys = _line_keys(frame)
    again = keys.isin(stored)
    issues = list(staged.issues) + skipped + [
        Issue("already_imported", "provider_ref", str(f), int(r), None, None if k is None else str(k), "", "info", None)
        for f, r, k in zip(frame.loc[again, "_file"], frame.loc[again, "_row"],
                           frame.loc[again, "provider_ref"].where(frame.loc[again, "provider_ref"].notna(),
                                                                  frame.loc[again, "order_ref"]), strict=True)]
    frame = without(frame, again)
    mapped = set(options.profile.columns) | set(options.profile.constants) | ({"channel"} if options.channel else set())
    builder = suites.settlement_suite(fields=FIELDS["settlements"], mapped=mapped, channels=ref.channels,
                                      kinds=SETTLEMENT_KINDS)
    return _judge(Prepared(options, staged, frame, issues, None, ref, int(skip.sum() + again.sum())),
                  "import.settlements", builder)


def _line_keys(frame: pd.DataFrame) -> pd.Series:
    """A statement line's identity: channel, signed cents, time and reference."""
    ref = frame["provider_ref"].where(frame["provider_ref"].notna(), frame["order_ref"]).fillna("")
    return (frame["channel_v"].fillna("").astype(str) + "|" + frame["amount_v"].abs().fillna(0).astype("int64").astype(str)
            + "|" + frame["settled_at_v"].astype(str) + "|" + ref.astype(str))


def _stored_lines(session: Session, frame: pd.DataFrame, ref: RefData) -> set[str]:
    """Keys (:func:`_line_keys`) of the lines already stored in the file's channels and dates."""
    times = frame["settled_at_v"].dropna()
    channels = {c.id: code for code, c in ref.channels.items() if code in set(frame["channel_v"].dropna())}
    if times.empty or not channels:
        return set()
    line = SettlementLine.__table__
    rows = session.execute(select(line.c.channel_id, line.c.amount, line.c.settled_at, line.c.provider_ref,
                                  line.c.order_ref).where(
        line.c.channel_id.in_(sorted(channels)), line.c.settled_at >= times.min().to_pydatetime(),
        line.c.settled_at <= times.max().to_pydatetime())).all()
    return {f"{channels[r.channel_id]}|{int(r.amount * 100)}|{pd.Timestamp(r.settled_at)}|{r.provider_ref or r.order_ref or ''}"
            for r in rows}


def _judge(p: Prepared, suite_name: str, builder: Callable[[Any], list[Any]]) -> Prepared:
    p.frame = p.frame.reset_index(drop=True)
    p.frame["_i"] = np.arange(len(p.frame))
    p.frame["_unit"] = p.frame["_i"].astype(str)
    if p.frame.empty:
        p.frame["_error"] = np.zeros(0, dtype=bool)
        return p
    p.suite = validate(suite_name, p.frame, builder, ["_i"])
    found, error = suite_issues(p.suite, p.frame, p.options.profile)
    p.issues += found
    p.frame["_error"] = error
    return p


def prepare(session: Session, tables: list[Any], options: ImportOptions, now: dt.datetime,
            limit_rows: int | None = None) -> Prepared:
    """Stage ``tables`` with the options' profile and validate them (no writes)."""
    profile = options.profile
    if options.kind == "stock" and options.warehouse and not profile.is_mapped("warehouse"):
        profile = replace(profile, constants={**profile.constants, "warehouse": options.warehouse})
    options = replace(options, profile=profile)
    staged = stage(tables, profile)
    options = replace(options, profile=staged.profile)
    if limit_rows is not None:
        staged = replace(staged, frame=staged.frame.head(limit_rows))
    ref = refdata.snapshot(session)
    if options.kind == "orders":
        return _orders(session, staged, options, ref, now)
    if options.kind == "products":
        return _products_kind(session, staged, options, ref)
    if options.kind == "stock":
        return _stock(session, staged, options, ref)
    if options.kind == "settlements":
        return _settlements(session, staged, options, ref, now)
    return _customers(staged, options, ref)


def channel_ids(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Channel.id, Channel.code)).all())


def warehouse_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Warehouse.code, Warehouse.id)).all())
