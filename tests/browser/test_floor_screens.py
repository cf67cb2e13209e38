"""More of the warehouse floor on a phone (390 × 844) in a real Chromium: two orders of one
customer to one door merged into one shipment, and a purchase order received by scanning —
screenshots for docs/inventory.md (Merged orders, Scanning) land in test-artifacts/."""

from __future__ import annotations

from sqlalchemy import select

from core import db
from core.models import Order, Product, StockLevel, Warehouse
from core.permissions import SYSTEM
from core.services import orders, purchasing
from tests.browser.conftest import DemoServer, screenshot
from tests.browser.test_floor_labels import _go, _pick_containing, _scan
from tests.browser.test_new_shop import _settle
from tests.browser.test_smoke import _log_in
from tests.factories import order_input


def _floor(url: str) -> tuple[tuple[str, str], str, str]:
    """Two confirmed orders of one new customer to one address, and a sent purchase order of a
    product with a barcode. Returns (the orders' numbers, the PO's number, the barcode)."""
    with db.transaction(url) as s:
        product = s.execute(
            select(Product.id, Product.sku, Product.barcode, Product.supplier_id)
            .join(StockLevel, StockLevel.product_id == Product.id).join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.active.is_(True), Product.barcode.is_not(None), Product.supplier_id.is_not(None),
                   Warehouse.code == "SH", StockLevel.on_hand - StockLevel.reserved >= 5)
            .order_by(Product.id.desc()).limit(1)).one()
        pair = tuple(orders.create_order(order_input((product.sku, 1), customer_name="韩梅梅", phone="13700001111",
                                                     address="人民路 8 号 2 栋"), SYSTEM, session=s).number
                     for _ in range(2))
        sh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        po = purchasing.create_purchase_order(product.supplier_id, sh, [purchasing.POLineInput(product.id, 6)], SYSTEM,
                                              session=s)
        purchasing.send_po(po.id, SYSTEM, session=s)
    return (pair[0], pair[1]), po.number, str(product.barcode)


def test_merge_two_orders_and_receive_by_scanning_on_a_phone(phone: object, demo_server: DemoServer) -> None:
    page = phone
    (first, second), po_number, barcode = _floor(demo_server.database_url)
    _log_in(page, demo_server, "warehouse")

    _go(page, "Pick, pack & ship")
    page.get_by_role("tab", name="Merged orders").click()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_text("Find orders to merge", exact=True).click()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_role("button", name="Merge all").wait_for()  # type: ignore[attr-defined]
    screenshot(page, "merge_candidates_phone")
    page.get_by_role("button", name="Merge all").click()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_text("Open merged shipments", exact=True).wait_for()  # type: ignore[attr-defined]
    screenshot(page, "merge_done_phone")
    with db.transaction(demo_server.database_url, readonly=True) as s:
        groups = s.execute(select(Order.merge_group_id).where(Order.number.in_((first, second)))).scalars().all()
    assert len(groups) == 2 and groups[0] is not None and groups[0] == groups[1]

    _go(page, "Receiving")
    page.get_by_role("tab", name="Scan to receive").click()  # type: ignore[attr-defined]
    _settle(page)
    _pick_containing(page, "Purchase order", po_number)
    for _ in range(2):
        _scan(page, "Scan barcode or SKU", barcode)
    page.get_by_role("button", name="Receive the scanned units (2)").wait_for()  # type: ignore[attr-defined]
    screenshot(page, "receive_scan_phone")
