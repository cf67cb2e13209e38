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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import analytics, config, i18n, pii
from core.clients import client_key
from core.documents.order_slip import render_order_slip, render_packing_slip
from core.errors import FieldIssue, InsufficientStock, OMSError, ValidationError
from core.exports import csv_part, to_csv_bytes, to_xlsx_bytes  # re-exported: the pages' download helpers
from core.permissions import ROLES, Actor
from core.services import users
from core.services.orders import OrderDetail
from core.timeutil import TIME_FORMAT, format_time, shop_tz

T = TypeVar("T")

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CACHE_TTL_SECONDS = 600  # "today" and the like-for-like comparison move with the clock
# column names (as the services return them) shown as money or as a share
MONEY_COLUMNS = frozenset({"total", "subtotal", "unit_price", "discount", "line_total", "revenue", "aov",
                           "shipping_fee"}) | {"rma_refund_due", "rma_refunded", "rma_paid", "rma_line_refund"}
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
    ended = _session_ended()
    if ended is not None:
        sign_out(ended)
        st.rerun()  # the entry script shows the login form with the reason
    if st.session_state["role"] != role:
        st.rerun()  # the admin changed the role: rebuild the menu for it
    return Actor(str(username), str(role))


def _session_ended() -> str | None:
    """Why this signed-in session must end now — ``"expired"`` after ``OMS_IDLE_MINUTES``
    without a click, ``"disabled"`` once an admin deactivated the account — else None.

    Refreshes the idle clock, and the role from the account so a change applies at once. The
    account is re-read (one indexed query) only for sessions opened by the login form
    (``signed_in_at``); page tests put a role into session state directly. A busy database
    skips the re-check rather than signing anyone out.
    """
    state = st.session_state
    now = time.time()
    if now - state.get("last_seen", now) > config.idle_timeout_minutes() * 60:
        return "expired"
    state["last_seen"] = now
    if "signed_in_at" not in state:
        return None
    try:
        account = users.session_user(str(state["username"]))
    except OMSError:
        return None
    if account is None:
        return "disabled"
    state["role"] = account.role
    return None


def sign_out(reason: str | None = None) -> None:
    """Drop the identity and every page's working state (baskets, picks, messages), keeping
    the language; ``reason`` ("expired", "disabled") is explained on the login form."""
    language = st.session_state.get("lang")
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if language is not None:
        st.session_state["lang"] = language
    if reason is not None:
        st.session_state["login_error"] = reason


def guard_page(action: str) -> Actor:
    """The current actor if it may ``action`` (the permission behind this page); else stop."""
    actor = current_actor()
    if not actor.can(action):
        st.error(t("error.permission"))
        st.stop()
    return actor


def client_id() -> str:
    """This browser's key for the backoff of failed sign-ins and lookups (``core.clients``):
    its address, so a reload does not start afresh; the session id when none is known."""
    ctx = get_script_run_ctx()
    headers = st.context.headers
    address = st.context.ip_address
    return client_key(address if isinstance(address, str) else None,  # AppTest hands out a mock here
                      headers.get("X-Forwarded-For"), headers.get("X-Real-IP"),
                      ctx.session_id if ctx is not None else "none")


# --- the page's own styles and the phone menu ----------------------------------------------

PHONE_WIDTH_PX = 640  # at most this wide counts as a phone: controls grow, the menu folds away
TOUCH_PX = 44  # the smallest comfortable touch target (Apple HIG, WCAG 2.5.5)

