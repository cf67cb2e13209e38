"""Channel stock: how much of a SKU's available stock each sales channel may offer (its
available-to-sell, ATS), and when a change of that figure is worth telling the channel.

A channel's policy: a ``share_pct`` of the available units (0–100), a safety ``buffer`` held
back before the share is taken, an optional ``maximum``, ``delist_at_zero`` (at ATS 0 the
listing is taken down instead of showing "sold out"), and ``oversell`` — the one explicit way
to let a channel's figure overlap the others'. A per-SKU override replaces any of share,
buffer and maximum for one channel.

The figure for a channel::

    ATS = min(⌊ max(available − buffer, 0) × share / D ⌋, maximum)

with D = 100 for an ``oversell`` channel and D = max(100, Σ shares of the other, pooled
channels) for the rest. So the pooled channels' figures never add up to more than available —
even when their shares add up past 100 % (an override, or a policy saved before another): the
shares are then scaled down together rather than over-promising (the services also refuse to
save such shares, :func:`share_issues`). Rounding is always down to whole units, and a buffer
or a maximum only ever lowers a figure. An ``oversell`` channel takes its share of everything
available as if it were alone: its units may also be offered elsewhere, and the excess over
available (:func:`overlap`) is what could be sold twice — the page shows it.

Pure: plain values in, plain values out; the services load, the worker publishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from core.domain.quantities import MAX_ON_HAND
from core.errors import FieldIssue

MAX_SHARE = 100  # per cent
MAX_UNITS = MAX_ON_HAND  # a buffer or maximum beyond what one stock row may hold means nothing
MAX_THRESHOLD = MAX_ON_HAND


@dataclass(frozen=True)
class Policy:
    """A channel's rule for one SKU (its default, or with an override applied)."""

    share_pct: int
    buffer: int = 0
    maximum: int | None = None
    delist_at_zero: bool = False
    oversell: bool = False


@dataclass(frozen=True)
class Override:
    """One SKU's exceptions to a channel's policy; ``None`` keeps the channel's value."""

    share_pct: int | None = None
    buffer: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Figure:
    """What a channel may sell of a SKU, and whether the listing stays up."""

    ats: int
    listed: bool


def with_override(policy: Policy, override: Override | None) -> Policy:
    """``policy`` for one SKU: the override's values where it sets them."""
    if override is None:
        return policy
    return replace(policy,
                   share_pct=policy.share_pct if override.share_pct is None else override.share_pct,
                   buffer=policy.buffer if override.buffer is None else override.buffer,
                   maximum=policy.maximum if override.maximum is None else override.maximum)


def pooled_share(policies: Mapping[str, Policy]) -> int:
    """Σ shares of the channels that share the stock (every one without ``oversell``)."""
    return sum(p.share_pct for p in policies.values() if not p.oversell)


def figures(available: int, policies: Mapping[str, Policy]) -> dict[str, Figure]:
    """Each channel's ATS of one SKU with ``available`` units (module docstring)."""
    stock = max(available, 0)
    pooled = max(MAX_SHARE, pooled_share(policies))
    result: dict[str, Figure] = {}
    for channel, policy in policies.items():
        base = max(stock - policy.buffer, 0)
        units = base * policy.share_pct // (MAX_SHARE if policy.oversell else pooled)
        if policy.maximum is not None:
            units = min(units, policy.maximum)
        result[channel] = Figure(units, listed=not (policy.delist_at_zero and units == 0))
    return result


def overlap(available: int, result: Mapping[str, Figure]) -> int:
    """Units offered more than once: Σ ATS − available (0 when nothing is offered twice)."""
    return max(sum(f.ats for f in result.values()) - max(available, 0), 0)


def share_issues(policies: Mapping[str, Policy], sku: str | None = None) -> list[FieldIssue]:
    """A refusal when the pooled channels' shares add up past 100 % (of one SKU, when ``sku``
    is given): only an ``oversell`` channel may overlap the others."""
    total = pooled_share(policies)
    if total <= MAX_SHARE:
        return []
    names = ", ".join(sorted(c for c, p in policies.items() if not p.oversell))
    if sku is None:
        return [FieldIssue("share_pct", "cs.issue_shares_over", value=total, params={"total": total,
                                                                                      "channels": names})]
    return [FieldIssue("share_pct", "cs.issue_sku_shares_over", value=total,
                       params={"total": total, "channels": names, "sku": sku})]


def worth_publishing(previous: Figure | None, new: Figure, threshold: int) -> bool:
    """Tell the channel? The first figure, a listing going up or down, reaching or leaving
    zero, and a change of at least ``threshold`` units; smaller moves wait until they add up
    (the published figure stays the reference, so drift is never lost)."""
    if previous is None:
        return True
    if previous.listed != new.listed or (previous.ats == 0) != (new.ats == 0):
        return True
    return abs(new.ats - previous.ats) >= max(threshold, 1)
