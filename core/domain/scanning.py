"""The tally rules of scanning on the floor (receiving, counting by bin, transfers out and in).

A scan session keeps a **tally**: SKU → units scanned so far. What may be scanned is a set of
**limits**: SKU → the most units this document still takes (``None``: no limit but the row
bound, as in a count, where the shelf decides). One scan adds one unit, or is refused — the
tally stays as it was — because the item is not on the document (``not_listed``) or the
document already has all its units of it (``extra``). The pack bench and the sorting wall
apply the same two refusals to their order lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.domain.quantities import MAX_ROW_QTY

NOT_LISTED = "not_listed"
EXTRA = "extra"


@dataclass(frozen=True)
class Difference:
    """One SKU whose scanned units differ from what was expected (``delta`` = scanned − expected)."""

    sku: str
    expected: int
    scanned: int

    @property
    def delta(self) -> int:
        return self.scanned - self.expected


def refusal(limits: Mapping[str, int | None], tally: Mapping[str, int], sku: str) -> str | None:
    """Why one more unit of ``sku`` may not be scanned (:data:`NOT_LISTED`, :data:`EXTRA`), or None."""
    if sku not in limits:
        return NOT_LISTED
    limit = limits[sku]
    cap = MAX_ROW_QTY if limit is None else min(limit, MAX_ROW_QTY)
    return EXTRA if tally.get(sku, 0) >= cap else None


def add_unit(tally: Mapping[str, int], sku: str) -> dict[str, int]:
    """A new tally with one more unit of ``sku`` (the old one is left as it was)."""
    return {**tally, sku: tally.get(sku, 0) + 1}


def stray(limits: Mapping[str, int | None], tally: Mapping[str, int]) -> list[str]:
    """SKUs of a tally that this document does not take (a tally kept by a client is checked
    again when it is committed: the document may have changed since the scans)."""
    return sorted(sku for sku, units in tally.items()
                  if units and (sku not in limits or units < 0 or refusal(limits, {sku: units - 1}, sku)))


def differences(expected: Mapping[str, int], tally: Mapping[str, int]) -> list[Difference]:
    """Every SKU expected or scanned whose scanned units are not what was expected, by SKU."""
    return [Difference(sku, expected.get(sku, 0), tally.get(sku, 0))
            for sku in sorted(set(expected) | set(tally)) if expected.get(sku, 0) != tally.get(sku, 0)]
