"""A new shop's first day in a real browser: an empty install (``oms init`` + one admin), the
Shop setup page, master data by hand, a POS history imported with constants and walk-in sales,
then the dashboards, Customers, Forecast and Replenishment as of the day the history ends.

Screenshots land in test-artifacts/ (``new_shop_*``); docs/guide.md shows some of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from pathlib import Path

from sqlalchemy import func, select

from core import db
from core.models import Channel, Order, OrderLine, Product, ReplenishmentSuggestion, Supplier, Warehouse
from tests.browser.conftest import DemoServer, screenshot
from tests.browser.test_smoke import _log_in, _settle

ROOT = Path(__file__).resolve().parents[2]
ROW_PX, MARKER_PX = 35, 33  # data editor: row height, row-marker column width
HISTORY = ROOT / "tests" / "fixtures" / "new_shop" / "pos-export.csv"


def _open(page: object, title: str) -> None:
    """Follow the sidebar link ``title`` and wait for the page's
    title — exactly: the Customers page also has a "Top customers" heading."""
    page.get_by_role("link", name=title, exact=True).click()  # type: ignore[attr-defined]
    page.get_by_role("heading", name=title, exact=True).wait_for()  # type: ignore[attr-defined]


def _grid_rows(page: object, grid: object, rows: list[list[str]]) -> None:
    """Type ``rows`` into an empty dynamic data editor as a user does: click the empty row at
    the bottom (adds a row and opens its first cell), type, Enter; double-click each further
    cell, type, Enter. The editor's columns share its width evenly (none is sized)."""
    grid.scroll_into_view_if_needed()  # type: ignore[attr-defined]
    editor = page.locator("#portal input, #portal textarea").first  # type: ignore[attr-defined]
    for n, row in enumerate(rows):
        box = grid.bounding_box()  # type: ignore[attr-defined]
        y = box["y"] + ROW_PX * (n + 1) + ROW_PX / 2
        width = (box["width"] - MARKER_PX) / len(row)
        for i, value in enumerate(row):
            x = box["x"] + MARKER_PX + width * (i + 0.5)
            if i:
                page.mouse.dblclick(x, y)  # type: ignore[attr-defined]
            else:
                page.mouse.click(x, y)  # type: ignore[attr-defined]  # the empty row: adds a row, opens the cell
            editor.wait_for()
            page.keyboard.insert_text(value)  # type: ignore[attr-defined]
            page.keyboard.press("Enter")  # type: ignore[attr-defined]
            editor.wait_for(state="detached")
            _settle(page)


def _choose(page: object, label: str, option: str, scope: object | None = None, tries: int = 3) -> None:
    """Pick ``option`` in the select box labelled ``label`` (typing filters long lists). A
    rerun that lands while the list is open redraws it and the option detaches: close the list,
    let the rerun finish and open it again (``tries`` times)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, tries + 1):
        _settle(page)
        box = (scope or page).get_by_role("combobox", name=label, exact=True)  # type: ignore[attr-defined]
        box.click()
        box.press_sequentially(option[:12])
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)  # type: ignore[attr-defined]
            break
        except PlaywrightTimeout:
            if attempt == tries:
                raise
            page.keyboard.press("Escape")  # type: ignore[attr-defined]
    _settle(page)


def _fill(scope: object, label: str, value: str) -> None:
    """Type into the field labelled ``label`` inside ``scope`` (the page, or the open tab)."""
    scope.get_by_label(label, exact=True).fill(value)  # type: ignore[attr-defined]


def _date(page: object, label: str, *days: dt.date) -> None:
    """Type a date, or a range's first and last day, into the date input labelled ``label``:
    its year, month and day are segments that take digits and move on by themselves."""
    parts = [f"{label} start date", f"{label} end date"] if len(days) == 2 else [label]
    for part, day in zip(parts, days, strict=True):
        page.get_by_role("spinbutton", name=f"year, {part}", exact=True).click()  # type: ignore[attr-defined]
        page.keyboard.type(day.strftime("%Y%m%d"))  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.locator("h1").first.click()  # type: ignore[attr-defined]  # leave the field: it commits, the page reruns
    _settle(page)


def _to_top(locator: object) -> None:
    """Scroll so that ``locator`` is at the top of the view (for a screenshot of what follows)."""
    locator.first.evaluate("e => e.scrollIntoView({block: 'start'})")  # type: ignore[attr-defined]


def _metric(page: object, label: str) -> str:
    """The value of the (first visible) metric labelled ``label``."""
    metric = page.locator('[data-testid="stMetric"]').filter(  # type: ignore[attr-defined]
        has=page.get_by_text(label, exact=True)).first  # type: ignore[attr-defined]
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def _history() -> tuple[dt.date, int, int, int]:
    """The fixture's last sale day, receipts, distinct (receipt, SKU) lines and walk-in receipts."""
    with HISTORY.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    last = max(dt.date.fromisoformat(r["sold_at"][:10]) for r in rows)
    receipts = {r["receipt_no"] for r in rows}
    walk_ins = {r["receipt_no"] for r in rows if not r["member_phone"]}
    return last, len(receipts), len({(r["receipt_no"], r["sku"]) for r in rows}), len(walk_ins)


