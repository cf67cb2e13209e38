"""The one-line takeaway under a chart, as data: a translation key and its parameters.

Analytics functions decide *what* is worth saying (the biggest mover, the busiest hour) from
the same numbers the chart shows; the page only translates the key. Keeping the choice here
makes it testable without Streamlit and identical in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Takeaway:
    key: str
    params: dict[str, Any] = field(default_factory=dict)


def pct(value: float | None, signed: bool = False) -> str:
    """``0.213`` → ``"21%"`` (``"+21%"`` when ``signed``); ``"—"`` for no value."""
    if value is None:
        return "—"
    return f"{value:+.0%}" if signed else f"{value:.0%}"


def ratio(numerator: float | Decimal | int | None, denominator: float | Decimal | int | None) -> float | None:
    """``numerator / denominator`` as a float; None when the denominator is zero or missing."""
    if not denominator or numerator is None:
        return None
    return float(numerator) / float(denominator)


def change(current: float | Decimal | int | None, previous: float | Decimal | int | None) -> float | None:
    """Relative change ``current / previous − 1``; None when there is no base to compare with."""
    r = ratio(current, previous)
    return None if r is None else r - 1.0
