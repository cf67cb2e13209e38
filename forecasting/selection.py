"""Which model drives a series' orders: the backtest winner, but only if it clearly wins.

The moving average is the incumbent buyers understand. A fancier model replaces it on a
series only when its lead-time-total absolute error (the quantity a purchase order covers)
is at least ``margin`` (5 %) below the moving average's on that same series *and* it was the
closer of the two in a majority of the folds; a tie, a narrow or a one-fold win, or a series
without a usable backtest keeps the moving average. The seasonal naive reference is never
eligible.
"""

from __future__ import annotations

from forecasting.backtest import Scores
from forecasting.models import BASELINE, REFERENCE_ONLY

MARGIN = 0.05


def select_model(scores: dict[str, Scores], folds: int, *, baseline: str = BASELINE,
                 margin: float = MARGIN) -> str:
    """The model to use for this series (``baseline`` unless another beats it by ``margin``).

    Ranked on Σ|lead-time-total error| (ties broken by the weekly error), which equals
    ranking on lead-time WAPE for one series but still works when the actuals were all zero.
    """
    if folds == 0 or baseline not in scores:
        return baseline
    candidates = {name: s for name, s in scores.items() if name not in REFERENCE_ONLY}
    best = min(candidates, key=lambda n: (candidates[n].abs_err_lead, candidates[n].abs_err_weekly, n != baseline))
    if best == baseline:
        return baseline
    base = scores[baseline].abs_err_lead
    if base <= 0 or candidates[best].abs_err_lead > (1 - margin) * base:
        return baseline
    return best if _wins_most_folds(candidates[best], scores[baseline]) else baseline


def _wins_most_folds(candidate: Scores, baseline: Scores) -> bool:
    """A win built on one lucky fold is noise: the candidate must also be closer than the
    baseline on the lead-time total in a majority of folds."""
    wins = sum(abs(c) < abs(b) for c, b in zip(candidate.lead_errors, baseline.lead_errors, strict=True))
    return wins * 2 > len(baseline.lead_errors)
