"""Streamlit entry point: language, login, role-based navigation, logout — nothing else.

The pages a role may open are derived from ``core.permissions`` (each page names the action it
needs), so the menu and the services' own checks cannot drift apart. The menu is grouped into
sections by kind of work and each role lands on its main job. A page a role may not open is not
registered at all; each page also re-checks its action itself (see
``core.webui.guard_page``), because Streamlit can run a page file without this script.
"""

from __future__ import annotations

import time

import streamlit as st

from core import config
from core.errors import OMSError
from core.i18n import LANGUAGES
from core.permissions import Actor
from core.services.data_keys import ready
from core.services.shop_setup import needs_setup
from core.services.users import authenticate
from core.webui import client_id, label, page_chrome, show_error, sign_out, t

# Sections of the side menu, in menu order; each names a kind of work (message code nav.<section>).
SECTIONS = ("dashboards", "orders", "warehouse", "purchasing", "aftersales", "system")

# One row per page: section, page file, title key, icon, the permission
# (core.permissions.PERMISSIONS) the page needs. A role sees only the pages it may open, and so
# only the sections holding at least one of them.
PAGES: tuple[tuple[str, str, str, str, str], ...] = (
    ("dashboards", "pages/dashboard.py", "page.dashboard", ":material/monitoring:", "dashboard.view"),
    ("dashboards", "pages/sales.py", "page.sales", ":material/trending_up:", "dashboard.view"),
    ("dashboards", "pages/channels.py", "page.channels", ":material/hub:", "dashboard.view"),
    ("dashboards", "pages/customers.py", "page.customers", ":material/groups:", "dashboard.view"),
    ("dashboards", "pages/products.py", "page.products", ":material/category:", "dashboard.view"),
    ("dashboards", "pages/fulfillment_kpis.py", "page.fulfillment_kpis", ":material/timer:", "dashboard.view"),
    ("dashboards", "pages/stock_health.py", "page.stock_health", ":material/health_and_safety:", "dashboard.view"),
    ("dashboards", "pages/finance.py", "page.finance", ":material/account_balance:", "finance.view"),
    ("orders", "pages/order_entry.py", "page.order_entry", ":material/add_shopping_cart:", "order.create"),
    ("orders", "pages/orders.py", "page.orders", ":material/receipt_long:", "order.view"),
    ("orders", "pages/import_data.py", "page.import_data", ":material/upload_file:", "order.import"),
    ("orders", "pages/customer_profiles.py", "mdp.page_customers", ":material/contacts:", "customer.edit"),
    ("warehouse", "pages/fulfillment.py", "page.fulfillment", ":material/local_shipping:", "order.fulfil"),
    ("warehouse", "pages/waves.py", "page.waves", ":material/waves:", "order.fulfil"),
    ("warehouse", "pages/inventory.py", "page.inventory", ":material/inventory_2:", "stock.view"),
    ("warehouse", "pages/stock_count.py", "page.stock_count", ":material/fact_check:", "stock.adjust"),
    ("warehouse", "pages/transfers.py", "page.transfers", ":material/move_up:", "stock.transfer"),
    ("warehouse", "pages/receiving.py", "page.receiving", ":material/move_to_inbox:", "stock.receive"),
    ("warehouse", "pages/bins.py", "page.bins", ":material/shelves:", "stock.bins"),
    ("purchasing", "pages/replenishment.py", "page.replenishment", ":material/autorenew:", "replenish.decide"),
    ("purchasing", "pages/purchase_orders.py", "page.purchase_orders", ":material/request_quote:", "purchase.edit"),
    ("purchasing", "pages/forecast.py", "page.forecast", ":material/insights:", "forecast.view"),
    ("purchasing", "pages/allocation.py", "page.allocation", ":material/call_split:", "allocation.decide"),
    ("purchasing", "pages/channel_stock.py", "page.channel_stock", ":material/storefront:", "allocation.decide"),
    ("purchasing", "pages/product_catalog.py", "mdp.page_products", ":material/sell:", "product.edit"),
    ("aftersales", "pages/aftersales.py", "page.aftersales", ":material/assignment_return:", "rma.view"),
    ("aftersales", "pages/returns_analytics.py", "page.returns_analytics", ":material/query_stats:", "rma.view"),
    ("system", "pages/alerts.py", "page.alerts", ":material/notifications:", "alert.view"),
    ("system", "pages/notifications.py", "page.notifications", ":material/outbox:", "notification.view"),
    ("system", "pages/webhooks.py", "page.webhooks", ":material/webhook:", "webhook.view"),
    ("system", "pages/data_quality.py", "page.data_quality", ":material/verified:", "dq.view"),
    ("system", "pages/rules.py", "page.rules", ":material/rule:", "rules.edit"),
    ("system", "pages/audit.py", "page.audit", ":material/history:", "audit.view"),
    ("system", "pages/master_data.py", "page.master_data", ":material/database:", "masterdata.view"),
    ("system", "pages/users.py", "page.users", ":material/manage_accounts:", "user.manage"),
    ("system", "pages/api_tokens.py", "page.api_tokens", ":material/key:", "user.manage"),
    ("system", "pages/shop_setup.py", "page.shop_setup", ":material/storefront:", "settings.edit"),
    ("system", "pages/settings.py", "page.settings", ":material/settings:", "settings.edit"),
    ("system", "pages/backup.py", "page.backup", ":material/backup:", "backup.run"),
)
# Each role opens on its main job.
LANDING = {
    "admin": "pages/dashboard.py",
    "manager": "pages/dashboard.py",
    "buyer": "pages/replenishment.py",
    "warehouse": "pages/fulfillment.py",
    "service": "pages/aftersales.py",
    "clerk": "pages/order_entry.py",
}
SETUP_PAGE = "pages/shop_setup.py"
SESSION_KEYS = ("username", "role", "display_name")
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def _set_language() -> None:
    st.session_state["lang"] = st.session_state["lang_picker"]


