"""Parcels at dispatch: the weight to expect, which carrier costs least, whether the scale agrees,
whether a typed tracking number looks like the carrier's, and what a shipping label says.

Pure rules (no database): :mod:`core.services.carriers` reads the rows and applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

MAX_PARCEL_KG = Decimal("1000")  # a scale reading above this is a typing slip, not a parcel
KG = Decimal("0.001")


@dataclass(frozen=True)
class Rate:
    """One row of a carrier's price list: ``province`` (``*`` = anywhere else) and the band
    ``(lower, max_kg]``."""

    carrier: str  # carrier code
    province: str
    max_kg: Decimal
    cost: Decimal


@dataclass(frozen=True)
class Quote:
    carrier: str
    cost: Decimal
    max_kg: Decimal  # the band the parcel falls in


def expected_weight(lines: Iterable[tuple[int, Decimal | None]]) -> tuple[Decimal, int]:
    """Σ qty × unit weight, and how many lines have no weight recorded (they count 0 kg)."""
    total, unknown = Decimal(0), 0
    for qty, unit_kg in lines:
        if unit_kg is None:
            unknown += 1
        else:
            total += qty * unit_kg
    return total.quantize(KG), unknown


def quote(rates: Sequence[Rate], carrier: str, province: str | None, weight: Decimal) -> Quote | None:
    """What ``carrier`` charges for ``weight`` kg to ``province``: its own rows for that
    province when it has any, else its ``*`` rows; the smallest band the weight fits in.
    None when the carrier does not serve the province or the parcel is heavier than its bands."""
    mine = [r for r in rates if r.carrier == carrier]
    rows = [r for r in mine if province and r.province == province] or [r for r in mine if r.province == "*"]
    fits = sorted((r for r in rows if weight <= r.max_kg), key=lambda r: r.max_kg)
    return Quote(carrier, fits[0].cost, fits[0].max_kg) if fits else None


def cheapest(rates: Sequence[Rate], province: str | None, weight: Decimal) -> Quote | None:
    """The cheapest carrier serving ``province`` at ``weight`` (ties: by carrier code)."""
    quotes = [q for code in sorted({r.carrier for r in rates}) if (q := quote(rates, code, province, weight))]
    return min(quotes, key=lambda q: (q.cost, q.carrier)) if quotes else None


def weight_off_pct(expected: Decimal, weighed: Decimal) -> Decimal | None:
    """How far the scale is from the expected weight, in percent of it (None: nothing expected
    — no product of the order has a weight — so there is nothing to compare)."""
    if expected <= 0:
        return None
    return (abs(weighed - expected) * 100 / expected).quantize(Decimal("0.1"))


def weight_needs_confirming(expected: Decimal, weighed: Decimal, tolerance_pct: int) -> Decimal | None:
    """The deviation in percent when it is beyond ``tolerance_pct`` (the packer must confirm),
    else None."""
    off = weight_off_pct(expected, weighed)
    return off if off is not None and off > tolerance_pct else None


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable regular expression (None when it is)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def matches_pattern(pattern: str | None, tracking_no: str) -> bool:
    """True when the carrier checks nothing or the whole number matches its pattern."""
    return not pattern or re.fullmatch(pattern, tracking_no) is not None


def format_number(prefix: str, number: int, width: int) -> str:
    """A pre-allocated tracking number: prefix + zero-padded digits (``SF`` 42 12 → ``SF000000000042``)."""
    return f"{prefix}{number:0{width}d}"


def mask_name(name: str | None) -> str:
    """A receiver's name as platforms print it on a label: ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``."""
    text = (name or "").strip()
    return text[:1] + "*" * max(len(text) - 1, 1) if text else ""


@dataclass(frozen=True)
class Label:
    """Everything printed on one 100 × 150 mm label (receiver's name and phone already masked;
    the address is in full: the courier needs it)."""

    tracking_no: str
    carrier: str  # carrier name
    service: str
    sender_name: str
    sender_address: str
    sender_phone: str
    receiver_name: str
    receiver_phone: str
    receiver_address: str
    orders: tuple[str, ...]
    weight_kg: Decimal | None
    qr_data: str  # what the QR code holds: carrier code, tracking number, order numbers
