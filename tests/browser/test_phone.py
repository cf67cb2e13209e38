"""The warehouse and counter screens on a phone (390 × 844) in a real Chromium (issue 15, item 7).

* the side menu folds away by itself once a page is chosen (Streamlit 1.67 leaves it open over
  the page: ``core.webui.page_chrome`` folds it);
* every control a finger must hit (``core.webui.TOUCH_TARGETS``) on pick, pack, count, receive
  and order entry is at least 44 px tall, on every tab;
* a basket line of order entry is removed by its own button.

Screenshots for docs/guide.md ("On a phone") are saved to docs/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from core import db
from core.i18n import translate
from core.models import Product, StockLevel, Warehouse
from core.permissions import SYSTEM
from core.services import bins, fulfillment, orders, purchasing
from core.webui import TOUCH_PX, TOUCH_TARGETS
from tests.browser.conftest import DemoServer
from tests.browser.test_floor_labels import _go, _pick_containing, _scan
from tests.browser.test_new_shop import _choose, _to_top
from tests.browser.test_smoke import _log_in, _settle
from tests.factories import order_input

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
COUNT_WAREHOUSE, COUNT_BIN = "CD", "P-01"

# The height of every control a finger must hit, on the page (what is shown, not hidden tabs).
MEASURE = """(selectors) => [...document.querySelectorAll(selectors)]
  .filter(e => e.checkVisibility() && e.getBoundingClientRect().width > 0)
  .map(e => [Math.round(e.getBoundingClientRect().height),
             (e.innerText || e.getAttribute('aria-label') || e.dataset.testid || e.tagName).replace(/\\s+/g, ' ').slice(0, 40)])"""
SELECTORS = ", ".join(f'[data-testid="stMain"] {s}' for s in TOUCH_TARGETS)


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _stocked(url: str, warehouse: str, *, other_than: str = "") -> tuple[int, str, str, int | None]:
    """(id, sku, barcode, supplier id) of an active product with a barcode and 5+ units free in
    ``warehouse`` (not the SKU ``other_than``)."""
    with db.transaction(url, readonly=True) as s:
        row = s.execute(
            select(Product.id, Product.sku, Product.barcode, Product.supplier_id)
            .join(StockLevel, StockLevel.product_id == Product.id).join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.active.is_(True), Product.barcode.is_not(None), Product.supplier_id.is_not(None),
                   Warehouse.code == warehouse, StockLevel.on_hand - StockLevel.reserved >= 5,
                   Product.sku != other_than)
            .order_by(Product.id.desc()).limit(1)).one()
    return row.id, row.sku, str(row.barcode), row.supplier_id


def _floor_work(url: str) -> tuple[str, str, str, str]:
    """An order of two units on a pick list, to pack; a sent purchase order to receive (Shanghai), and a
    bin in Chengdu holding a product to count. Returns (order number, PO number, barcode, the
    counted product's barcode)."""
    product_id, sku, barcode, supplier_id = _stocked(url, "SH")
    _, counted_sku, counted_barcode, _ = _stocked(url, COUNT_WAREHOUSE)
    with db.transaction(url) as s:
        made = orders.create_order(order_input((sku, 2), customer_name="林小雨", phone="13600002222"), SYSTEM,
                                   session=s)
        fulfillment.create_pick_lists([made.id], SYSTEM, session=s)
        sh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        assert supplier_id is not None
        po = purchasing.create_purchase_order(supplier_id, sh, [purchasing.POLineInput(product_id, 4)], SYSTEM,
                                              session=s)
        purchasing.send_po(po.id, SYSTEM, session=s)
        bins.save_bin(bins.BinInput(COUNT_WAREHOUSE, COUNT_BIN, "pick", 1), SYSTEM, session=s)
        bins.set_home_bin(COUNT_WAREHOUSE, counted_sku, COUNT_BIN, SYSTEM, session=s)
    return made.number, po.number, barcode, counted_barcode


def _menu_to(page: object, title: str) -> None:
    """Choose ``title`` in the side menu: it folds away by itself (``_go`` waits for that) and
    stays folded once the page is drawn."""
    _go(page, title)
    page.wait_for_timeout(400)  # type: ignore[attr-defined]
    assert page.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true", title  # type: ignore[attr-defined]


def _small_controls(page: object, where: str) -> list[str]:
    return [f"{where}: {text!r} is {height} px tall" for height, text in page.evaluate(MEASURE, SELECTORS)  # type: ignore[attr-defined]
            if height < TOUCH_PX]


def _tab(page: object, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()  # type: ignore[attr-defined]
    _settle(page)


def _every_tab(page: object, title: str) -> list[str]:
    """Measure the controls on each tab of the page."""
    small: list[str] = []
    tabs = page.locator('[data-testid="stMain"] [role="tab"]')  # type: ignore[attr-defined]
    for index in range(tabs.count()):
        tabs.nth(index).click()
        _settle(page)
        small += _small_controls(page, f"{title} / {tabs.nth(index).inner_text()}")
    return small


def _shot(page: object, name: str) -> None:
    page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"))  # type: ignore[attr-defined]


def test_warehouse_screens_fit_a_phone(phone: object, demo_server: DemoServer) -> None:
    page = phone
    number, po_number, barcode, counted_barcode = _floor_work(demo_server.database_url)
    _log_in(page, demo_server, "warehouse")  # lands on Pick, pack & ship
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    small: list[str] = []

    _menu_to(page, en("page.stock_count"))
    small += _every_tab(page, en("page.stock_count"))
    _tab(page, en("sc.tab_scan"))
    _choose(page, en("field.warehouse"), f"{COUNT_WAREHOUSE} · " + _warehouse_name(demo_server, COUNT_WAREHOUSE))
    _scan(page, en("scan.box"), counted_barcode)
    small += _small_controls(page, "count after a scan")
    _to_top(page.get_by_role("tab", name=en("sc.tab_scan")))  # type: ignore[attr-defined]
    _shot(page, "count-phone")

    _menu_to(page, en("page.receiving"))
    small += _every_tab(page, en("page.receiving"))
    _tab(page, en("rc.tab_scan"))
    _pick_containing(page, en("rc.pick_po"), po_number)
    for _ in range(2):
        _scan(page, en("scan.box"), barcode)
    small += _small_controls(page, "receive after a scan")
    _to_top(page.get_by_role("tab", name=en("rc.tab_scan")))  # type: ignore[attr-defined]
    _shot(page, "receive-scan-phone")

    _menu_to(page, en("page.fulfillment"))
    small += _every_tab(page, en("page.fulfillment"))
    _tab(page, en("fl.tab_pick_lists"))
    page.get_by_text(en("fl.pick_for", orders=number)).wait_for()  # type: ignore[attr-defined]  # the walk, not a grid
    _to_top(page.get_by_role("combobox", name=en("fl.pick_list")))  # type: ignore[attr-defined]
    _shot(page, "pick-phone")
    _tab(page, en("fl.tab_pack"))
    _pick_containing(page, en("fl.order_to_pack"), number)
    _scan(page, en("fl.scan"), barcode)  # one of the order's two units
    small += _small_controls(page, "pack after a scan")
    _to_top(page.get_by_role("tab", name=en("fl.tab_pack")))  # type: ignore[attr-defined]
    _shot(page, "pack-phone")
    _scan(page, en("fl.scan"), barcode)  # the last one packs the order
    page.get_by_text("— packed.", exact=False).wait_for()  # type: ignore[attr-defined]
    assert not small, "\n".join(small)


def _warehouse_name(server: DemoServer, code: str) -> str:
    with db.transaction(server.database_url, readonly=True) as s:
        return str(s.execute(select(Warehouse.name).where(Warehouse.code == code)).scalar_one())


def test_order_entry_on_a_phone_removes_a_line_by_its_button(phone: object, demo_server: DemoServer) -> None:
    page = phone
    _, first_sku, first, _ = _stocked(demo_server.database_url, "SH")
    _, second_sku, second, _ = _stocked(demo_server.database_url, "GZ", other_than=first_sku)
    _log_in(page, demo_server, "clerk")  # lands on order entry
    _menu_to(page, en("page.order_entry"))
    for code in (first, second):
        _scan(page, en("entry.barcode"), code)
    lines = page.locator('[class*="st-key-oe_line_"]')  # type: ignore[attr-defined]
    assert lines.count() == 2
    small = _small_controls(page, "order entry")
    _to_top(page.get_by_role("heading", name=en("entry.basket")))  # type: ignore[attr-defined]
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _shot(page, "order-entry-phone")

    lines.first.get_by_role("button", name=en("entry.remove_line")).click()
    _settle(page)
    assert lines.count() == 1
    assert second_sku in lines.first.inner_text() and first_sku not in lines.first.inner_text()
    assert not small, "\n".join(small)