def _language_switch() -> None:
    """Sidebar zh/en switch; the choice lives in the plain ``lang`` key, which survives pages
    that do not render this widget."""
    st.session_state.setdefault("lang", config.default_language())
    st.sidebar.radio(
        t("app.language"), LANGUAGES, index=LANGUAGES.index(st.session_state["lang"]),
        format_func=LANGUAGE_NAMES.__getitem__, horizontal=True, key="lang_picker", on_change=_set_language,
    )


def _log_in() -> None:
    """Form callback: one authenticate() call; the service counts failures per client and
    backs off (``throttled`` carries the seconds to wait)."""
    st.session_state.pop("login_error", None)
    try:
        result = authenticate(st.session_state.get("login_username", ""), st.session_state.get("login_password", ""),
                              client_id())
    except OMSError as exc:
        st.session_state["login_error"] = exc
        return
    st.session_state["login_password"] = ""
    if result.user is None:
        st.session_state["login_error"] = result.reason
        st.session_state["login_retry_after"] = result.retry_after
        return
    st.session_state.update(username=result.user.username, role=result.user.role,
                            display_name=result.user.display_name or result.user.username,
                            signed_in_at=time.time(), last_seen=time.time())


def _login_page() -> None:
    st.title(t("app.title"))
    with st.form("login"):
        st.subheader(t("login.title"))
        st.text_input(t("login.username"), key="login_username")
        st.text_input(t("login.password"), type="password", key="login_password")
        st.form_submit_button(t("login.submit"), type="primary", key="login_submit", on_click=_log_in)
    error = st.session_state.get("login_error")
    if isinstance(error, OMSError):
        show_error(error)
    elif error == "throttled":
        st.error(t("sec.login_throttled", seconds=st.session_state.get("login_retry_after", 0)))
    elif error == "expired":
        st.info(t("login.expired", minutes=int(config.idle_timeout_minutes())))
    elif error == "disabled":
        st.error(t("login.disabled"))
    elif error:
        st.error(t("login.invalid"))


def _menu(actor: Actor) -> dict[str, list[st.Page]]:
    """The pages the actor may open, grouped by section (empty sections left out); the landing
    page is the role's main job, or Shop setup for an admin while the shop has no warehouse or
    channel yet."""
    landing = SETUP_PAGE if actor.can("settings.edit") and needs_setup() else LANDING.get(actor.role)
    menu: dict[str, list[st.Page]] = {}
    for section in SECTIONS:
        pages = [st.Page(path, title=t(title), icon=icon, default=path == landing)
                 for page_section, path, title, icon, action in PAGES
                 if page_section == section and actor.can(action)]
        if pages:
            menu[t(f"nav.{section}")] = pages
    return menu


def _run_navigation(actor: Actor) -> None:
    st.sidebar.caption(t("app.signed_in_as", user=st.session_state.get("display_name") or actor.username,
                         role=label("role", actor.role)))
    st.sidebar.button(t("app.logout"), key="logout", on_click=sign_out)
    # expanded: every permitted page is listed under its section, no "View N more".
    st.navigation(_menu(actor), expanded=True).run()


st.set_page_config(page_title=t("app.title"), page_icon=":material/storefront:", layout="wide")
page_chrome()
_language_switch()
try:  # a missing or wrong data key stops here, with its reason, before anything is shown
    ready()
except OMSError as exc:
    show_error(exc)
    st.stop()
if st.session_state.get("username") and st.session_state.get("role"):
    _run_navigation(Actor(st.session_state["username"], st.session_state["role"]))
else:
    # Without an account only the login and the public order lookup (order number + last 4
    # digits of the phone; rate-limited, see core.services.order_lookup) can be opened.
    st.navigation([st.Page(_login_page, title=t("login.title"), icon=":material/login:"),
                   st.Page("pages/order_lookup.py", title=t("page.order_lookup"), icon=":material/local_shipping:")]
                  ).run()
