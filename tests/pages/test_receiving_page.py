"""Receiving page: goods against a purchase order (partial, then over-receipt refused) and ad hoc
goods, each releasing waiting backorders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Bin, MovementBin, POLine, PurchaseOrder, StockLevel, Supplier, Warehouse
from core.services import bins, orders
from core.services.bins import BinInput
from core.timeutil import utcnow
from tests.factories import CLERK, WAREHOUSE, make_product, order_input

PAGE = "pages/receiving.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _po(product_id: int, qty: int) -> int:
    with db.transaction() as s:
        supplier = Supplier(name="茶园", lead_time_days=7, moq=1)
        s.add(supplier)
        s.flush()
        wh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        po = PurchaseOrder(number="PO-R1", supplier_id=supplier.id, warehouse_id=wh, status="sent",
                           created_at=utcnow(), created_by="buyer1", total=Decimal("0"))
        s.add(po)
        s.flush()
        s.add(POLine(po_id=po.id, product_id=product_id, qty_ordered=qty, qty_received=0, unit_cost=Decimal("5")))
        return po.id


def _stock(product_id: int) -> tuple[int, int]:
    with db.transaction() as s:
        return tuple(s.execute(select(StockLevel.on_hand, StockLevel.reserved)
                               .where(StockLevel.product_id == product_id)).one())


def test_receive_against_po_partial_then_over_receipt(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA-1", "25.00", {"SH": 0})
    waiting = orders.create_order(order_input(("TEA-1", 2), allow_backorder=True), CLERK)
    po_id = _po(tea, 10)
    at = logged_in("buyer", page=PAGE)
    sheet = at.data_editor[0].value
    assert sheet["outstanding"].tolist() == [10] and sheet["receive"].tolist() == [10]
    at.session_state[f"rc_po_lines_{po_id}_0"] = {"edited_rows": {0: {"receive": 4}}, "added_rows": [],
                                                   "deleted_rows": []}
    at.button(key="rc_receive_po").click().run()
    assert not at.exception
    assert at.success[0].value == en("rc.po_received", number="PO-R1", units=4,
                                     status=en("rc_po_status.partial"), released=waiting.number)
    assert _stock(tea) == (4, 2)
    at.session_state[f"rc_po_lines_{po_id}_1"] = {"edited_rows": {0: {"receive": 7}}, "added_rows": [],
                                                   "deleted_rows": []}
    at.button(key="rc_receive_po").click().run()
    assert en("error.validation_what", what=en("what.receipt")) in [e.value for e in at.error]
    assert any("already received 4" in m.value for m in at.markdown)
    assert _stock(tea) == (4, 2)


def test_adhoc_receipt_and_unknown_sku(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA-1", "25.00", {"SH": 0})
    at = logged_in("warehouse", page=PAGE)
    assert [i.value for i in at.info] == [en("rc.no_pos")]
    at.selectbox(key="rc_adhoc_wh").set_value("SH")
    at.session_state["rc_adhoc_0"] = {"edited_rows": {}, "added_rows": [{"sku": "NOPE", "qty": 1}],
                                      "deleted_rows": []}
    at.button(key="rc_receive_adhoc").click().run()
    assert en("error.validation_what", what=en("what.receipt")) in [e.value for e in at.error]
    at.session_state["rc_adhoc_0"] = {"edited_rows": {}, "added_rows": [{"sku": "TEA-1", "qty": 6}],
                                      "deleted_rows": []}
    at.text_input(key="rc_adhoc_note").input("store return")
    at.button(key="rc_receive_adhoc").click().run()
    assert at.success[0].value == en("rc.adhoc_received", units=6, lines=1, warehouse="SH", released="—")
    assert _stock(tea) == (6, 0)


def test_a_warehouse_with_bins_puts_each_line_away_into_the_bin_shown(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA-1", "25.00", {"SH": 0})
    for code in ("A-01", "R-01"):
        bins.save_bin(BinInput("SH", code, "pick" if code == "A-01" else "reserve", 1), WAREHOUSE)
    bins.set_home_bin("SH", "TEA-1", "A-01", WAREHOUSE)
    po_id = _po(tea, 10)
    at = logged_in("warehouse", page=PAGE)
    assert at.data_editor[0].value["bin"].tolist() == ["A-01"]  # the home bin, prefilled
    at.session_state[f"rc_po_lines_{po_id}_0"] = {"edited_rows": {0: {"receive": 3, "bin": "R-01"}},
                                                   "added_rows": [], "deleted_rows": []}
    at.button(key="rc_receive_po").click().run()
    assert not at.exception and not at.error
    assert _stock(tea) == (3, 0)
    with db.transaction() as s:
        assert s.execute(select(Bin.code).join(MovementBin, MovementBin.bin_id == Bin.id)).scalars().all() == ["R-01"]


def test_scan_to_receive_counts_up_refuses_strays_and_receives_once(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA-1", "25.00", {"SH": 0})
    make_product("CUP-1", "9.00")
    _po(tea, 2)
    at = logged_in("warehouse", page=PAGE)
    for code in ("TEA-1", "TEA-1"):
        at.text_input(key="rc_scan_box").input(code).run()
        assert not at.exception
    assert at.text_input(key="rc_scan_box").value == ""  # emptied for the next scan
    assert en("scan.ok", sku="TEA-1", name="商品 TEA-1", units=2, limit=2) in [s.value for s in at.success]
    at.text_input(key="rc_scan_box").input("TEA-1").run()  # a third: the PO takes two
    assert en("scan.extra_on_po", number="PO-R1", qty=2, sku="TEA-1") in [e.value for e in at.error]
    at.text_input(key="rc_scan_box").input("CUP-1").run()
    assert en("scan.not_on_po", sku="CUP-1", name="商品 CUP-1", number="PO-R1") in [e.value for e in at.error]
    assert _stock(tea) == (0, 0)  # scans write nothing
    sheet = at.data_editor[-1].value
    assert sheet[["sku", "outstanding", "scanned"]].values.tolist() == [["TEA-1", 2, 2]]
    at.button(key="rc_scan_commit").click().run()
    assert not at.exception
    assert at.success[0].value == en("rc.po_received", number="PO-R1", units=2, status=en("rc_po_status.received"),
                                     released="—")
    assert _stock(tea) == (2, 0)
