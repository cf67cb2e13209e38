"""Inventory: stock by product × warehouse — on hand, reserved, available, in transit, safety stock,
days of cover — with filters, rows under safety stock highlighted, and a product view with the
product's ledger history (who moved what, why, from which document) and its stock over time;
kits (组合装), which hold no stock, below with what each warehouse can build of them.

Reads only (``core.analytics.inventory`` through ``cached_read``); costs and stock value are shown
to roles with ``cost.view``.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.analytics import inventory
from core.searchbox import MAX_SEARCH_CHARS
from core.services import catalog, kits
from core.webui import (
    EMPTY_CELL,
    attempt,
    cached_read,
    download_all,
    download_buttons,
    guard_page,
    label,
    localize_columns,
    localize_times,
    money,
    number,
    pager,
    show_chart,
    show_table,
    t,
    translate_values,
)

actor = guard_page("stock.view")
BELOW_SAFETY_STYLE = "background-color: #fde2e1"
HISTORY_DAYS = (30, 90, 180, 365)
NUMBER_FORMATS = {"daily_demand": 2, "days_of_cover": 1, "unit_cost": 2, "stock_value": 2}  # decimals shown


def _filters() -> dict[str, object]:
    warehouses = cached_read(catalog.list_warehouses)
    codes = [None, *warehouses["code"]]
    names = {None: t("common.all")} | dict(zip(warehouses["code"], warehouses["name"], strict=True))
    categories = [None, *cached_read(inventory.categories)]
    wh_col, cat_col, query_col, below_col = st.columns([2, 2, 3, 2], vertical_alignment="bottom")
    warehouse = wh_col.selectbox(t("field.warehouse"), codes, format_func=names.__getitem__, key="inv_wh")
    category = cat_col.selectbox(t("field.category"), categories,
                                 format_func=lambda c: t("common.all") if c is None else c, key="inv_cat")
    query = query_col.text_input(t("inv.search"), key="inv_query", placeholder=t("inv.search_hint"),
                                 max_chars=MAX_SEARCH_CHARS)
    below = below_col.checkbox(t("inv.below_only"), key="inv_below")
    return {"warehouse": warehouse, "category": category, "query": query or "", "below_safety_only": below,
            "include_cost": actor.can("cost.view")}


def _metrics(view: pd.DataFrame) -> None:
    cols = st.columns(5 if "stock_value" in view else 4)
    cols[0].metric(t("inv.rows"), number(len(view)))
    cols[1].metric(t("field.on_hand"), number(int(view['on_hand'].sum())))
    cols[2].metric(t("field.in_transit"), number(int(view['in_transit'].sum())))
    cols[3].metric(t("inv.below_count"), number(int(view['below_safety'].sum())))
    if "stock_value" in view:  # products whose cost is unknown have no value: counted apart
        unknown = int(view["stock_value"].isna().sum())
        cols[4].metric(t("field.stock_value"), money(sum(v for v in view["stock_value"] if v is not None and v == v)),
                       help=t("imh.stock_cost_unknown", n=unknown) if unknown else None)


def _stock_table(view: pd.DataFrame) -> None:
    """The stock table with rows below safety stock highlighted; downloads give what is shown."""
    shown = localize_columns(view.drop(columns=["product_id", "below_safety"]).reset_index(drop=True))
    below = view["below_safety"].to_numpy()
    decimals = {label("field", c): f"{{:.{n}f}}" for c, n in NUMBER_FORMATS.items() if c in view}
    costs = [label("field", c) for c in ("unit_cost", "stock_value") if c in view]
    styled = (shown.style.apply(lambda row: [BELOW_SAFETY_STYLE if below[row.name] else ""] * len(row), axis=1)
              .format(decimals, na_rep="—"))
    if costs:  # a missing cost is an unknown cost, said in words
        styled = styled.format("{:.2f}", subset=costs, na_rep=t("imh.cost_unknown"))
    st.dataframe(styled, hide_index=True, placeholder=EMPTY_CELL)
    st.caption(t("inv.highlight_hint"))
    download_buttons(shown, "stock")


def _ledger(product_id: int, warehouse: str | None) -> None:
    """The product's movements: the exact count, a page at a time, all of them as one CSV."""
    total = cached_read(inventory.count_ledger, product_id, warehouse)
    if total == 0:
        st.info(t("inv.no_movements"))
        return
    offset, limit = pager(f"inv_ledger_{product_id}", total)
    show_table(_as_listed(cached_read(inventory.product_ledger, product_id, warehouse, limit, offset)))
    download_all(f"ledger_{product_id}", total,
                 lambda sink: inventory.export_ledger(product_id, sink, warehouse), _as_listed)


def _as_listed(ledger: pd.DataFrame) -> pd.DataFrame:
    """A page of movements, or a chunk of the full download, as the list shows it."""
    return translate_values(localize_times(ledger.drop(columns=["id"]), "at"), kind="move_kind")


def _history_chart(product_id: int, warehouse: str | None, safety: pd.DataFrame) -> None:
    days = st.segmented_control(t("inv.history_days"), HISTORY_DAYS, default=90, key="inv_days",
                                format_func=lambda d: t("dash.n_days", n=d)) or 90
    series = cached_read(inventory.stock_over_time, product_id, days, warehouse)
    if series.empty:
        st.info(t("inv.no_movements"))
        return
    fig = px.line(series, x="day", y="on_hand", color="warehouse", line_shape="hv",
                  labels={"day": t("field.day"), "on_hand": t("field.on_hand"), "warehouse": t("field.warehouse")})
    for row in safety.itertuples():
        if row.safety_stock > 0:
            fig.add_hline(y=row.safety_stock, line_dash="dot", opacity=0.5,
                          annotation_text=t("inv.safety_line", warehouse=row.warehouse))
    fig.update_layout(margin={"t": 10, "b": 10})
    fig.update_xaxes(tickformat="%m-%d")
    show_chart(fig, key="inv_chart")
    with st.expander(t("dash.tables"), icon=":material/table:"):
        show_table(series, download=f"stock_history_{product_id}")


def _product_view(view: pd.DataFrame, warehouse: str | None) -> None:
    products = view.drop_duplicates("product_id").set_index("product_id")
    options = {int(pid): f"{r.sku} · {r['name']}" for pid, r in products.iterrows()}
    picked = st.selectbox(t("inv.pick_product"), list(options), index=None, format_func=options.__getitem__,
                          key="inv_product", placeholder=t("inv.pick_product_hint"))
    if picked is None:
        return
    st.subheader(options[picked])
    ledger_tab, chart_tab = st.tabs([t("inv.ledger"), t("inv.over_time")])
    with ledger_tab:
        _ledger(picked, warehouse)
    with chart_tab:
        _history_chart(picked, warehouse, view[view["product_id"] == picked][["warehouse", "safety_stock"]])


st.title(t("page.inventory"))
filters = _filters()
stock_view = cached_read(inventory.stock_overview, **filters)
if stock_view.empty:
    st.info(t("inv.none_found"))
else:
    _metrics(stock_view)
    _stock_table(stock_view)
    st.divider()
    _product_view(stock_view, filters["warehouse"])  # type: ignore[arg-type]

buildable = attempt(kits.kit_availability, actor)
if buildable is not None and not buildable.empty:
    with st.expander(t("kits.availability"), icon=":material/inventory_2:"):
        st.caption(t("kits.help"))
        show_table(buildable, download="kits_available", prefix="kits_col")