def _count(database_url: str, query: object) -> int:
    with db.transaction(database_url, readonly=True) as s:
        return int(s.execute(query).scalar_one())  # type: ignore[call-overload]


def test_new_shop_first_day(empty_page: object, empty_server: DemoServer) -> None:
    page, url = empty_page, empty_server.database_url
    last_sale, receipts, lines, walk_ins = _history()

    # 1. An empty install: the admin lands on Shop setup.
    _log_in(page, empty_server, "owner")
    page.get_by_role("heading", name="Shop setup").wait_for()  # type: ignore[attr-defined]
    page.get_by_text("Welcome! The shop has no warehouse or sales channel yet.", exact=False).wait_for()  # type: ignore[attr-defined]
    _settle(page)
    _fill(page, "Shop name", "西湖茶社")
    _choose(page, "Timezone", "Asia/Shanghai")
    _choose(page, "Currency", "CNY")
    page.get_by_text("中文", exact=True).last.click()  # type: ignore[attr-defined]  # the shop's default language
    grids = page.locator('[data-testid="stDataFrame"]')  # type: ignore[attr-defined]
    _grid_rows(page, grids.nth(0), [["hz", "杭州西湖店"]])
    _grid_rows(page, grids.nth(1), [["pos", "门店收银", "Store"]])
    screenshot(page, "new_shop_01_setup")
    page.get_by_role("button", name="Save setup").click()  # type: ignore[attr-defined]
    page.get_by_text("Saved.", exact=True).wait_for()  # type: ignore[attr-defined]
    page.get_by_text("created warehouse HZ").wait_for()  # type: ignore[attr-defined]
    page.get_by_text("created channel POS").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_text("Saved.", exact=True).scroll_into_view_if_needed()  # type: ignore[attr-defined]
    screenshot(page, "new_shop_02_setup_saved")
    assert _count(url, select(func.count()).select_from(Warehouse).where(Warehouse.code == "HZ")) == 1

    # 2. Master data by hand: a second warehouse, a Douyin shop, a supplier, two products.
    _open(page, "Master data")
    _settle(page)
    tab = page.get_by_role("tabpanel")  # type: ignore[attr-defined]  # the open tab (the others are hidden)
    _fill(tab, "Code", "xs")
    _fill(tab, "Name", "萧山仓")
    _fill(tab, "Province", "浙江")
    _fill(tab, "City", "杭州市")
    page.get_by_role("button", name="Save", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text("Created XS.").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_role("tab", name="Channels").click()  # type: ignore[attr-defined]
    _fill(tab, "Code", "douyin")
    _fill(tab, "Name", "抖音小店")
    _choose(page, "Type", "Social / live", tab)
    page.get_by_role("button", name="Save", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text("Created DOUYIN.").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    screenshot(page, "new_shop_03_channels")
    page.get_by_role("tab", name="Suppliers").click()  # type: ignore[attr-defined]
    _fill(tab, "Name", "梅家坞茶厂")
    _fill(tab, "Contact", "陈师傅 13588776655")
    _fill(tab, "Lead time (days)", "10")
    _fill(tab, "Minimum order qty", "12")
    page.get_by_role("button", name="Save", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text("Created 梅家坞茶厂.").wait_for()  # type: ignore[attr-defined]
    _settle(page)

    _open(page, "Product catalogue")
    _settle(page)
    for sku, name, category, barcodes, price, cost in (
            ("LJ-250", "西湖龙井 250g", "茶叶", "6901234500017\n6901234500024", "168.00", "95.00"),
            ("CUP-QC", "青瓷茶杯", "茶具", "6901234500031", "45", "18.5")):
        _fill(tab, "SKU", sku)
        _fill(tab, "Name", name)
        _fill(tab, "Category", category)
        _fill(tab, "Barcodes", barcodes)
        _fill(tab, "Unit price", price)
        _fill(tab, "Unit cost", cost)
        _choose(page, "Supplier", "梅家坞茶厂", tab)
        page.get_by_role("button", name="Create product").click()  # type: ignore[attr-defined]
        page.get_by_text(f"Product {sku} created.").wait_for()  # type: ignore[attr-defined]
        _settle(page)
    _to_top(page.locator("h1"))  # type: ignore[attr-defined]
    screenshot(page, "new_shop_04_products")
    assert _count(url, select(func.count()).select_from(Product)) == 2
    assert _count(url, select(func.count()).select_from(Supplier)) == 1
    assert _count(url, select(func.count()).select_from(Channel)) == 2

    # 3. The POS history: a new mapping profile with constants, a dry run, then the import.
    _open(page, "Import")
    _settle(page)
    page.locator('[data-testid="stFileUploader"] input[type=file]').first.set_input_files(HISTORY)  # type: ignore[attr-defined]
    page.get_by_text(HISTORY.name).first.wait_for()  # type: ignore[attr-defined]
    _settle(page)
    _choose(page, "Mapping profile", "New profile…")
    page.get_by_text("Live check (first 2000 rows)").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    _choose(page, "Placed at (required)", "sold_at")  # guessed from its values already; chosen as a user checks it
    _choose(page, "Phone", "member_phone")
    page.get_by_text("Constants (fields the file lacks)").click()  # type: ignore[attr-defined]
    _settle(page)
    _choose(page, "Constant for Order status", "completed (history)")
    _choose(page, "Constant for Channel", "POS · 门店收银")
    _choose(page, "Constant for Warehouse", "HZ · 杭州西湖店")
    _choose(page, "Constant for Payment status", "Paid")
    _fill(page, "Profile name", "xihu-pos")
    page.get_by_label("Profile name", exact=True).press("Enter")  # type: ignore[attr-defined]
    _settle(page)
    # The live check: every row maps, the repeated cup lines summed (445 rows → 359 lines).
    assert (_metric(page, "Errors"), _metric(page, "Imported")) == ("0", str(lines))
    _to_top(page.get_by_text("Constants (fields the file lacks)"))  # type: ignore[attr-defined]
    screenshot(page, "new_shop_05_import_profile")
    page.get_by_role("button", name="Save profile").click()  # type: ignore[attr-defined]
    page.get_by_text("Profile “xihu-pos” saved.").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_role("button", name="Check (writes nothing)").click()  # type: ignore[attr-defined]
    page.get_by_text(f"Dry run: would import {receipts} orders ({lines} lines), 0 refused").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    _to_top(page.get_by_role("button", name="Check (writes nothing)"))  # type: ignore[attr-defined]
    screenshot(page, "new_shop_06_dry_run")
    assert _count(url, select(func.count()).select_from(Order)) == 0
    page.get_by_role("button", name="Import", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text("Import finished").wait_for(timeout=90_000)  # type: ignore[attr-defined]
    _settle(page)
    _to_top(page.get_by_role("button", name="Check (writes nothing)"))  # type: ignore[attr-defined]
    screenshot(page, "new_shop_07_imported")
    assert _count(url, select(func.count()).select_from(Order).where(Order.status == "completed")) == receipts
    assert _count(url, select(func.count()).select_from(Order).where(Order.customer_id.is_(None))) == walk_ins
    assert _count(url, select(func.count()).select_from(OrderLine)) == lines

    # 4. The dashboards over the history, the customers as of its last day, a forecast and
    #    replenishment as of that day.
    end = last_sale.isoformat()
    _open(page, "Sales analysis")
    # the import asked the worker to refresh the summaries; the page reloads once they are current
    page.get_by_text(re.compile(r"^Data as of ")).wait_for(timeout=60_000)  # type: ignore[attr-defined]
    _settle(page)
    _date(page, "Date range", last_sale - dt.timedelta(days=120), last_sale)
    page.get_by_text(f"{walk_ins} of these orders are walk-in sales (no customer).").wait_for()  # type: ignore[attr-defined]
    assert _metric(page, "Orders") == f"{receipts:,}"
    screenshot(page, "new_shop_08_sales")

    _open(page, "Customers")
    page.get_by_text(f"The last order was on {end}").wait_for()  # type: ignore[attr-defined]
    _date(page, "As of", last_sale)
    page.get_by_text(f"each is measured over their purchases up to {end}").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    screenshot(page, "new_shop_09_customers")

    _open(page, "Demand forecast")
    gap = (dt.date.fromisoformat(os.environ["OMS_NOW"][:10]) - last_sale).days - 1  # days without a sale
    page.get_by_text(f"The history ends on {end}, {gap} days before the as-of date").wait_for()  # type: ignore[attr-defined]
    screenshot(page, "new_shop_10_forecast_gap")
    # A run as of D reads the complete days before D: as of the day after the last sale, it
    # forecasts straight on from the history (docs/planning.md, "As-of dates").
    next_day = last_sale + dt.timedelta(days=1)
    _date(page, "As of", next_day)
    page.get_by_text(f"The history ends on {end} (the last day with a sale), 0 days").wait_for()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Run forecast").click()  # type: ignore[attr-defined]
    page.get_by_text(re.compile(r"Forecast #\d+ finished: 2 series")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
    _settle(page)
    screenshot(page, "new_shop_11_forecast_run")
    page.get_by_role("tab", name="Accuracy").click()  # type: ignore[attr-defined]
    page.get_by_text(f"As of {next_day}, history ending {end}, forecast from {next_day}.").wait_for()  # type: ignore[attr-defined]
    screenshot(page, "new_shop_12_forecast_accuracy")

    _open(page, "Replenishment")
    _date(page, "As of", next_day)
    page.get_by_role("button", name="Compute suggestions").click()  # type: ignore[attr-defined]
    page.get_by_text(re.compile(rf"As of {next_day}: \d+ suggestions")).wait_for(timeout=60_000)  # type: ignore[attr-defined]
    _settle(page)
    screenshot(page, "new_shop_13_replenishment")
    assert _count(url, select(func.count()).select_from(ReplenishmentSuggestion)
                  .where(ReplenishmentSuggestion.status == "open")) == 2  # nothing in stock: both products
