"""Small builders for test data, going through the same tables the services use."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core import barcodes, db, stock
from core.models import Product, Warehouse
from core.permissions import Actor
from core.services import fulfillment
from core.services.orders import LineInput, OrderInput
from core.timeutil import utcnow

ADMIN = Actor("admin", "admin")
CLERK = Actor("clerk1", "clerk")
MANAGER = Actor("boss", "manager")
WAREHOUSE = Actor("wh1", "warehouse")
SERVICE = Actor("cs1", "service")
BUYER = Actor("buyer1", "buyer")


def make_product(sku: str, price: str = "99.00", stock_by_wh: dict[str, int] | None = None, **attrs: object) -> int:
    """A product with initial stock posted through the ledger; returns its id."""
    with db.transaction() as s:
        p = Product(sku=sku, barcode=f"69{abs(hash(sku)) % 10**11:011d}", name=f"商品 {sku}", category="测试",
                    brand="TestBrand", attributes=dict(attrs), unit_price=Decimal(price),
                    unit_cost=Decimal(price) / 2, pack_size=1, active=True, created_at=utcnow())
        s.add(p)
        s.flush()
        barcodes.index_primary(s, [p.id])
        for code, qty in (stock_by_wh or {}).items():
            wh_id = s.execute(select(Warehouse.id).where(Warehouse.code == code)).scalar_one()
            stock.ensure_level(s, p.id, wh_id)
            stock.post_movement(s, product_id=p.id, warehouse_id=wh_id, qty_delta=qty, kind="initial",
                                actor="test", reason="test stock")
        return p.id


def order_input(*lines: tuple[str, int], **kw: object) -> OrderInput:
    """A complete, valid form order for the given (sku, qty) lines; override fields with kw."""
    base: dict[str, object] = dict(
        channel="PHONE", customer_name="张三", phone="13800138000", province="上海", city="上海市",
        district="浦东新区", address="世纪大道 100 号", payment_method="wechat_pay", payment_status="paid",
    )
    base.update(kw)
    return OrderInput(lines=[LineInput(sku, qty) for sku, qty in lines], **base)  # type: ignore[arg-type]


def pack_by_scan(order_id: int, actor: Actor = WAREHOUSE) -> None:
    """Pick and pack an order as the warehouse must when the shop requires scanning (the
    default): one pack-bench scan per unit; the last scan makes the order ``packed``."""
    for line in fulfillment.pack_progress(order_id, actor).itertuples():
        for _ in range(int(line.qty) - int(line.scanned)):
            fulfillment.scan_item(order_id, line.barcode or line.sku, actor)
