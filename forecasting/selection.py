"""Which model drives a series' orders: the incumbent, unless another model clearly wins.

The incumbent is the median combination of the series' demand class (``combo``) when it was
scored and its fold bias is within ±15 % — combinations beat per-series picks (M4, M5; on the
demo's holdout the combination alone was 16 % better than the moving average while the
per-series pick with the moving average as incumbent was 6 % better) — else the moving average,
which buyers understand. Another model replaces the incumbent on a
series only when its lead-time-total absolute error (the quantity a purchase order covers)
is at least ``margin`` (5 %) below the moving average's on that same series *and* it was the
closer of the two in a majority of the folds; of the models that clear both bars the most
accurate is used. A tie, a narrow or a one-fold win, or a series without a usable backtest
keeps the moving average. The seasonal naive reference is never eligible, and neither is a
model whose bias over the folds is beyond ±15 % (the baseline excepted: it is the fallback).
"""

from __future__ import annotations

from forecasting.backtest import Scores
from forecasting.combination import COMBO
from forecasting.models import BASELINE, REFERENCE_ONLY

MARGIN = 0.05
MAX_BIAS = 0.15  # a candidate whose selection-fold bias is beyond ±15 % is not chosen


def select_model(scores: dict[str, Scores], folds: int, *, baseline: str | None = None,
                 margin: float = MARGIN) -> str:
    """The model to use for this series (the incumbent — ``baseline`` if given, else
    :func:`incumbent` — unless another beats it by ``margin``).

    Ranked on Σ|lead-time-total error| (ties broken by the weekly error), which equals
    ranking on lead-time WAPE for one series but still works when the actuals were all zero.
    A candidate that is most accurate in total but won only one fold does not disqualify a
    runner-up that clears both bars (two seasonal models often differ only in their level).
    """
    baseline = baseline or incumbent(scores)
    if folds == 0 or baseline not in scores:
        return baseline
    base = scores[baseline]
    if base.abs_err_lead <= 0:
        return baseline
    clear = [name for name, s in scores.items()
             if name != baseline and name not in REFERENCE_ONLY and _unbiased(s)
             and s.abs_err_lead <= (1 - margin) * base.abs_err_lead and _wins_most_folds(s, base)]
    return min(clear, key=lambda n: (scores[n].abs_err_lead, scores[n].abs_err_weekly, n)) if clear else baseline


def incumbent(scores: dict[str, Scores]) -> str:
    """The combination when it was scored, on actual demand, within the bias bound; else the
    moving average."""
    combo = scores.get(COMBO)
    return COMBO if combo is not None and combo.actual_lead > 0 and _unbiased(combo) else BASELINE


def _unbiased(scores: Scores) -> bool:
    """A model that over- or under-forecast the folds by more than :data:`MAX_BIAS` in total is
    not trusted with orders, however small its absolute error (a real purchase log: ``yoy_ma``
    chosen at −29 % bias copied last year's noise). Without demand to judge by, no verdict."""
    bias = scores.bias
    return bias is None or abs(bias) <= MAX_BIAS


def _wins_most_folds(candidate: Scores, baseline: Scores) -> bool:
    """A win built on one lucky fold is noise: the candidate must also be closer than the
    baseline on the lead-time total in a majority of folds."""
    wins = sum(abs(c) < abs(b) for c, b in zip(candidate.lead_errors, baseline.lead_errors, strict=True))
    return wins * 2 > len(baseline.lead_errors)