# Fold the side menu away after a page is chosen on a phone: Streamlit 1.67 keeps it open over
# the page when the sidebar holds widgets (streamlit/streamlit#12065). The click is seen in the
# capture phase; the fold is repeated until the new page is drawn (drawing may re-open the menu).
_MENU_CLOSER = """<script>
(() => {
  if (window.omsMenuCloser) return;
  window.omsMenuCloser = true;
  document.addEventListener("click", (event) => {
    if (!window.matchMedia("(max-width: %(width)dpx)").matches
        || !event.target.closest('[data-testid="stSidebarNav"] a')) return;
    const start = Date.now();
    const fold = () => {
      const bar = document.querySelector('[data-testid="stSidebar"]');
      const app = document.querySelector('[data-testid="stApp"]');
      if (bar && bar.dataset.collapsed === "false") {
        bar.querySelector('[data-testid="stSidebarCollapseButton"] button')?.click();
      } else if (Date.now() - start > 600 && app?.dataset.testScriptState === "notRunning") {
        return;  // the new page is drawn and the menu stayed folded
      }
      if (Date.now() - start < 3000) setTimeout(fold, 120);
    };
    setTimeout(fold, 60);
  }, true);
})();
</script>"""


# What a finger must hit on a phone, inside the page (help icons, which only explain, excepted);
# tests/browser/test_phone.py measures the same elements.
TOUCH_TARGETS = (
    'button:not([data-testid="stTooltipIcon"] button)', '[role="tab"]',
    '[data-testid="stTextInputRootElement"]', '[data-testid="stNumberInputContainer"]',
    '[data-testid="stTextAreaRootElement"]', '[role="group"]:has(> input[role="combobox"])',
    '[data-testid="stCheckbox"] label', '[role="radiogroup"] label',
)


def _scoped(selectors: tuple[str, ...]) -> str:
    """The selectors limited to the page and the side menu."""
    return ", ".join(f"{area} {sel}" for area in ('[data-testid="stMain"]', '[data-testid="stSidebar"]')
                     for sel in selectors)


PHONE_ONLY, WIDE_ONLY = "phone_only_", "wide_only_"  # key prefixes of containers shown on one kind of screen


def phone_only(key: str) -> Any:
    """A container shown only on a phone: the compact, one-column twin of a wide table."""
    return st.container(key=PHONE_ONLY + key)


def wide_only(key: str) -> Any:
    """A container hidden on a phone (a wide table whose :func:`phone_only` twin is shown there)."""
    return st.container(key=WIDE_ONLY + key)


def _css_text(text: str) -> str:
    """``text`` as a CSS string literal (for ``content:``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def page_chrome() -> None:
    """Styles and the one script every page shares, drawn by ``app.py`` on every run.

    * On a phone (≤ :data:`PHONE_WIDTH_PX`) buttons, inputs, selects, tabs and check boxes are
      at least :data:`TOUCH_PX` tall, and the side menu folds away after a page is chosen.
    * :func:`phone_only` and :func:`wide_only` containers are shown on one kind of screen only.
    * The file uploader's own English ("Upload", "40MB per file • CSV") is replaced by the
      catalog's words: Streamlit 1.67 offers no parameter for them.
    """
    limit = int(st.get_option("server.maxUploadSize"))
    touch = f"min-height: {TOUCH_PX}px"
    st.sidebar.html(f"""<style>
@media (max-width: {PHONE_WIDTH_PX}px) {{
  {_scoped(TOUCH_TARGETS)} {{ {touch}; }}
  [data-testid="stMain"] :is([data-testid="stTextInputRootElement"], [data-testid="stNumberInputContainer"]) input {{
    min-height: {TOUCH_PX - 2}px; }}
  [data-testid="stMain"] :is([data-testid="stCheckbox"], [role="radiogroup"]) label {{ align-items: center; }}
}}
@media (max-width: {PHONE_WIDTH_PX}px) {{ [class*="st-key-{WIDE_ONLY}"] {{ display: none; }} }}
@media (min-width: {PHONE_WIDTH_PX + 1}px) {{ [class*="st-key-{PHONE_ONLY}"] {{ display: none; }} }}
[data-testid="stFileUploaderDropzoneInstructions"] > div > span {{ display: none; }}
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {{ content: {_css_text(t("upload.limit", mb=limit))}; }}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] {{ display: none; }}
[data-testid="stFileUploaderDropzone"] button span[data-has-shortcut]::after {{ content: {_css_text(t("upload.browse"))}; }}
</style>{_MENU_CLOSER % {"width": PHONE_WIDTH_PX}}""", unsafe_allow_javascript=True)


# --- formatting ------------------------------------------------------------------------------


def money(amount: Decimal | float | int | None) -> str:
    """``¥1,234.50`` in the shop's currency (``OMS_CURRENCY``), written the user's language's way."""
    return i18n.format_money(amount, config.currency(), lang())


