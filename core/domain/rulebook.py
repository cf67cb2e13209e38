"""The order rulebook: every limit and enum an order must respect, and the checks that apply them.

One place for what used to be two validators (order entry checked quantities, widths and
amounts; the import's history writer checked nothing and ``update_order`` checked nothing).
Order entry, both import writers, ``update_order``, the import's GX suite and any later API
read their limits from here, so a rule changes in one place and every door enforces it.

The checks work on plain dicts (an order *header* and its *lines*) and return
:class:`FieldIssue` lists with message codes and parameters — never prose. A header check
only looks at the keys present, so the same function validates a new order and an edit of a
few fields.

Text widths are the widths of the columns the values are stored in (a unit test asserts them
against ``core.models``): a long paste is refused with the field's name on every database
instead of PostgreSQL raising and SQLite silently storing it.
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pandas as pd

from core.errors import FieldIssue

CENT = Decimal("0.01")

STATUSES = (
    "pending_review", "confirmed", "picking", "packed", "shipped", "delivered", "completed",
    "on_hold", "backordered", "cancelled",
)
OPEN_STATUSES = ("pending_review", "confirmed", "picking", "packed", "on_hold", "backordered")
PAYMENT_METHODS = ("cash", "wechat_pay", "alipay", "card", "bank_transfer", "cod", "platform")
PAYMENT_STATUSES = ("unpaid", "paid", "partially_refunded", "refunded")  # what entry and imports may state
# every status an order can have: "partially_paid" only results from recorded payments
# (core.domain.payments), no input may state it
ORDER_PAYMENT_STATUSES = (*PAYMENT_STATUSES, "partially_paid")
DELIVERY_METHODS = ("express", "same_day", "pickup", "freight")

MAX_LINE_QTY = 100_000  # per order line: more is a typo (an extra zero, a barcode in the qty box)
# the largest amount (about ¥10 billion, the width the money columns had as NUMERIC(12, 2)); in
# whole cents, a million such amounts still sum inside a 64-bit integer (docs/money.md)
MAX_AMOUNT = Decimal("9999999999.99")
PRIORITY_MIN, PRIORITY_MAX = -1000, 1000
EARLIEST_DATE = dt.datetime(2000, 1, 1)  # no shop's history starts earlier; 0001/1900 are typos
FUTURE_SLACK = dt.timedelta(days=1)  # clocks of channels and tills disagree by hours, not days

# Header text field → the width of the column it is stored in (orders.ship_* / customers.*).
TEXT_WIDTHS: dict[str, int] = {
    "customer_name": 100, "ship_name": 100, "phone": 20, "ship_phone": 20, "email": 200,
    "province": 32, "ship_province": 32, "city": 32, "ship_city": 32, "district": 32, "ship_district": 32,
    "address": 300, "ship_address": 300, "external_ref": 100, "payment_ref": 100, "carrier": 32, "tracking_no": 64,
    "note": 2000,  # a Text column: bounded here so a 1 MB paste cannot land in every order screen
}
ADDRESS_FIELDS = ("province", "city", "district", "address")
AMOUNT_FIELDS = ("shipping_fee", "discount", "total")
ENUMS: dict[str, tuple[str, ...]] = {
    "payment_method": PAYMENT_METHODS, "payment_status": PAYMENT_STATUSES,
    "delivery_method": DELIVERY_METHODS, "status": STATUSES,
}


def latest_date(now: dt.datetime) -> dt.datetime:
    """The latest acceptable order date for ``now`` (naive UTC, as stored)."""
    return now + FUTURE_SLACK


def clean_ref(value: Any) -> str | None:
    """An external reference as compared and stored: trimmed, empty → None.

    ``"EXT-1 "`` and ``"EXT-1"`` are the same channel order; without the trim the duplicate
    check let the second one in.
    """
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_amount(value: Any, field: str, issues: list[FieldIssue], row: int | None = None) -> Decimal:
    """``value`` as money to the cent; appends an issue (and returns 0) when it is not a
    finite number in [0, MAX_AMOUNT]."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if isinstance(value, bool) or not amount.is_finite():
        issues.append(FieldIssue(field, "issue.not_a_number", row, value))
        return Decimal("0")
    # Range before rounding: ±1e400 cannot be rounded to the cent.
    if amount < 0:
        issues.append(FieldIssue(field, "issue.negative", row, value))
    elif amount > MAX_AMOUNT:
        issues.append(FieldIssue(field, "issue.at_most", row, value, {"n": str(MAX_AMOUNT)}))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP) if abs(amount) <= MAX_AMOUNT else amount


