"""Product analysis: best and worst SKUs, the ABC (net sales) × XYZ (demand steadiness)
matrix, and products bought together (support, confidence, lift) — the same pairs the order
entry page offers as add-on suggestions. One cached analytics call per rerun.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.analytics import products
from core.analytics.dashboards import products_dashboard
from core.webui import guard_page, t
from pages import _dashboard_kit as kit

TOP_N = 10

guard_page("dashboard.view")

filters, fresh = kit.open_dashboard("page.products")
dash = kit.read(products_dashboard, filters, fresh=fresh)
perf = dash.performance
labels = {"sku": t("acol.sku"), "net_sales": t("acol.net_sales"), "units": t("acol.units"),
          "category": t("acol.category")}

# --- top and bottom SKUs -----------------------------------------------------------------------
st.subheader(t("an.products.top"))
left, right = st.columns(2)
with left:
    kit.takeaway(products.top_takeaway(perf, TOP_N))
    top = perf[perf["units"] > 0].head(TOP_N)
    if top.empty:
        st.info(t("an.no_data"))
    else:
        kit.chart(px.bar(kit.as_float(top, "net_sales"), x="net_sales", y="sku", color="category", orientation="h",
                         hover_data=["name", "units"], labels=labels).update_yaxes(autorange="reversed"),
                  "products_top")
with right:
    kit.takeaway(products.bottom_takeaway(perf))
    bottom = perf.tail(TOP_N).iloc[::-1]
    if bottom.empty:
        st.info(t("an.no_data"))
    else:
        kit.chart(px.bar(kit.as_float(bottom, "net_sales"), x="net_sales", y="sku", color="category",
                         orientation="h", hover_data=["name", "units"], labels=labels)
                  .update_yaxes(autorange="reversed"), "products_bottom")
if int(perf["cost"].isna().sum()):
    st.caption(t("imh.cost_unknown_left_out", n=int(perf["cost"].isna().sum())))
kit.table(perf.drop(columns="product_id"), "sku_performance")

# --- ABC × XYZ ---------------------------------------------------------------------------------
st.subheader(t("an.products.abc"))
st.caption(t("an.products.abc_help"))
kit.takeaway(products.abc_takeaway(dash.classes))
if dash.classes["xyz"].isna().all():
    st.info(t("an.products.xyz_short", weeks=products.MIN_WEEKS))
elif not kit.empty(dash.matrix, "products"):
    grid = dash.matrix.pivot(index="abc", columns="xyz", values="products")
    fig = px.imshow(grid.values, x=list(grid.columns), y=list(grid.index), text_auto=True,
                    color_continuous_scale="Oranges", labels={"color": t("acol.products")})
    kit.chart(fig, "products_abc_xyz")
kit.table(dash.classes.drop(columns="product_id"), "abc_xyz")

# --- bought together ---------------------------------------------------------------------------
st.subheader(t("an.products.pairs"))
st.caption(t("an.products.pairs_help"))
kit.takeaway(products.pairs_takeaway(dash.pairs))
if dash.pairs.empty:
    st.info(t("an.products.no_pairs"))
else:
    shown = kit.as_float(dash.pairs.head(15), "lift", "confidence_ab").assign(
        pair=[f"{a} + {b}" for a, b in zip(dash.pairs["sku_a"].head(15), dash.pairs["sku_b"].head(15), strict=True)])
    kit.chart(px.bar(shown, x="lift", y="pair", orientation="h", hover_data=["orders", "confidence_ab"],
                     labels={"lift": t("acol.lift"), "pair": ""}).update_yaxes(autorange="reversed"),
              "products_pairs")
kit.table(dash.pairs, "basket_pairs", expanded=True)