def number(value: Decimal | float | int | None, decimals: int = 0) -> str:
    """A count or quantity with the user's language's separators."""
    return i18n.format_number(value, lang(), decimals)


def percent(ratio: Decimal | float | None, decimals: int = 1) -> str:
    """A ratio as a percent in the user's language (0.123 → 12.3%)."""
    return i18n.format_percent(ratio, lang(), decimals)


# Date ticks in Chinese by zoom level (d3-time-format; plotly's own labels are English month
# names such as "Nov 2026", and Streamlit's plotly bundle carries no locale dictionaries).
_ZH_DATE_TICKS = (
    {"dtickrange": [None, 86_400_000], "value": "%-m月%-d日 %H:%M"},
    {"dtickrange": [86_400_000, "M1"], "value": "%-m月%-d日"},
    {"dtickrange": ["M1", "M12"], "value": "%Y年%-m月"},
    {"dtickrange": ["M12", None], "value": "%Y年"},
)
_DATE_HOVER = {"zh": "%Y年%-m月%-d日", "en": "%b %-d, %Y"}


def _holds_dates(values: Any) -> bool:
    """Whether an axis' values are days or times (plotly keeps them as given: timestamps,
    dates or ISO strings)."""
    if values is None or len(values) == 0:
        return False
    first = values[0]
    if isinstance(first, str):
        return len(first) >= 10 and first[4] == "-" and first[7] == "-" and first[:4].isdigit()
    return isinstance(first, (dt.date, pd.Timestamp)) or pd.api.types.is_datetime64_any_dtype(
        getattr(values, "dtype", None))


def localize_figure(fig: Any, language: str) -> Any:
    """Number separators, date ticks and hover dates in ``language`` on every date axis."""
    locale = i18n.LOCALES.get(language, i18n.LOCALES["zh"])
    fig.update_layout(separators=i18n.number_symbols(locale))
    date_axes = {getattr(trace, "xaxis", None) or "x" for trace in fig.data
                 if _holds_dates(getattr(trace, "x", None))}
    for axis in date_axes:
        name = "xaxis" + axis[1:]
        fig.layout[name].update(hoverformat=_DATE_HOVER.get(language, _DATE_HOVER["zh"]),
                                **({"tickformatstops": list(_ZH_DATE_TICKS)} if language == "zh" else {}))
    return fig


def show_chart(fig: Any, **kwargs: Any) -> None:
    """``st.plotly_chart`` with the figure's dates and numbers in the user's language."""
    st.plotly_chart(localize_figure(fig, lang()), **kwargs)


def local_time(ts: dt.datetime | None, fmt: str = TIME_FORMAT) -> str:
    """A stored UTC timestamp as shop-local wall time."""
    return format_time(ts, fmt)


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


def stored_text(codes: object, text: object) -> str:
    """A stored alert message or timeline note in the session's language (i18n.stored_text)."""
    return i18n.stored_text(codes, text, lang())


# --- errors ----------------------------------------------------------------------------------


def issue_text(issue: FieldIssue) -> str:
    """"Line 2 · Quantity: must be greater than 0" in the session's language."""
    where = t("error.line", row=issue.row) + " · " if issue.row is not None else ""
    return f"{where}{label('field', issue.field)}: {t(issue.message, **(issue.params or {}))}"


def error_headline(exc: OMSError, what: str | None = None) -> str:
    """The red headline of a refused action. ``what`` names the thing the form would have saved
    (``what.<what>`` in the catalogs: ``adjustment``, ``transfer``, ``user`` …): "输入有误，库存调整
    未保存" rather than a blanket "未保存" — and never "订单未保存" on a form that is no order."""
    if what is not None and i18n.has_key(f"{exc.key}_what", lang()):
        return t(f"{exc.key}_what", **exc.params, what=t(f"what.{what}"))
    return t(exc.key, **exc.params)


