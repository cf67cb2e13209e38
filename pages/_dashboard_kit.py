"""Widgets the six analytics dashboards share: the filter bar, the freshness check, the
takeaway line, chart + table sections. Not a page (``app.py`` does not register it).

Filters live in session state under shared keys, so switching from Sales to Products keeps
the chosen dates, channels and warehouses. A dashboard only reads: the summary tables are kept
up to date by the worker (docs/jobs.md); :func:`data_as_of` says how current they are and, while
they are behind, reloads the page once the worker caught them up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import webui
from core.analytics import summary
from core.analytics.filters import UNKNOWN_REGION, Filters, filter_options
from core.analytics.takeaway import Takeaway
from core.errors import OMSError, ValidationError
from core.timeutil import local_today
from core.webui import (
    cached_read,
    label,
    labels,
    local_time,
    money,
    number,
    percent,
    show_error,
    show_table,
    t,
)

T = TypeVar("T")

# table columns shown as money / as a percentage (headers are catalogued as ``acol.<column>``)
MONEY = ("net_sales", "cost", "gross_margin", "aov", "returned_sales", "previous_net_sales", "stock_value",
         "lost_sales", "unit_cost", "unit_price", "value", "baseline_daily", "promo_daily", "peak_sales",
         "after_daily", "promo_sales", "clv_3m", "clv_6m", "clv_12m", "to_date", "avg_net_sales", "uncosted_sales")
PERCENT = ("share", "margin_rate", "return_rate", "cancel_rate", "growth", "on_time_rate", "retention",
           "repeat_rate", "uplift", "peak_uplift", "after_change", "sales_share", "support", "confidence",
           "confidence_ab", "confidence_ba", "cumulative", "within_24h", "within_48h", "breach_rate")
# takeaway parameters that are codes to translate (parameter → label prefix)
CODED_PARAMS = {"weekday": "an_weekday", "event": "an_event", "stage": "an_stage", "segment": "an_segment"}


REFRESH_POLL_SECONDS = 3


def data_as_of() -> bool:
    """Say how current the summaries are; True when they reflect the latest write. Behind, the
    page shows what they hold, says since when, and reruns by itself once they are current."""
    state = summary.freshness()
    at = local_time(state.refreshed_at) if state.refreshed_at else None
    if state.current:
        st.caption(t("an.data_as_of", at=at), help=t("an.data_as_of_help"))
        return True
    st.info(t("an.stale", at=at) if at else t("an.never_built"), icon=":material/hourglass:")
    st.fragment(_rerun_when_current, run_every=REFRESH_POLL_SECONDS)()
    return False


def _rerun_when_current() -> None:
    """Polled while the summaries are behind: rerun the whole page once they caught up."""
    if summary.is_current():
        st.rerun(scope="app")


def open_dashboard(title_key: str, **filter_options: Any) -> tuple[Filters, bool]:
    """The head every dashboard shares: its title, the filter bar (the page stops while the
    filters are invalid) and how current the summaries are. Returns the filters and whether
    the summaries are current (see :func:`data_as_of`)."""
    st.title(t(title_key))
    filters = filter_bar(**filter_options)
    if filters is None:
        st.stop()
    return filters, data_as_of()


def read(fn: Callable[..., T], *args: Any, fresh: bool = True) -> T:
    """The page's one analytics call: cached per data version when the summaries are fresh
    (a stale read is not cached); a refused read shows its error and stops the page."""
    try:
        return cached_read(fn, *args) if fresh else fn(*args)
    except OMSError as exc:
        show_error(exc)
        st.stop()


def filter_bar(*, days: int = 30, date_key: str = "an_range", date_label: str = "an.date_range",
               channels: bool = True, warehouses: bool = True, regions: bool = True,
               category: bool = True) -> Filters | None:
    """The filter row; returns the chosen :class:`Filters`, or None (with the reason shown)
    when they are not valid. ``days`` is the default range ending today."""
    options = cached_read(filter_options)
    today = local_today()
    widgets = [w for w, on in (("channels", channels), ("warehouses", warehouses), ("regions", regions),
                               ("category", category)) if on]
    columns = st.columns([2, *([2] * len(widgets))], vertical_alignment="bottom")
    picked = columns[0].date_input(t(date_label), value=(today - dt.timedelta(days=days - 1), today),
                                   max_value=today, key=date_key, format="YYYY-MM-DD", persist_state="session")
    chosen: dict[str, Any] = {}
    for col, widget in zip(columns[1:], widgets, strict=True):
        with col:
            chosen[widget] = _filter_widget(widget, options)
    dates = list(picked) if isinstance(picked, list | tuple) else [picked]
    if not dates or dates[0] is None:
        st.info(t("an.pick_dates"))
        return None
    try:
        return Filters(dates[0], dates[-1], tuple(chosen.get("channels", ())), tuple(chosen.get("warehouses", ())),
                       tuple(chosen.get("regions", ())), chosen.get("category") or None)
    except ValidationError as exc:
        show_error(exc)
        return None


def _filter_widget(widget: str, options: dict[str, pd.DataFrame]) -> Any:
    if widget == "channels":
        names = dict(zip(options["channels"]["code"], options["channels"]["name"], strict=True))
        return st.multiselect(t("an.channels"), list(names), format_func=names.__getitem__, key="an_channels",
                              placeholder=t("an.all"), persist_state="session")
    if widget == "warehouses":
        names = dict(zip(options["warehouses"]["code"], options["warehouses"]["name"], strict=True))
        return st.multiselect(t("an.warehouses"), list(names), format_func=names.__getitem__, key="an_warehouses",
                              placeholder=t("an.all"), persist_state="session")
    if widget == "regions":
        names = {r: (t("an.region_unknown") if r == UNKNOWN_REGION else r) for r in options["regions"]["region"]}
        return st.multiselect(t("an.regions"), list(names), format_func=names.__getitem__, key="an_regions",
                              placeholder=t("an.all"), persist_state="session")
    names = {"": t("an.all_categories")} | {c: c for c in options["categories"]["category"]}
    return st.selectbox(t("an.category"), list(names), format_func=names.__getitem__, key="an_category",
                        persist_state="session")


def _param(name: str, value: Any) -> Any:
    if name in CODED_PARAMS:
        return label(CODED_PARAMS[name], value)
    if isinstance(value, Decimal):
        return money(value)
    return value


def takeaway(tk: Takeaway | None) -> None:
    """The chart's one-line takeaway (nothing when the data has nothing to say)."""
    if tk is not None:
        st.info(t(tk.key, **{k: _param(k, v) for k, v in tk.params.items()}), icon=":material/lightbulb:")


