"""Demand classes (Syntetos–Boylan) and the median combination of each class's candidates.

Picking one model per series on a few folds picks noise: on the demo's holdout the per-series
choice did worse than one fixed seasonal model. The M4 and M5 lesson is that a plain
combination of sound models beats a per-series pick, so ``combo`` — the daily *median* of the
candidates suited to the series' demand class — is scored and selected like any model. The
median (not the mean) keeps one model's wild fold from dragging the combination along.

The class comes from the training days only (the window handed to a fold), by the usual cut-offs
on the average inter-demand interval (ADI, open days per day with demand) and the squared
coefficient of variation of the demand sizes (CV², over the days with demand):

    smooth: ADI < 1.32, CV² < 0.49      erratic: ADI < 1.32, CV² ≥ 0.49
    intermittent: ADI ≥ 1.32, CV² < 0.49   lumpy: ADI ≥ 1.32, CV² ≥ 0.49

Members per class: level and seasonal models for smooth and erratic demand (Prophet joins where
the runner gave it to the series); the intermittent-demand methods and the seasonal level for
intermittent and lumpy demand. The library models (ETS, Theta, ADIDA, IMAPA:
:mod:`forecasting.library_models`) are not members: measured on the demo's and Olist's
holdouts (cheap models, no Prophet) they made the median worse — demo 28-day WAPE 0.295 → 0.300
and 0.313, Olist 1.110 → 1.281 — having neither last year's category season nor, for ETS and
Theta, a way to tell a sparse SKU's zero days from a weekly pattern. The ``yoy_*`` names stand for their flat twins on a series
without a year of its category's history (the runner tries one family or the other).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

ADI_CUT = 1.32
CV2_CUT = 0.49
COMBO = "combo"
MIN_MEMBERS = 2
CLASSES = ("smooth", "erratic", "intermittent", "lumpy")
MEMBERS: dict[str, tuple[str, ...]] = {
    "smooth": ("yoy_ma", "ma28", "yoy_tsb", "tsb", "seasonal_ma", "prophet"),
    "erratic": ("yoy_ma", "ma28", "yoy_tsb", "tsb", "seasonal_ma", "prophet"),
    "intermittent": ("yoy_tsb", "tsb", "yoy_croston", "croston", "yoy_ma", "ma28"),
    "lumpy": ("yoy_tsb", "tsb", "yoy_croston", "croston", "yoy_ma", "ma28"),
}


def demand_class(observed: np.ndarray) -> str:
    """Smooth, erratic, intermittent or lumpy (see the module docstring); a series without any
    demand yet, or with demand on a single day, counts as lumpy."""
    sizes = observed[observed > 0]
    if sizes.size < 2:
        return "lumpy"
    adi = observed.size / sizes.size
    mean = float(sizes.mean())
    cv2 = float(sizes.var()) / (mean * mean)
    return ("smooth" if cv2 < CV2_CUT else "erratic") if adi < ADI_CUT else \
        ("intermittent" if cv2 < CV2_CUT else "lumpy")


def members(klass: str, available: set[str]) -> list[str]:
    """The class's members among the models the series was given; the ``yoy_*`` model replaces
    its flat twin when both are named (one family is tried per series)."""
    chosen = [name for name in MEMBERS[klass] if name in available]
    return [name for name in chosen if f"yoy_{name}" not in chosen]


def with_combination(forecasts: Mapping[str, np.ndarray], klass: str) -> dict[str, np.ndarray]:
    """``forecasts`` plus ``combo``, the daily median of the class's members (when at least two
    of them were forecast; a lone member is no combination)."""
    names = members(klass, set(forecasts))
    out = dict(forecasts)
    if len(names) >= MIN_MEMBERS:
        out[COMBO] = np.median(np.vstack([forecasts[name] for name in names]), axis=0)
    return out