def show_error(exc: OMSError, what: str | None = None) -> None:
    """Render a refused action: the translated reason (naming ``what`` was not saved, see
    :func:`error_headline`), then every field issue or shortage. A refusal told by its own
    message code says everything in its headline; a generic one's English detail (a tool's
    output, an OS error) is for the admin only, folded away — never a caption in English under
    a Chinese headline."""
    st.error(error_headline(exc, what))
    if isinstance(exc, ValidationError):
        st.markdown("\n".join(f"- {issue_text(i)}" for i in exc.issues))
    elif isinstance(exc, InsufficientStock):
        st.markdown("\n".join(
            "- " + t("error.shortage", sku=s.sku, warehouse=s.warehouse, requested=s.requested,
                     available=s.available)
            for s in exc.shortages
        ))
    elif exc.message != i18n.translate(exc.key, "en", **exc.params) and st.session_state.get("role") == "admin":
        with st.expander(t("error.details")):  # a generic refusal's technical detail (English), admins only
            st.code(exc.message, language=None)


@dataclass(frozen=True)
class Notice:
    """A message to show after a callback ran: its kind (``success``/``info``/``warning``/
    ``error``), a catalog key and parameters. Stored untranslated so a language switch applies."""

    kind: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


def show_notice(value: Notice | OMSError | None, what: str | None = None) -> None:
    """Render what a callback left in session state: a Notice, a refused action (``what``: see
    :func:`error_headline`), or nothing."""
    if isinstance(value, OMSError):
        show_error(value, what)
    elif isinstance(value, Notice):
        getattr(st, value.kind)(t(value.key, **value.params))


# Refusals of a read that only mean "nothing here yet" — what a fresh install sees — shown as a
# hint with the next step (blue), not as a red error: refusal code → hint code.
NOTHING_YET = {"asof.no_run": "empty.no_forecast"}


def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call a service while rendering; on a refused action show why and return None (a
    "nothing here yet" refusal, :data:`NOTHING_YET`, as a hint saying what to do first)."""
    try:
        return fn(*args, **kwargs)
    except OMSError as exc:
        hint = NOTHING_YET.get(exc.key)
        if hint is None:
            show_error(exc)
        else:
            st.info(t(hint, **exc.params))
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


# --- downloads (files are written by core.exports) -------------------------------------------


# displayed header (either language) → service column name, for masking translated tables
_PII_HEADERS = {i18n.translate(f"field.{name}", lang_): name for name in pii.MASKERS for lang_ in i18n.LANGUAGES
                if i18n.has_key(f"field.{name}", lang_)}


def protect(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as the logged-in role may see it: phones, street addresses and e-mails masked
    unless the role has ``customer.pii`` (no role at all counts as no permission)."""
    username, role = st.session_state.get("username"), st.session_state.get("role")
    actor = Actor(str(username), str(role)) if role in ROLES else None
    return pii.mask_frame(df, actor, _PII_HEADERS)


PDF_MIME = "application/pdf"


def pdf_download(label_key: str, render: Callable[[], bytes], file_name: str, key: str, *,
                 container: Any = None) -> None:
    """Download button for a printable PDF; ``render`` runs only when it is clicked."""
    (container or st).download_button(t(label_key), data=render, file_name=file_name, mime=PDF_MIME, key=key,
                                      on_click="ignore", icon=":material/print:")


def slip_download(number: str, load_detail: Callable[[], OrderDetail], key: str, *, packing: bool = False) -> None:
    """The order slip as a PDF (and with ``packing`` the packing slip beside it), on the shop's
    letterhead in the reader's language; the detail is read only when a button is clicked."""
    language, head, currency = lang(), config.letterhead(), config.currency()
    columns = st.columns(2) if packing else [st]
    pdf_download("doc.order_slip", lambda: render_order_slip(load_detail(), head, language, currency),
                 f"{number}.pdf", key, container=columns[0])
    if packing:
        pdf_download("doc.packing_slip", lambda: render_packing_slip(load_detail(), head, language),
                     f"{number}-packing.pdf", f"{key}_packing", container=columns[1])


