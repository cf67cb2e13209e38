"""The calendar demand models need: Chinese public holidays, the shop's promotions, closures.

Promotions are the biggest demand events of a Chinese online shop, so they are modelled as
holidays (an effect per phase of the promotion) rather than left to seasonality: 618 (warm-up from 1 June, peak on the 18th), 双11 (from 20 October, peak on
11 November), 年货节 (the three weeks before Spring Festival), each with a two-day hangover
after the peak. The shop can add promotions of its own (``planning_events``). Spring Festival
dates come from the ``holidays`` package (installed with Prophet), so no table has to be kept
up to date by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays
import numpy as np
import pandas as pd

HOLIDAY_COLUMNS = ["holiday", "ds", "lower_window", "upper_window"]
SPRING_FESTIVAL = "Chinese New Year (Spring Festival)"
FINAL_DAYS = 3  # the days just before a peak, when demand climbs fastest


@dataclass(frozen=True)
class Promotion:
    """A promotion window: ``start``..``end`` (inclusive, the peak is ``end``) plus hangover days."""

    name: str
    start: dt.date
    end: dt.date
    hangover_days: int = 0


def spring_festival(year: int) -> dt.date:
    """First day of Spring Festival in ``year`` (Gregorian)."""
    days = sorted(d for d, name in holidays.China(years=year).items() if name == SPRING_FESTIVAL)
    if not days:
        raise ValueError(f"no Spring Festival date known for {year}")
    return days[0]


def builtin_promotions(first: dt.date, last: dt.date) -> list[Promotion]:
    """618, 双11 and 年货节 of every year that overlaps ``first``..``last``."""
    out: list[Promotion] = []
    for year in range(first.year - 1, last.year + 2):
        sf = spring_festival(year)
        out += [
            Promotion("618", dt.date(year, 6, 1), dt.date(year, 6, 18), hangover_days=2),
            Promotion("双11", dt.date(year, 10, 20), dt.date(year, 11, 11), hangover_days=2),
            Promotion("年货节", sf - dt.timedelta(days=24), sf - dt.timedelta(days=4)),
        ]
    return [p for p in out if p.end + dt.timedelta(days=p.hangover_days) >= first and p.start <= last]


def promotion_phases(promotion: Promotion) -> list[tuple[str, dt.date]]:
    """``[(phase, day)]``: warm-up, the last days before the peak, the peak, the hangover."""
    out: list[tuple[str, dt.date]] = []
    day = promotion.start
    while day <= promotion.end + dt.timedelta(days=promotion.hangover_days):
        to_peak = (promotion.end - day).days
        phase = ("hangover" if to_peak < 0 else "peak" if to_peak == 0 else
                 "final" if to_peak <= FINAL_DAYS else "warmup")
        out.append((phase, day))
        day += dt.timedelta(days=1)
    return out


def prophet_holidays(first: dt.date, last: dt.date, promotions: list[Promotion]) -> pd.DataFrame:
    """Prophet's ``holidays`` frame: Chinese public holidays and every promotion.

    Each public holiday (all its days) is one effect; each promotion is four — warm-up, the
    last days before the peak, the peak day, the hangover — rather than one per day: with one
    or two past occurrences a per-day effect is mostly noise, and every extra column makes a
    Prophet fit slower (the design matrix is serialised as JSON for Stan: 0.23 s a fit with
    per-day effects, measured, against well under half that with phases).
    """
    years = range(first.year - 1, last.year + 2)
    rows = [(name.split(" (")[0], pd.Timestamp(day), 0, 0)
            for day, name in holidays.China(years=years).items() if first <= day <= last]
    rows += [(f"{p.name}:{phase}", pd.Timestamp(day), 0, 0)
             for p in promotions for phase, day in promotion_phases(p) if first <= day <= last]
    return pd.DataFrame(rows, columns=HOLIDAY_COLUMNS)


def open_mask(first: dt.date, days: int, closures: list[tuple[dt.date, dt.date]]) -> np.ndarray:
    """``True`` for each of ``days`` days from ``first`` on which the shop/warehouse was open."""
    mask = np.ones(days, dtype=bool)
    for start, end in closures:
        lo = max((start - first).days, 0)
        hi = min((end - first).days + 1, days)
        if lo < hi:
            mask[lo:hi] = False
    return mask
