"""Alerts page: scan, acknowledge, and (for managers) reconciliation with a planted discrepancy
shown with its cause."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import insert, update
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Alert, Order, StockLevel
from core.services import orders
from core.timeutil import utcnow
from tests.factories import CLERK, make_product, order_input

PAGE = "pages/alerts.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def test_scan_and_acknowledge(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    late = orders.create_order(order_input(("TEA-1", 1)), CLERK)
    with db.transaction() as s:
        s.execute(update(Order).where(Order.id == late.id).values(approved_at=utcnow() - dt.timedelta(hours=30)))
    at = logged_in("warehouse", page=PAGE)
    assert [s.value for s in at.success] == [en("al.none")]
    assert en("al.reconciliation") not in [h.value for h in at.subheader]  # managers only
    at.button(key="al_scan").click().run()
    assert en("al.scanned", raised=1, resolved=0) in [s.value for s in at.success]
    table = at.dataframe[0].value
    assert table[en("field.kind")].tolist() == [en("alert_kind.sla_breach")]
    alert_id = at.multiselect(key="al_ack").options
    assert len(alert_id) == 1
    at.multiselect(key="al_ack").select(at.multiselect(key="al_ack").options[0])
    at.button(key="al_ack_go").click().run()
    assert en("al.acknowledged", n=1) in [s.value for s in at.success]
    assert en("al.none") in [s.value for s in at.success]  # acknowledged alerts are hidden by default
    at.checkbox(key="al_with_ack").check().run()
    assert at.dataframe[0].value[en("field.acknowledged_by")].tolist() == ["tester"]
    at.button(key="al_ack_go").click().run()  # nothing picked
    assert en("error.validation") in [e.value for e in at.error]


def test_reconciliation_shows_the_cause(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA-1", "25.00", {"SH": 10})
    at = logged_in("manager", page=PAGE)
    assert [i.value for i in at.info] == [en("al.no_reports")]
    at.button(key="al_reconcile").click().run()
    assert en("al.reconcile_ok", movements=1) in [s.value for s in at.success]
    with db.transaction() as s:
        s.execute(update(StockLevel).where(StockLevel.product_id == tea).values(on_hand=12))
    at.button(key="al_reconcile").click().run()
    assert en("al.reconcile_found", n=1) in [e.value for e in at.error]
    report = at.dataframe[-2].value  # the latest report, above the history
    assert report[[en("field.check"), en("field.sku"), en("field.cause")]].values.tolist() == [
        [en("recon_check.ledger"), "TEA-1", en("recon_cause.edited_outside_ledger")]]
    assert en("alert_kind.reconciliation") in at.dataframe[0].value[en("field.kind")].tolist()


def test_messages_show_in_the_readers_language(logged_in: Callable[..., AppTest]) -> None:
    """An alert keeps its message as codes, shown in the reader's language; a row written before
    the codes were kept (migration 0028) shows its stored text."""
    make_product("TEA-1", "25.00", {"SH": 1})
    waiting = orders.create_order(order_input(("TEA-1", 3), allow_backorder=True), CLERK)
    with db.transaction() as s:
        s.execute(insert(Alert).values(kind="backorder", severity="warning", entity="order", entity_id="SO-OLD",
                                       message="an alert from before", created_at=utcnow()))
    at = logged_in("warehouse", page=PAGE, lang="zh")
    messages = at.dataframe[0].value[translate("field.message", "zh")].tolist()
    assert translate("alert_msg.shortage", "zh", sku="TEA-1", need=3, available=1, warehouse="SH") in messages
    assert "an alert from before" in messages
    assert waiting.status == "backordered"