def whole_number(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (not a bool, not 2.5, not "high")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):  # int, numpy integers
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def _check_text(name: str, value: Any, issues: list[FieldIssue]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        issues.append(FieldIssue(name, "issue.bad_text", value=value))
    elif len(value) > TEXT_WIDTHS[name]:
        issues.append(FieldIssue(name, "issue.too_long", value=value[:20] + "…", params={"n": TEXT_WIDTHS[name]}))
    elif "\x00" in value:
        issues.append(FieldIssue(name, "issue.bad_text", value=value[:20]))


def _check_date(name: str, value: Any, now: dt.datetime, issues: list[FieldIssue]) -> None:
    if value is None:
        return
    if not isinstance(value, dt.datetime):
        issues.append(FieldIssue(name, "rb.not_a_date", value=value))
        return
    naive = value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    if not EARLIEST_DATE <= naive <= latest_date(now):
        issues.append(FieldIssue(name, "rb.date_range", value=value, params={
            "low": EARLIEST_DATE.date().isoformat(), "high": latest_date(now).date().isoformat()}))


def validate_header(header: Mapping[str, Any], now: dt.datetime, *, require_address: bool = False) -> list[FieldIssue]:
    """Problems with an order header (or with the header fields present in an edit).

    Known keys: enum fields (:data:`ENUMS`; ``payment_method`` may be None), ``priority``,
    text fields (:data:`TEXT_WIDTHS`), money (:data:`AMOUNT_FIELDS`), ``placed_at``. With
    ``require_address`` (entered orders, not pickup) the address must be complete down to the
    district — imports pass False and the review rules hold such orders instead.
    """
    issues: list[FieldIssue] = []
    for name, allowed in ENUMS.items():
        if name not in header or (name == "payment_method" and header[name] is None):
            continue
        if header[name] not in allowed:
            issues.append(FieldIssue(name, "issue.one_of", value=header[name], params={"choices": ", ".join(allowed)}))
    if "priority" in header:
        priority = whole_number(header["priority"])
        if priority is None:
            issues.append(FieldIssue("priority", "issue.whole_number", value=header["priority"]))
        elif not PRIORITY_MIN <= priority <= PRIORITY_MAX:
            issues.append(FieldIssue("priority", "rb.between", value=priority,
                                     params={"low": PRIORITY_MIN, "high": PRIORITY_MAX}))
    for name in TEXT_WIDTHS:
        if name in header:
            _check_text(name, header[name], issues)
    for name in AMOUNT_FIELDS:
        if header.get(name) is not None:
            parse_amount(header[name], name, issues)
    if "placed_at" in header:
        _check_date("placed_at", header["placed_at"], now, issues)
    if require_address and header.get("delivery_method") != "pickup":
        for name in ADDRESS_FIELDS:
            if not str(header.get(name) or "").strip():
                issues.append(FieldIssue(name, "issue.address_incomplete"))
    return issues


def validate_line(line: Mapping[str, Any], row: int) -> tuple[int | None, list[FieldIssue]]:
    """An order line's quantity, price and discount: ``(qty or None, issues)``.

    ``unit_price`` is the price that applies (the caller fills in the list price); the line
    total ``price × qty − discount`` must fit a money column too.
    """
    issues: list[FieldIssue] = []
    qty = whole_number(line.get("qty"))
    if qty is None:
        issues.append(FieldIssue("qty", "issue.whole_number", row, line.get("qty")))
        return None, issues
    if qty <= 0:
        issues.append(FieldIssue("qty", "issue.positive", row, qty))
        return None, issues
    if qty > MAX_LINE_QTY:
        issues.append(FieldIssue("qty", "issue.at_most", row, qty, {"n": MAX_LINE_QTY}))
        return None, issues
    price = parse_amount(line.get("unit_price", 0), "unit_price", issues, row)
    discount = parse_amount(line.get("discount", 0), "discount", issues, row)
    if issues:  # a bad price or discount says so once, not again as a bad line total
        return qty, issues
    if discount > price * qty:
        issues.append(FieldIssue("discount", "issue.discount_too_large", row, discount))
    elif price * qty - discount > MAX_AMOUNT:
        issues.append(FieldIssue("line_total", "issue.at_most", row, price * qty - discount, {"n": str(MAX_AMOUNT)}))
    return qty, issues


# --- whole files: a vectorised screen, then the checks above on the rows it flags -------------


def screen_headers(frame: pd.DataFrame, now: dt.datetime) -> pd.Series:
    """Rows of a header frame (columns named as the header keys above) that may break the
    rulebook. A screen, not a verdict: every row it passes would pass :func:`validate_header`
    (a unit test holds the two together), and the rows it flags go through
    :func:`validate_header` for the messages. Bulk writers use it because checking 50,000
    order dicts one by one costs seconds."""
    flagged = pd.Series(False, index=frame.index)
    for name, allowed in ENUMS.items():
        if name in frame:
            flagged |= frame[name].notna() & ~frame[name].isin(allowed)
    for name, width in TEXT_WIDTHS.items():
        if name in frame:
            column = frame[name]
            text = column.where(column.map(lambda v: isinstance(v, str)))
            flagged |= column.notna() & text.isna()  # not text at all
            flagged |= (text.str.len() > width).fillna(False).astype(bool)
            flagged |= text.str.contains("\x00", regex=False).fillna(False).astype(bool)
    if "placed_at" in frame:
        placed = pd.to_datetime(frame["placed_at"], errors="coerce")
        flagged |= frame["placed_at"].notna() & ~placed.between(pd.Timestamp(EARLIEST_DATE),
                                                                pd.Timestamp(latest_date(now)))
    return flagged


def screen_lines(qty: pd.Series, unit_cents: pd.Series, discount_cents: pd.Series) -> pd.Series:
    """Lines (quantity, unit price and discount in cents) that may break :func:`validate_line`;
    the same contract as :func:`screen_headers`."""
    limit = float(MAX_AMOUNT * 100)
    gross = unit_cents * qty
    ok = (qty.between(1, MAX_LINE_QTY) & (qty % 1 == 0) & unit_cents.between(0, limit)
          & discount_cents.between(0, limit) & (discount_cents <= gross) & (gross - discount_cents <= limit))
    return ~ok.fillna(False).astype(bool)
