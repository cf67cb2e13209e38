"""Order-level meaning of a staged order file: which rows form one order, what it costs, and
the derived facts the validation suite checks (expectations.imports.order_suite).

Everything is vectorised over the whole file — a 100k-line export is grouped and priced in
pandas in well under a second — and all money is whole cents until it is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.domain import rulebook
from core.importing.fields import HISTORICAL, ORDER_FIELDS
from core.importing.profile import Profile

KEY_SEP = "\x1f"
ADDRESS_FIELDS = ("province", "city", "district", "address")


@dataclass(frozen=True)
class ProductRow:
    id: int
    price_cents: int
    active: bool


def add_keys(frame: pd.DataFrame, profile: Profile, default_channel: str | None) -> pd.DataFrame:
    """``channel_v`` (the row's channel, else the one chosen for the import), ``_okey`` (one per
    order: channel + external ref) and ``_target`` (open | shipped | … | skip)."""
    out = frame.copy(deep=False)  # copy-on-write: new columns never reach the caller's frame
    out["channel_v"] = out["channel_v"].where(out["channel_v"].notna(), default_channel)
    out["external_ref"] = out["external_ref"].map(rulebook.clean_ref)  # "EXT-1 " is order EXT-1
    out["_okey"] = out["channel_v"].fillna("").astype(str) + KEY_SEP + out["external_ref"].fillna("").astype(str)
    default = "" if profile.is_mapped("status") else "open"
    out["_target"] = out["status_v"].where(out["status_v"].notna(), default)
    return out


def _line_amounts(out: pd.DataFrame, products: dict[str, ProductRow]) -> None:
    """unit price, line discount and line total in cents for every row (NaN when unknown).

    - unit price and paid line amount given: the difference is the line discount (if it would
      be negative the paid amount wins and the unit price is derived from it);
    - only the paid line amount: unit price = amount / qty rounded *up* to the cent, so the
      discount (the rounding) is never negative;
    - no amount at all: the product's list price.
    """
    qty, paid = out["qty_v"], out["line_total_v"]
    listed = out["sku"].map({s: p.price_cents for s, p in products.items()}).astype("float64")
    unit = out["unit_price_v"]
    derived = paid.notna() & (qty > 0) & (unit.isna() | (unit * qty < paid))
    unit = unit.where(~derived, np.ceil(paid / qty))
    unit = unit.where(unit.notna(), listed)
    given_disc = out["line_discount_v"].notna()
    disc = out["line_discount_v"].where(given_disc, (unit * qty - paid).where(paid.notna(), 0.0))
    usable = (qty > 0) & (qty % 1 == 0)  # a bad quantity is reported once, not again as bad amounts
    total = (unit * qty - disc).where(usable)
    out["_unit_price"], out["_disc"], out["_line_total"] = unit, disc, total
    out["_line_gap"] = np.where(paid.notna() & given_disc & total.notna(), total - paid, 0.0)
    out["_disc_over"] = ((disc > unit * qty) & usable).fillna(False).astype(bool)
    out["_no_price"] = unit.isna() & out["sku"].notna() & (qty > 0)


def _conflicts(out: pd.DataFrame, fields: list[str]) -> pd.Series:
    """Per row, the first order-level field whose value differs from the order's first row —
    two different orders sharing one reference, or a file edited by hand."""
    result = pd.Series([None] * len(out), index=out.index, dtype=object)
    cols = ["_okey", *fields]
    distinct = out[cols].drop_duplicates()
    counts = distinct["_okey"].value_counts()
    bad_keys = counts.index[counts > 1]
    if len(bad_keys) == 0:
        return result
    sub = out[out["_okey"].isin(set(bad_keys))]
    first = sub.groupby("_okey", sort=False)[fields].transform("first").astype(str)
    differs = sub[fields].astype(str).ne(first)
    flagged = differs.any(axis=1)
    result.loc[flagged[flagged].index] = differs[flagged].idxmax(axis=1)
    return result


def _repeats(out: pd.DataFrame, profile: Profile) -> tuple[pd.Series, pd.Series]:
    """A real duplicate: the same order and line number twice (files with a line-number column).
    Returns the flag per row and the row it repeats (the first with that key), for the report:
    "row 17 repeats row 12". Without line numbers identical lines were merged or numbered
    before (:func:`repeated_lines`), so nothing is a duplicate."""
    none = pd.Series([None] * len(out), index=out.index, dtype=object)
    if not profile.is_mapped("line_ref"):
        return pd.Series(False, index=out.index), none
    keys = ["_okey", "line_ref"]
    dup = out.duplicated(keys, keep="first") & out["line_ref"].notna()
    if not dup.any():
        return dup, none
    first = out.groupby(keys, sort=False)["_row"].transform("first")
    return dup, first.astype(str).where(dup, None).astype(object)


LINE_SUMS = ("qty", "line_total", "line_discount")  # what adds up when identical lines are merged


def repeated_lines(frame: pd.DataFrame, profile: Profile, mode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Identical lines of one order in a file without line numbers (two of the same pizza,
    one receipt line each). ``sum``: one line with the quantities and amounts added up;
    ``number``: kept as separate lines. Returns the frame and, for the report, the merged
    rows ``[_ofile, _file, _row, external_ref, into_row, qty]`` (empty when nothing merged)."""
    empty = pd.DataFrame(columns=["_file", "_row", "external_ref", "into_row", "qty"])
    if profile.is_mapped("line_ref") or mode != "sum" or frame.empty:
        return frame, empty
    sums = [f for f in (*LINE_SUMS, *profile.sum_over_lines) if profile.is_mapped(f)]
    key = ["_okey", *[f.name for f in ORDER_FIELDS if profile.is_mapped(f.name) and f.name not in sums]]
    present = [c for c in key if c in frame.columns]
    text = frame[present]  # the fields' source text (None when empty: missing cells compare equal)
    unreadable = pd.concat([frame[f"{n}_bad"].notna() for n in sums if f"{n}_bad" in frame.columns],
                           axis=1).any(axis=1) if sums else pd.Series(False, index=frame.index)
    if unreadable.any():  # a line with an unreadable amount is reported on its own row, never hidden in a sum
        text = text.assign(_okey=text["_okey"].where(~unreadable, text["_okey"] + "\x1e"
                                                     + frame["_row"].astype(str)))
    repeat = text.duplicated(keep="first")
    if not repeat.any():
        return frame, empty
    group = text.groupby(present, sort=False, dropna=False).ngroup()
    out = frame[~repeat].copy()
    for name in sums:
        total = frame[f"{name}_v"].groupby(group, sort=False).sum(min_count=1)
        out[f"{name}_v"] = group[~repeat].map(total).to_numpy()
        if name == "qty":
            out["qty"] = [None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v))
                          for v in out["qty_v"]]
    into = frame["_row"].groupby(group, sort=False).transform("first")
    merged = frame[repeat]
    report = pd.DataFrame({"_file": merged["_file"], "_row": merged["_row"], "external_ref": merged["external_ref"],
                           "into_row": into[repeat], "qty": group[repeat].map(out.set_index(group[~repeat])["qty"])})
    return out, report