def show_tabs(tabs: dict[str, Callable[[], None]]) -> None:
    """One strip of tabs, each body drawn by its function, in the order given; a tab the role
    may not use is simply left out of ``tabs``."""
    for body, container in zip(tabs.values(), st.tabs(list(tabs)), strict=True):
        with container:
            body()


def download_buttons(df: pd.DataFrame, basename: str) -> None:
    """CSV and XLSX download buttons for ``df`` (built only when clicked, no rerun); personal
    data is masked for the role (:func:`protect`) and formulas neutralised."""
    frame = protect(df).copy()
    left, right = st.columns(2)
    left.download_button(t("common.download_csv"), data=lambda: to_csv_bytes(frame),
                         file_name=f"{basename}.csv", mime=CSV_MIME, key=f"dl_csv_{basename}", on_click="ignore")
    right.download_button(t("common.download_xlsx"), data=lambda: to_xlsx_bytes(frame, basename),
                          file_name=f"{basename}.xlsx", mime=XLSX_MIME, key=f"dl_xlsx_{basename}",
                          on_click="ignore")


PAGE_SIZES = (50, 100, 200, 500)


def pager(key: str, total: int) -> tuple[int, int]:
    """Page size and page number (its steppers are previous/next) for a list of ``total``
    rows, with "rows a–b of N"; returns ``(offset, limit)`` for the service. A page number
    left beyond the last page by a narrower filter falls back to the last page."""
    size_col, page_col = st.columns(2, vertical_alignment="bottom")
    size = int(size_col.selectbox(t("list.page_size"), PAGE_SIZES, index=0, key=f"{key}_size"))
    pages = max(1, -(-total // size))
    if int(st.session_state.get(f"{key}_page", 1)) > pages:
        st.session_state[f"{key}_page"] = pages
    number = int(page_col.number_input(t("list.page", pages=pages), min_value=1, max_value=pages, value=1, step=1,
                                       key=f"{key}_page"))
    offset = (number - 1) * size
    st.caption(t("list.showing", first=min(offset + 1, total), last=min(offset + size, total), total=total))
    return offset, size


def download_all(basename: str, total: int, produce: Callable[[Callable[[pd.DataFrame], object]], object],
                 shape: Callable[[pd.DataFrame], pd.DataFrame] = lambda df: df, *, prefix: str = "field") -> None:
    """"Download all N rows" as CSV: built only when clicked, by ``produce(sink)`` (a service
    feeding every matching row in chunks, no cap); each chunk is ``shape``d as the page shows
    it, masked and given translated headers, and written with formulas neutralised."""
    def build() -> bytes:
        parts: list[bytes] = []
        produce(lambda chunk: parts.append(csv_part(_as_shown(shape(chunk), prefix), first=not parts)))
        return b"".join(parts)

    st.download_button(t("list.download_all", n=total), data=build, file_name=f"{basename}.csv", mime=CSV_MIME,
                       key=f"dl_all_{basename}", on_click="ignore", icon=":material/download:")


COSTED = ("unit_cost", "cost", "gross_margin", "stock_value")  # None in these: the product's cost is unknown


def with_cost_notes(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus a ``cost_note`` column saying "cost unknown" on rows whose cost figures are
    missing because the product's cost is unknown (a number column cannot say it); ``df``
    itself when every cost is known."""
    costed = [c for c in COSTED if c in df.columns]
    if not costed or df.empty:
        return df
    unknown = df[costed].isna().any(axis=1)
    if not unknown.any():
        return df
    return df.assign(cost_note=[t("imh.cost_unknown") if u else "" for u in unknown])


def _as_shown(df: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """``df`` as a table shows and exports it: cost notes, personal data masked, headers
    translated (``<prefix>.<column>``)."""
    df = with_cost_notes(df)
    return protect(df).rename(columns={c: label(prefix, c) for c in df.columns})


EMPTY_CELL = "—"  # what every table and grid shows for a missing value (Streamlit's own default says "None")


def show_table(df: pd.DataFrame, download: str | None = None, *, prefix: str = "field",
               percent: Iterable[str] = (), money: Iterable[str] = ()) -> None:
    """A service's DataFrame as a table with translated headers, money to the cent, and
    (with ``download`` as file base name) CSV/XLSX buttons for exactly what is shown.
    Personal data is masked for roles without ``customer.pii`` (:func:`protect`).
    Headers are looked up as ``<prefix>.<column>``; ``percent`` and ``money`` name extra
    ratio and money columns. Rows whose cost figures are missing say "cost unknown"."""
    shown = _as_shown(df, prefix)
    config = {label(prefix, c): st.column_config.NumberColumn(format="%.2f") for c in df.columns
              if c in MONEY_COLUMNS or c in set(money)}
    config |= {label(prefix, c): st.column_config.NumberColumn(format="percent") for c in df.columns
               if c in SHARE_COLUMNS or c in set(percent)}
    st.dataframe(shown, hide_index=True, column_config=config, placeholder=EMPTY_CELL)
    if download:
        download_buttons(shown, download)


def cell_text(value: object) -> str:
    """A cell as text for a line of words: :data:`EMPTY_CELL` for a missing or empty value
    (pandas gives NaN or NA, never the word "None")."""
    return EMPTY_CELL if value is None or value is pd.NA or value == "" or (isinstance(value, float) and value != value) \
        else str(value)


def show_lines(df: pd.DataFrame, key: str, line: Callable[[Any], str], **table: Any) -> None:
    """``df`` as a table (:func:`show_table` with ``table``) on a wide screen and, on a phone, one
    short markdown block per row (``line(row)`` of ``df.itertuples()``): nothing to scroll sideways."""
    with wide_only(key):
        show_table(df, **table)
    with phone_only(key):
        for row in df.itertuples(index=False):
            st.markdown(line(row))


def cell_qty(value: object) -> Any:
    """A quantity cell exactly as typed, for the service to judge and refuse with its row.

    Editable quantity columns are float columns without ``min_value``/``step``: a NumberColumn
    with ``min_value=0`` drops the minus sign in the browser (−5 became an order for 5) and an
    integer column truncates 2.5 to 2 (``int()`` in Streamlit's edit parsing) — both silently.
    Here a whole number becomes an int, anything else (−5, 2.5, 1e20, inf) is passed on
    unchanged, and an empty cell counts as 0 so the service names the row.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return 0
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def qty_column(label_text: str, **kwargs: Any) -> Any:
    """The column config of an editable quantity: no ``min_value``, ``max_value`` or ``step``
    (see :func:`cell_qty`): the service, not the widget, decides what is acceptable."""
    return st.column_config.NumberColumn(label_text, **kwargs)


def sku_qty_editor(key: str) -> list[tuple[str, Any]]:
    """An empty, growable SKU × quantity sheet (transfers, ad-hoc receipts); returns the
    rows as ``(sku, qty)`` with blank rows dropped and each quantity as typed
    (:func:`cell_qty`), so the service — not the page — names the row and field that is wrong."""
    blank = pd.DataFrame({"sku": pd.Series(dtype="string"), "qty": pd.Series(dtype="float64")})
    lines = st.data_editor(blank, num_rows="dynamic", hide_index=True, key=key, placeholder=EMPTY_CELL,
                           column_config={"sku": st.column_config.TextColumn(t("field.sku")),
                                          "qty": qty_column(t("field.qty"))})
    return [(str(r.sku or "").strip(), cell_qty(r.qty))
            for r in lines.itertuples() if not (pd.isna(r.sku) and pd.isna(r.qty))]


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
