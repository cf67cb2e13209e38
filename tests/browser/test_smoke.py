"""Real-browser smoke tests against ``streamlit run app.py`` with a demo database: log in,
enter an order by scanning a barcode, find it in Orders, see it on the dashboard, and open a
return at the after-sales desk. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core import db
from core.models import Order, Product, StockLevel, Warehouse
from core.permissions import SYSTEM
from tests.browser.conftest import DemoServer, screenshot

ROOT = Path(__file__).resolve().parents[2]


def _log_in(page: object, server: DemoServer, username: str) -> None:
    page.goto(server.url)  # type: ignore[attr-defined]
    _box(page, "Username").fill(username)
    _box(page, "Password").fill(server.passwords[username])
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log out").wait_for()  # type: ignore[attr-defined]


def _box(page: object, label: str) -> object:
    """The text input labelled ``label`` (exactly)."""
    return page.get_by_role("textbox", name=label, exact=True)  # type: ignore[attr-defined]


def _open(page: object, title: str) -> None:
    """Follow the sidebar link ``title``; the menu lists every page under its section."""
    page.get_by_role("link", name=title, exact=True).click()  # type: ignore[attr-defined]
    page.get_by_role("heading", name=title).wait_for()  # type: ignore[attr-defined]


SETTLED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null && app.dataset.testScriptState === "notRunning"
        && document.querySelector('[data-testid="stSkeleton"]') === null;
}"""


def _settle(page: object) -> None:
    """Wait until Streamlit has finished the rerun the last action started and drawn it."""
    page.wait_for_timeout(250)  # type: ignore[attr-defined]  # let the rerun begin
    page.wait_for_function(SETTLED)  # type: ignore[attr-defined]


def _todays_orders(page: object) -> int:
    value = page.locator('[data-testid="stMetricValue"]').nth(1).inner_text()  # type: ignore[attr-defined]
    return int(value.replace(",", ""))


def _stocked_barcode(database_url: str) -> tuple[str, str]:
    """(barcode, sku) of an active product with stock to spare in the Shanghai warehouse."""
    with db.transaction(database_url, readonly=True) as s:
        row = s.execute(
            select(Product.barcode, Product.sku)
            .join(StockLevel, StockLevel.product_id == Product.id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.active.is_(True), Product.barcode.is_not(None), Warehouse.code == "SH",
                   StockLevel.on_hand - StockLevel.reserved >= 5)
            .order_by(Product.id).limit(1)
        ).one()
    return row.barcode, row.sku


def test_order_from_barcode_to_dashboard(page: object, demo_server: DemoServer) -> None:
    _log_in(page, demo_server, "manager")
    page.get_by_role("heading", name="Sales dashboard").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    before = _todays_orders(page)
    screenshot(page, "dashboard")

    _open(page, "Order entry")
    barcode, sku = _stocked_barcode(demo_server.database_url)
    scan = _box(page, "Scan")
    scan.fill(barcode)
    scan.press("Enter")
    page.get_by_text(f"({sku})").first.wait_for()  # type: ignore[attr-defined]  # "Added: name (sku)"
    for label, value in (("Customer name", "浏览器测试"), ("Phone", "13912345678"), ("Province", "上海"),
                         ("City", "上海市"), ("District", "浦东新区"), ("Street address", "世纪大道 100 号")):
        field = _box(page, label)
        field.fill(value)
        field.press("Tab")
        _settle(page)
    page.get_by_role("heading", name="Basket").scroll_into_view_if_needed()  # type: ignore[attr-defined]
    screenshot(page, "order_entry")
    page.get_by_role("button", name="Submit order").click()  # type: ignore[attr-defined]
    created = page.get_by_text(re.compile(r"Order SO\d{8}-\d+ created"))  # type: ignore[attr-defined]
    created.wait_for()
    number = re.search(r"SO\d{8}-\d+", created.inner_text()).group(0)  # type: ignore[union-attr]
    with db.transaction(demo_server.database_url, readonly=True) as s:
        assert s.execute(select(Order.status).where(Order.number == number)).scalar_one() == "confirmed"

    _open(page, "Orders")
    search = _box(page, "Find orders (number / phone / name / external ref)")
    search.fill(number)
    search.press("Enter")
    page.get_by_role("heading", name=f"Order {number}").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    screenshot(page, "orders")

    _open(page, "Sales dashboard")
    _settle(page)
    assert _todays_orders(page) == before + 1


def _returnable_order(database_url: str) -> str | None:
    """Number of a delivered demo order still inside its return window, if there is one."""
    from core.services import rma_views

    with db.transaction(database_url, readonly=True) as s:
        candidates = s.execute(select(Order.id, Order.number).where(Order.status == "delivered")
                               .order_by(Order.delivered_at.desc()).limit(20)).all()
    for order_id, number in candidates:
        context = rma_views.order_aftersales(order_id, SYSTEM)
        if context.header["returnable_status"] and context.policy.within_window():
            return number
    return None


def test_open_a_return(page: object, demo_server: DemoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (ROOT / "pages" / "aftersales.py").exists():
        pytest.skip("the after-sales page does not exist in this version")
    monkeypatch.setenv("DATABASE_URL", demo_server.database_url)
    number = _returnable_order(demo_server.database_url)
    if number is None:
        pytest.skip("the demo data has no delivered order inside its return window")
    _log_in(page, demo_server, "service")
    _open(page, "After-sales")
    search = _box(page, "Find the order (number / phone / name)")
    search.fill(number)
    search.press("Enter")
    page.get_by_role("heading", name=f"Order {number}").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    # The lines to return are chosen in a data grid (a canvas): click the first row's quantity
    # cell, type 1, Enter — what a user does with the keyboard.
    quantity = page.get_by_role("columnheader", name="Quantity", exact=True, include_hidden=True)  # type: ignore[attr-defined]
    grid = page.locator('[data-testid="stDataFrame"]', has=quantity)  # type: ignore[attr-defined]
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    # Quantity is the last column; the header row and each data row are 35 px high.
    page.mouse.dblclick(box["x"] + box["width"] - 40, box["y"] + 35 + 17)  # type: ignore[attr-defined]
    editor = page.locator("#portal input, #portal textarea").first  # type: ignore[attr-defined]
    editor.wait_for()  # the grid's cell editor has opened
    editor.fill("1")
    editor.press("Enter")
    _settle(page)
    page.get_by_role("button", name="Open RMA").click()  # type: ignore[attr-defined]
    opened = page.get_by_text(re.compile(r"RMA \S+ opened"))  # type: ignore[attr-defined]
    opened.wait_for()
    screenshot(page, "aftersales")



def test_admin_sees_who_changed_what(page: object, demo_server: DemoServer) -> None:
    _log_in(page, demo_server, "admin")
    _open(page, "Audit log")
    _settle(page)
    page.get_by_text(re.compile(r"^\d+ entries found$")).wait_for()  # type: ignore[attr-defined]
    assert page.get_by_role("button", name="All entries of this record").count() == 1  # type: ignore[attr-defined]
    screenshot(page, "audit_log")
    _open(page, "Users")
    _settle(page)
    for username in ("admin", "manager", "clerk"):  # the grid's accessible cells hold the usernames
        page.wait_for_function(  # type: ignore[attr-defined]
            "name => Array.from(document.querySelectorAll('[data-testid=stDataFrame] td'))"
            ".some(td => td.textContent === name)", arg=username)
    screenshot(page, "users")