def derive(frame: pd.DataFrame, profile: Profile, products: dict[str, ProductRow], now: dt.datetime) -> pd.DataFrame:
    """Add the derived columns the order suite validates and the writers use."""
    out = frame.copy(deep=False)  # copy-on-write: new columns never reach the caller's frame
    _line_amounts(out, products)
    out["_qty_frac"] = out["qty_v"] % 1
    sums = [f for f in profile.sum_over_lines]
    header = [f.name for f in ORDER_FIELDS if f.level == "order" and f.name not in ("channel", "external_ref")
              and f.name not in sums and profile.is_mapped(f.name)]
    out["_conflict"] = _conflicts(out, header)
    group = out.groupby("_okey", sort=False)
    complete = group["_line_total"].transform("count") == group["_line_total"].transform("size")
    subtotal = group["_line_total"].transform("sum", min_count=1).where(complete)  # no total from half an order
    ship = group["shipping_fee_v"].transform("sum" if "shipping_fee" in sums else "first").fillna(0.0)
    order_disc = group["order_discount_v"].transform("sum" if "order_discount" in sums else "first").fillna(0.0)
    out["_subtotal"], out["_shipping"], out["_order_disc"] = subtotal, ship, order_disc
    out["_total"] = subtotal - order_disc + ship
    stated = group["order_total_v"].transform("sum" if "order_total" in sums else "first")
    gap = (stated - out["_total"]).where(stated.notna() & out["_total"].notna(), 0.0)
    out["_total_gap"] = gap
    out["_total_detail"] = None
    off = gap.ne(0)
    if off.any():
        out.loc[off, "_total_detail"] = [
            f"{s / 100:.2f} − {d / 100:.2f} + {f / 100:.2f} = {t / 100:.2f} ≠ {x / 100:.2f}"
            for s, d, f, t, x in zip(subtotal[off], order_disc[off], ship[off], out["_total"][off], stated[off],
                                     strict=True)]
    out["_negative_total"] = (out["_total"] < 0).fillna(False).astype(bool)
    historical = out["_target"].isin(HISTORICAL)
    pickup = out["delivery_method_v"].eq("pickup").fillna(False)
    complete = pd.concat([out[f].notna() for f in ADDRESS_FIELDS], axis=1).all(axis=1)
    out["_address_complete"] = (complete | pickup | historical).astype(bool)
    out["_future"] = (out["placed_at_v"] > pd.Timestamp(rulebook.latest_date(now))).fillna(False).astype(bool)
    out["_too_old"] = (out["placed_at_v"] < pd.Timestamp(rulebook.EARLIEST_DATE)).fillna(False).astype(bool)
    has = [out[c].notna() for c in ("customer_name", "phone_v", "email_v", "buyer_id")]
    out["_has_customer"] = pd.concat(has, axis=1).any(axis=1)
    out["_dup"], out["_dup_of"] = _repeats(out, profile)
    out["_sku_inactive"] = out["sku"].isin({s for s, p in products.items() if not p.active})
    return out
