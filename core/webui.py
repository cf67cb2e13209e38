"""The one module in ``core`` that imports streamlit: the small adapter pages share.

It binds translation to the session's language, turns the logged-in session into an
:class:`~core.permissions.Actor`, renders :class:`~core.errors.OMSError` consistently (field
issues with their line, stock shortages with what is available), offers tables as CSV/XLSX,
formats money and times for the shop, and caches dashboard reads keyed on
:func:`core.analytics.data_version` so a new order shows on the next rerun. Everything else in
``core`` stays testable with plain pytest.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from core import analytics, config, i18n
from core.errors import FieldIssue, InsufficientStock, OMSError, ValidationError
from core.permissions import ROLES, Actor
from core.services.orders import OrderDetail
from core.slips import render_slip
from core.timeutil import shop_tz

T = TypeVar("T")

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CACHE_TTL_SECONDS = 600  # "today" and the like-for-like comparison move with the clock
# column names (as the services return them) shown as money or as a share
MONEY_COLUMNS = frozenset({"total", "subtotal", "unit_price", "discount", "line_total", "revenue", "aov",
                           "shipping_fee"})
SHARE_COLUMNS = frozenset({"share"})


def lang() -> str:
    """The session's UI language (``st.session_state["lang"]``), else ``OMS_LANG``."""
    value = st.session_state.get("lang")
    return value if value in i18n.LANGUAGES else config.default_language()


def t(key: str, **params: Any) -> str:
    """Translate ``key`` into the session's language."""
    return i18n.translate(key, lang(), **params)


def label(prefix: str, value: object) -> str:
    """Display name of a code (``label("status", "confirmed")``); the raw code if unknown."""
    return i18n.label(prefix, value, lang())


def labels(prefix: str, codes: Iterable[object]) -> dict[object, str]:
    """``{code: display name}`` for a select widget's ``format_func=labels(...).__getitem__``.

    Names are resolved now, while the script runs: a ``format_func`` that reads session state
    later (AppTest calls it outside the run) would see no language.
    """
    return {code: label(prefix, code) for code in codes}


def current_actor() -> Actor:
    """The logged-in user as an Actor; stops the page when nobody is logged in.

    Pages call this (through :func:`guard_page`) instead of trusting ``app.py``: Streamlit can
    run a page file without the entry script (a fresh server's first request for a page URL,
    and AppTest reruns), so the page itself must refuse an anonymous session.
    """
    username, role = st.session_state.get("username"), st.session_state.get("role")
    if not username or role not in ROLES:
        st.warning(t("login.required"))
        st.stop()
    return Actor(str(username), str(role))


def guard_page(action: str) -> Actor:
    """The current actor if it may ``action`` (the permission behind this page); else stop."""
    actor = current_actor()
    if not actor.can(action):
        st.error(t("error.permission"))
        st.stop()
    return actor


# --- formatting ------------------------------------------------------------------------------


def money(amount: Decimal | float | int | None) -> str:
    """``¥1,234.50`` in the shop's currency (``OMS_CURRENCY``)."""
    return i18n.format_money(amount, config.currency())


def local_time(ts: dt.datetime | None, fmt: str = i18n.TIME_FORMAT) -> str:
    """A stored UTC timestamp as shop-local wall time."""
    return i18n.format_time(ts, fmt)


