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
