"""Real browser: the kit editor on the product catalogue of the demo shop — an admin makes a
gift box of two stocked demo products and sees how many each warehouse can build. The
screenshot is the one in docs/inventory.md (test-artifacts/kit_editor.png)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import insert, select

from core import db
from core.models import Product, StockLevel, Warehouse
from core.timeutil import utcnow
from tests.browser.conftest import DemoServer, screenshot
from tests.browser.test_smoke import _box, _log_in, _open, _settle


def _gift_box(database_url: str) -> list[str]:
    """A new product GIFT-BOX (no stock of its own) and two demo SKUs stocked in Shanghai."""
    with db.transaction(database_url) as s:
        s.execute(insert(Product).values(sku="GIFT-BOX", name="礼盒", category="礼品", attributes={},
                                         unit_price=Decimal("99.00"), pack_size=1, active=True,
                                         created_at=utcnow()))
        return list(s.execute(
            select(Product.sku).join(StockLevel, StockLevel.product_id == Product.id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.active.is_(True), Warehouse.code == "SH", StockLevel.on_hand - StockLevel.reserved >= 4)
            .order_by(Product.id).limit(2)).scalars())


def test_an_admin_makes_a_kit_in_the_browser(page: object, demo_server: DemoServer) -> None:
    first, second = _gift_box(demo_server.database_url)
    _log_in(page, demo_server, "admin")
    _open(page, "Product catalogue")
    page.get_by_role("tab", name="Kits and bundles").click(no_wait_after=True)  # type: ignore[attr-defined]
    _box(page, "Kit SKU").fill("GIFT-BOX")
    page.get_by_role("textbox", name="Components (one SKU and units per kit per row)").fill(  # type: ignore[attr-defined]
        f"{first} 2\n{second} 1")
    page.get_by_role("button", name="Save kit").click()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_role("tab", name="Kits and bundles").click(no_wait_after=True)  # type: ignore[attr-defined]
    page.get_by_text("Kit GIFT-BOX saved").wait_for()  # type: ignore[attr-defined]
    page.get_by_text("Kits each warehouse can build").wait_for()  # type: ignore[attr-defined]
    screenshot(page, "kit_editor")