def chart(fig: go.Figure, key: str) -> None:
    """A plotly chart in the dashboards' style (compact margins, legend on top)."""
    fig.update_layout(margin={"t": 30, "b": 10, "l": 10, "r": 10}, legend={"orientation": "h", "y": 1.1})
    webui.show_chart(fig, key=key)


def table(df: pd.DataFrame, basename: str, title_key: str = "an.table", *, expanded: bool = False) -> None:
    """``df`` in an expander with translated headers and CSV/XLSX downloads."""
    with st.expander(t(title_key), icon=":material/table:", expanded=expanded):
        show_table(df, download=basename, prefix="acol", percent=[c for c in PERCENT if c in df.columns],
                   money=[c for c in MONEY if c in df.columns])


def cost_and_walk_in_notes(kpis: pd.Series) -> None:
    """Under a KPI row: how much of the sales the margin leaves out (products whose cost is
    unknown, never read as 100 % margin) and how many orders were walk-in sales."""
    if kpis.get("uncosted_sales"):
        st.caption(t("imh.cost_unknown_lines", amount=money(kpis["uncosted_sales"])))
    if kpis.get("walk_in_orders"):
        st.caption(t("imh.walk_in_orders", n=number(int(kpis['walk_in_orders']))))


def coded(values: Iterable[Any], prefix: str) -> list[str]:
    """Codes (stage, segment, weekday …) as display names, for chart axes."""
    return [label(prefix, v) for v in values]


def names(prefix: str, codes: Iterable[Any]) -> dict[Any, str]:
    """``{code: display name}`` for ``format_func`` (see core.webui.labels)."""
    return labels(prefix, codes)


def empty(df: pd.DataFrame, column: str) -> bool:
    """No data to chart: the frame is empty or ``column`` sums to zero."""
    if df.empty:
        return True
    total = sum(df[column])
    return not total


def as_float(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Copy with Decimal/None columns as floats, for plotting."""
    out = df.copy()
    for c in columns:
        out[c] = [None if v is None or (isinstance(v, float) and pd.isna(v)) else float(v) for v in out[c]]
    return out


def delta(current: Any, previous: Any) -> str | None:
    """Relative change for ``st.metric`` ("+12.5%"); None when there is nothing to compare."""
    if current is None or previous is None or pd.isna(current) or pd.isna(previous) or not previous:
        return None
    return f"{float(current) / float(previous) - 1:+.1%}"


def delta_points(current: float | None, previous: float | None) -> str | None:
    """Change of a rate in percentage points for ``st.metric`` ("+1.2 pp")."""
    if current is None or previous is None or pd.isna(current) or pd.isna(previous):
        return None
    return t("an.pp", value=f"{(current - previous) * 100:+.1f}")


def rate(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else percent(value)