def localize_times(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Copy of ``df`` with the given naive-UTC columns shown as naive shop-local times."""
    out = df.copy()
    for col in columns:
        values = pd.to_datetime(out[col])
        out[col] = values.dt.tz_localize("UTC").dt.tz_convert(shop_tz()).dt.tz_localize(None)
    return out


def translate_values(df: pd.DataFrame, **prefixes: str) -> pd.DataFrame:
    """Copy of ``df`` with code columns shown by name: ``translate_values(df, status="status")``."""
    out = df.copy()
    for col, prefix in prefixes.items():
        out[col] = ["" if pd.isna(v) else label(prefix, v) for v in out[col]]
    return out


def localize_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with column headers translated (``field.<column>``) where known."""
    return df.rename(columns={c: label("field", c) for c in df.columns})


# --- errors ----------------------------------------------------------------------------------


def issue_text(issue: FieldIssue) -> str:
    """"Line 2 · Quantity: must be greater than 0" in the session's language."""
    where = t("error.line", row=issue.row) + " · " if issue.row is not None else ""
    return f"{where}{label('field', issue.field)}: {i18n.translate_reason(issue.message, lang())}"


def show_error(exc: OMSError) -> None:
    """Render a refused action: the translated reason, then every field issue or shortage."""
    st.error(t(exc.key, **exc.params))
    if isinstance(exc, ValidationError):
        st.markdown("\n".join(f"- {issue_text(i)}" for i in exc.issues))
    elif isinstance(exc, InsufficientStock):
        st.markdown("\n".join(
            "- " + t("error.shortage", sku=s.sku, warehouse=s.warehouse, requested=s.requested,
                     available=s.available)
            for s in exc.shortages
        ))
    else:
        st.caption(exc.message)


@dataclass(frozen=True)
class Notice:
    """A message to show after a callback ran: its kind (``success``/``info``/``warning``/
    ``error``), a catalog key and parameters. Stored untranslated so a language switch applies."""

    kind: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


def show_notice(value: Notice | OMSError | None) -> None:
    """Render what a callback left in session state: a Notice, a refused action, or nothing."""
    if isinstance(value, OMSError):
        show_error(value)
    elif isinstance(value, Notice):
        getattr(st, value.kind)(t(value.key, **value.params))


def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call a service while rendering; on a refused action show why and return None."""
    try:
        return fn(*args, **kwargs)
    except OMSError as exc:
        show_error(exc)
        return None


def field_issues(exc: OMSError | None, *fields: str, lines: bool = False) -> None:
    """Show, next to an input, the issues of ``exc`` that concern it.

    ``fields`` are header fields (issues without a line number); ``lines=True`` selects the
    issues that carry a line number (the basket) instead.
    """
    if not isinstance(exc, ValidationError):
        return
    for issue in exc.issues:
        if (issue.row is not None) == lines and (lines or issue.field in fields):
            st.error(issue_text(issue))


# --- downloads -------------------------------------------------------------------------------


def _excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Excel has no timezone-aware datetimes: write them as local wall time."""
    out = df.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_localize(None)
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV with a BOM (utf-8-sig) so Excel opens Chinese text correctly."""
    return df.to_csv(index=False).encode("utf-8-sig")


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "data") -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        _excel_safe(df).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()


def slip_download(number: str, load_detail: Callable[[], OrderDetail], key: str) -> None:
    """Download button for an order's printable slip; the detail is read only when clicked."""
    language = lang()
    st.download_button(
        t("common.slip"), data=lambda: render_slip(load_detail(), language).encode("utf-8"),
        file_name=f"{number}.html", mime="text/html", key=key, on_click="ignore", icon=":material/print:",
    )


def download_buttons(df: pd.DataFrame, basename: str) -> None:
    """CSV and XLSX download buttons for ``df`` (built only when clicked, no rerun)."""
    frame = df.copy()
    left, right = st.columns(2)
    left.download_button(t("common.download_csv"), data=lambda: to_csv_bytes(frame),
                         file_name=f"{basename}.csv", mime=CSV_MIME, key=f"dl_csv_{basename}", on_click="ignore")
    right.download_button(t("common.download_xlsx"), data=lambda: to_xlsx_bytes(frame, basename),
                          file_name=f"{basename}.xlsx", mime=XLSX_MIME, key=f"dl_xlsx_{basename}",
                          on_click="ignore")


def show_table(df: pd.DataFrame, download: str | None = None) -> None:
    """A service's DataFrame as a table with translated headers, money to the cent, and
    (with ``download`` as file base name) CSV/XLSX buttons for exactly what is shown."""
    shown = localize_columns(df)
    config = {label("field", c): st.column_config.NumberColumn(format="%.2f") for c in df.columns
              if c in MONEY_COLUMNS}
    config |= {label("field", c): st.column_config.NumberColumn(format="percent") for c in df.columns
               if c in SHARE_COLUMNS}
    st.dataframe(shown, hide_index=True, column_config=config)
    if download:
        download_buttons(shown, download)


# --- cached reads ----------------------------------------------------------------------------


@st.cache_data(show_spinner=False, ttl=CACHE_TTL_SECONDS, max_entries=256)
def _cached_call(name: str, version: int, database: str, args: tuple, kwargs: dict, _fn: Callable[..., Any]) -> Any:
    """The cache entry for ``name(*args, **kwargs)`` at data ``version`` of ``database``."""
    return _fn(*args, **kwargs)


def cached_read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` served from cache until any write bumps the data version.

    Only for read-only functions with hashable arguments (core.analytics). The version costs
    one indexed ``max(id)`` query per rerun; a hit saves the aggregate query.
    """
    name = f"{fn.__module__}.{fn.__qualname__}"
    version = analytics.data_version()
    return _cached_call(name, version, config.database_url(), args, kwargs, _fn=fn)
