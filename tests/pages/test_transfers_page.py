"""Transfers page: draft → ship → receive through the buttons, stock in transit shown, and a
transfer beyond available stock refused with the line named."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import StockLevel, Transfer, Warehouse
from tests.factories import make_product

PAGE = "pages/transfers.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _levels(product_id: int) -> dict[str, int]:
    with db.transaction() as s:
        return dict(s.execute(select(Warehouse.code, StockLevel.on_hand).join(
            Warehouse, Warehouse.id == StockLevel.warehouse_id).where(StockLevel.product_id == product_id)).all())


def _new(at: AppTest, sku: str, qty: int) -> AppTest:
    at.selectbox(key="tr_from").set_value("SH")
    at.selectbox(key="tr_to").set_value("GZ").run()
    at.session_state[f"tr_lines_{at.session_state['tr_rev'] if 'tr_rev' in at.session_state else 0}"] = {
        "edited_rows": {}, "added_rows": [{"sku": sku, "qty": qty}], "deleted_rows": []}
    return at.button(key="tr_create").click().run()


def test_draft_ship_receive(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA-1", "25.00", {"SH": 10})
    at = _new(logged_in("warehouse", page=PAGE), "TEA-1", 4)
    assert not at.exception
    with db.transaction() as s:
        number = s.execute(select(Transfer.number)).scalar_one()
    assert at.success[0].value == en("tr.created", number=number, status=en("transfer_status.draft"))
    assert at.dataframe[0].value[en("field.number")].tolist() == [number]
    at.button(key="tr_ship").click().run()
    assert at.success[0].value == en("tr.shipped", number=number)
    assert _levels(tea) == {"SH": 6}
    transit = at.dataframe[-1].value  # the in-transit tab
    assert transit[[en("field.sku"), en("field.in_transit")]].values.tolist() == [["TEA-1", 4]]
    at.button(key="tr_receive").click().run()  # receive everything outstanding (the default)
    assert not at.exception
    assert at.success[0].value == en("tr.received", number=number, status=en("transfer_status.received"),
                                     released="—")
    assert _levels(tea) == {"SH": 6, "GZ": 4}


def test_more_than_available_is_refused(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 3})
    at = _new(logged_in("manager", page=PAGE), "TEA-1", 5)
    assert en("error.validation_what", what=en("what.transfer")) in [e.value for e in at.error]
    assert any("SH" in m.value and en("error.line", row=1) in m.value for m in at.markdown)
    with db.transaction() as s:
        assert s.execute(select(Transfer.id)).first() is None


def test_scan_out_then_scan_in(logged_in: Callable[..., AppTest]) -> None:
    from core.services.transfers import create_transfer
    from tests.factories import WAREHOUSE

    tea = make_product("TEA-1", "25.00", {"SH": 10})
    make_product("CUP-1", "8.00", {"SH": 10})
    draft = create_transfer("SH", "GZ", [("TEA-1", 2)], WAREHOUSE)
    at = logged_in("warehouse", page=PAGE)
    at.text_input(key="tr_scan_out_box").input("TEA-1").run()
    at.button(key="tr_scan_out_commit").click().run()  # one of two scanned: refused, nothing moves
    assert _levels(tea) == {"SH": 10}
    assert at.error[0].value == en("error.validation_what", what=en("what.transfer"))
    at.text_input(key="tr_scan_out_box").input("CUP-1").run()
    assert en("scan.not_on_transfer", sku="CUP-1", name="商品 CUP-1", number=draft.number) in [e.value for e in at.error]
    at.text_input(key="tr_scan_out_box").input("TEA-1").run()
    at.button(key="tr_scan_out_commit").click().run()
    assert not at.exception and at.success[0].value == en("tr.shipped", number=draft.number)
    assert _levels(tea) == {"SH": 8}
    at.text_input(key="tr_scan_in_box").input("TEA-1").run()
    at.text_input(key="tr_scan_in_box").input("TEA-1").run()
    at.text_input(key="tr_scan_in_box").input("TEA-1").run()  # only two were shipped
    assert en("scan.extra_on_transfer", sku="TEA-1", qty=2, number=draft.number) in [e.value for e in at.error]
    at.button(key="tr_scan_in_commit").click().run()
    assert not at.exception
    assert _levels(tea) == {"SH": 8, "GZ": 2}
