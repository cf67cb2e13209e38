"""The warehouse floor on a phone (390 × 844): a wave of one urgent order, sort-to-order by
scanning, pack by scanning, weigh, ship, and the shipping label downloaded as a PDF — in a
real Chromium against ``streamlit run app.py``. Screenshots for docs/inventory.md (Waves, Pick,
pack & ship, Carriers, Shipping labels) land in test-artifacts/."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update

from core import db
from core.models import Order, Product, StockLevel, Warehouse
from core.permissions import SYSTEM
from core.services import carriers, master_data, orders, tracking_numbers
from tests.browser.conftest import DemoServer, screenshot
from tests.browser.test_new_shop import _choose, _settle, _to_top
from tests.browser.test_smoke import _box, _log_in
from tests.factories import order_input
from tests.pdf_text import pdf_text


def _urgent_order(url: str) -> tuple[int, str, str, str]:
    """ZTO with a price list, a pattern and numbers; one product weighing 0.5 kg; a confirmed
    order of it at the top of the queue. Returns (order id, number, barcode, SH's name)."""
    with db.transaction(url) as s:
        product = s.execute(
            select(Product.id, Product.barcode, Product.sku).join(StockLevel, StockLevel.product_id == Product.id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.active.is_(True), Product.barcode.is_not(None), Warehouse.code == "SH",
                   StockLevel.on_hand - StockLevel.reserved >= 5).order_by(Product.id).limit(1)).one()
        s.execute(update(Product).where(Product.id == product.id).values(weight_kg=Decimal("0.500")))
        master_data.update_carrier(master_data.CarrierInput("ZTO", "中通快递", services="标快",
                                                            tracking_pattern=r"7\d{11}"), SYSTEM, session=s)
        carriers.set_rates("ZTO", [carriers.RateRow("*", "30", "1.00")], SYSTEM, session=s)
        tracking_numbers.add_range("ZTO", "7", 880_001, 890_000, 11, SYSTEM, session=s)
        made = orders.create_order(order_input((product.sku, 1), priority=99, customer_name="王小明",
                                               phone="13912345678"), SYSTEM, session=s)
        s.execute(update(Order).where(Order.id == made.id).values(carrier=None))  # no rule: the cheapest
        name = s.execute(select(Warehouse.name).where(Warehouse.code == "SH")).scalar_one()
    return made.id, made.number, product.barcode, name


def _go(page: object, title: str) -> None:
    """Open a page from the menu, which a phone keeps folded away; once the page is chosen the
    menu folds itself away again (``core.webui.page_chrome``) — within 5 s, or this fails."""
    page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button'  # type: ignore[attr-defined]
                 ).first.click()
    page.get_by_role("link", name=title, exact=True).click()  # type: ignore[attr-defined]
    page.get_by_role("heading", name=title).wait_for()  # type: ignore[attr-defined]
    _settle(page)
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('[data-testid=\"stSidebar\"]').dataset.collapsed === 'true'", timeout=5_000)


def _pick_containing(page: object, label: str, text: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True)  # type: ignore[attr-defined]
    box.click()
    box.press_sequentially(text)
    page.get_by_role("option").filter(has_text=text).first.click()  # type: ignore[attr-defined]
    _settle(page)


def _scan(page: object, label: str, code: str) -> None:
    """A keyboard-wedge scanner: the code, then Enter."""
    box = _box(page, label)
    box.fill(code)  # type: ignore[attr-defined]
    box.press("Enter")  # type: ignore[attr-defined]
    _settle(page)


def test_wave_sort_pack_weigh_ship_label_on_a_phone(phone: object, demo_server: DemoServer) -> None:
    page = phone
    order_id, number, barcode, sh_name = _urgent_order(demo_server.database_url)
    _log_in(page, demo_server, "warehouse")

    _go(page, "Waves")
    _choose(page, "Warehouse", f"SH · {sh_name}")
    page.get_by_label("At most orders", exact=True).fill("1")  # type: ignore[attr-defined]
    page.get_by_label("At most orders", exact=True).press("Enter")  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_role("button", name="Create wave").click()  # type: ignore[attr-defined]
    page.get_by_text("slots 1–1", exact=False).wait_for()  # type: ignore[attr-defined]
    _settle(page)

    page.get_by_role("tab", name="Sort").click()  # type: ignore[attr-defined]
    _settle(page)
    _scan(page, "Scan an item", barcode)
    page.get_by_role("heading", name="Into slot 1").wait_for()  # type: ignore[attr-defined]
    screenshot(page, "waves_sort_phone")

    _go(page, "Pick, pack & ship")
    page.get_by_role("tab", name="Pack").click()  # type: ignore[attr-defined]
    _settle(page)
    _pick_containing(page, "Order to pack", number)
    _scan(page, "Scan item barcode", barcode)
    page.get_by_text("— packed.", exact=False).wait_for()  # type: ignore[attr-defined]
    _settle(page)
    screenshot(page, "pack_phone")

    page.get_by_role("tab", name="Ship").click()  # type: ignore[attr-defined]
    _settle(page)
    _pick_containing(page, "Packed order", number)
    page.get_by_text("Carrier: 中通快递 (cheapest)", exact=False).wait_for()  # type: ignore[attr-defined]
    weight = _box(page, "Weight (kg)")
    weight.fill("0.9")  # type: ignore[attr-defined]  # a USB scale types the reading and Enter
    weight.press("Enter")  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_role("button", name="Ship", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text(f"order {number} weighs 0.9 kg", exact=False).first.wait_for()  # type: ignore[attr-defined]
    _settle(page)
    _to_top(page.get_by_test_id("stAlertContentError"))  # type: ignore[attr-defined]
    screenshot(page, "carriers_weighing_phone")
    page.get_by_text("Weight checked, ship anyway", exact=True).click()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_role("button", name="Ship", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text("Shipped.", exact=True).wait_for()  # type: ignore[attr-defined]
    download_button = page.get_by_role("button", name=f"Download labels PDF (label_{order_id}.pdf)")  # type: ignore[attr-defined]
    with page.expect_download() as info:  # type: ignore[attr-defined]
        download_button.click()
    pdf = info.value.path().read_bytes()
    assert number in pdf_text(pdf)  # a real PDF, its text readable
    _to_top(page.get_by_text("Shipped.", exact=True))  # type: ignore[attr-defined]
    screenshot(page, "shipping_labels_phone")

    with db.transaction(demo_server.database_url, readonly=True) as s:
        row = s.execute(select(Order.status, Order.carrier, Order.tracking_no, Order.parcel_weight_kg)
                        .where(Order.id == order_id)).one()
    assert (row.status, row.carrier, row.tracking_no, row.parcel_weight_kg) == (
        "shipped", "中通快递", "700000880001", Decimal("0.900"))
