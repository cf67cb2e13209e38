"""After-sales page: find an order, open an RMA from the line editor, move it through its
states with the buttons (inspection and refund included), refusals shown; the queue, the
customer history, the return policy; the RMA section of the Orders page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Channel, Order, Product, Return
from core.services import aftersales as rma
from core.services.aftersales import RMALine, RMARequest
from core.services.orders import OrderResult
from tests.aftersales_data import delivered_order, stock_of
from tests.factories import ADMIN, MANAGER, SERVICE, make_product

PAGE = "pages/aftersales.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


@pytest.fixture
def order(db_url: str) -> OrderResult:
    make_product("TEA-1", "25.00", {"SH": 10})
    return delivered_order(("TEA-1", 3), customer_name="王五", phone="13700137000")


def _desk(logged_in: Callable[..., AppTest], role: str, number: str, username: str = "tester") -> AppTest:
    at = logged_in(role, username, page=PAGE)
    at.text_input(key="as_query").input(number).run()
    assert not at.exception, at.exception
    return at


def _open(at: AppTest, order_id: int, qty: int) -> AppTest:
    at.session_state[f"as_open_{order_id}_0"] = {"edited_rows": {0: {"qty": qty}}, "added_rows": [],
                                                 "deleted_rows": []}
    at.run()
    return at.button(key="as_open_go").click().run()


def _rmas() -> list[tuple[str, str]]:
    with db.transaction() as s:
        return [tuple(r) for r in s.execute(select(Return.number, Return.status).order_by(Return.id))]


def _tables_with(at: AppTest, column_key: str) -> list:
    """The shown tables (DataFrames) having the translated column ``column_key``."""
    return [d.value for d in at.dataframe if en(column_key) in d.value.columns]


def _product_id(sku: str) -> int:
    with db.transaction() as s:
        return s.execute(select(Product.id).where(Product.sku == sku)).scalar_one()


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_open_an_rma_and_take_it_to_the_refund(logged_in: Callable[..., AppTest], order: OrderResult) -> None:
    at = _desk(logged_in, "service", order.number)
    assert at.subheader[0].value == en("orders.detail", number=order.number)
    assert any(en("desk.window_open", days=15, deadline="")[:20] in i.value for i in at.info)
    at = _open(at, order.id, 2)
    assert not _errors(at), _errors(at)
    ((number, status),) = _rmas()
    assert status == "requested"
    assert [s.value for s in at.success] == [en("desk.opened", number=number, refund="CN¥50.00")]
    rma_id = at.session_state["as_rma_d"]
    assert at.subheader[1].value == en("desk.detail", number=number)
    assert en("doc.rma_label") in [b.label for b in at.get("download_button")]  # for the return parcel
    assert f"d_to_approved_{rma_id}" not in [b.key for b in at.button]  # nobody approves their own request
    boss = _desk(logged_in, "manager", order.number, username="boss")
    boss.session_state["as_rma_d"] = rma_id
    boss.run()
    boss.button(key=f"d_to_approved_{rma_id}").click().run()
    assert _rmas() == [(number, "approved")]
    assert en("desk.moved", status=en("rma_status.approved")) in [s.value for s in boss.success]
    at.run()
    at.button(key=f"d_to_received_{rma_id}").click().run()
    # inspection: one unit resellable into SH, one written off with a reason
    editor = f"d_inspect_{rma_id}_0"
    at.session_state[editor] = {"edited_rows": {0: {"rma_restocked": 1, "rma_damage_reason": "box crushed"}},
                                "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key=f"d_inspect_go_{rma_id}").click().run()
    assert not _errors(at), _errors(at)
    assert _rmas() == [(number, "inspected")]
    assert stock_of(_product_id("TEA-1")) == (8, 0)  # 10 − 3 shipped + 1 back on the shelf
    at.number_input(key=f"d_amount_{rma_id}").set_value(50.0)
    at.button(key=f"d_refund_go_{rma_id}").click().run()
    assert en("desk.refunded", amount="CN¥50.00", payment_status=en("payment_status.partially_refunded")) in [
        s.value for s in at.success]
    at.button(key=f"d_to_closed_{rma_id}").click().run()
    assert _rmas() == [(number, "closed")]
    (timeline,) = [t[en("field.rma_event")].tolist() for t in _tables_with(at, "field.rma_event")]
    assert timeline == [en(f"rma_event.{e}") for e in ("opened", "approved", "received", "inspected", "refunded",
                                                       "closed")]


def test_over_return_and_missing_lines_are_shown_and_nothing_saved(logged_in: Callable[..., AppTest],
                                                                   order: OrderResult) -> None:
    at = _desk(logged_in, "service", order.number)
    at = _open(at, order.id, 5)
    assert en("error.rma_validation") in _errors(at)
    expected = (f"{en('error.line', row=1)} · {en('field.qty')}: "
                f"{en('issue.rma_over_return', n=3, shipped=3, returned=0)}")
    assert any(expected in m.value for m in at.markdown)
    assert _rmas() == []
    at = _open(at, order.id, 0)
    assert any(en("issue.rma_no_lines") in m.value for m in at.markdown)
    assert _rmas() == []


def test_late_request_needs_a_manager_exception(logged_in: Callable[..., AppTest], db_url: str) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    late = delivered_order(("TEA-1", 1), delivered_days_ago=20)
    at = _desk(logged_in, "service", late.number)
    assert "as_override" not in [c.key for c in at.checkbox]  # service staff cannot override
    at = _open(at, late.id, 1)
    assert any(e.startswith(en("error.rma_window", days=15, deadline="")[:15]) for e in _errors(at))
    assert _rmas() == []
    boss = _desk(logged_in, "manager", late.number)
    boss.checkbox(key="as_override").check()
    boss.text_area(key="as_note").input("loyal customer")
    boss = _open(boss, late.id, 1)
    assert not _errors(boss), _errors(boss)
    ((number, _),) = _rmas()
    assert [s.value for s in boss.success] == [en("desk.opened_override", number=number, refund="CN¥25.00")]


def test_queue_rejection_needs_a_note(logged_in: Callable[..., AppTest], order: OrderResult) -> None:
    opened = rma.open_rma(RMARequest(order.id, "return", "size", (RMALine(1, 1),)), SERVICE)
    at = logged_in("service", page=PAGE)
    table = at.dataframe[0].value
    assert table[en("field.rma_number")].tolist() == [opened.number]
    at.button(key=f"q_to_rejected_{opened.id}").click().run()
    assert any(en("issue.rma_reject_note") in m.value for m in at.markdown)
    at.text_input(key=f"q_note_{opened.id}").input("used and washed")
    at.button(key=f"q_to_rejected_{opened.id}").click().run()
    assert _rmas() == [(opened.number, "rejected")]
    at.multiselect(key="as_q_statuses").select("rejected").run()
    assert at.dataframe[0].value[en("field.rma_status")].tolist() == [en("rma_status.rejected")]


def test_warehouse_receives_and_inspects_but_cannot_refund(logged_in: Callable[..., AppTest],
                                                           order: OrderResult) -> None:
    opened = rma.open_rma(RMARequest(order.id, "return", "quality", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(opened.id, "approved", MANAGER)
    at = logged_in("warehouse", page=PAGE)
    keys = [b.key for b in at.button]
    assert f"q_to_received_{opened.id}" in keys and "as_open_go" not in keys
    assert f"q_to_cancelled_{opened.id}" not in keys
    at.button(key=f"q_to_received_{opened.id}").click().run()
    at.session_state[f"q_inspect_{opened.id}_0"] = {"edited_rows": {0: {"rma_restocked": 0}}, "added_rows": [],
                                                    "deleted_rows": []}
    at.run()
    at.button(key=f"q_inspect_go_{opened.id}").click().run()
    assert any(en("issue.rma_damage_reason") in m.value for m in at.markdown)  # a write-off needs a reason
    assert _rmas() == [(opened.number, "received")]
    assert f"q_refund_go_{opened.id}" not in [b.key for b in at.button]


def test_exchange_shows_the_replacement_order(logged_in: Callable[..., AppTest], order: OrderResult) -> None:
    make_product("TEA-2", "25.00", {"SH": 5})
    at = _desk(logged_in, "service", order.number)
    at.radio(key="as_kind").set_value("exchange").run()
    at.session_state[f"as_open_{order.id}_0"] = {"edited_rows": {0: {"qty": 1, "rma_replacement_sku": "TEA-2"}},
                                                 "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="as_open_go").click().run()
    rma_id = at.session_state["as_rma_d"]
    rma.transition_rma(rma_id, "approved", MANAGER)  # a second person approves
    at.run()
    at.button(key=f"d_to_received_{rma_id}").click().run()
    with db.transaction() as s:
        replacement = s.execute(select(Order.number).where(Order.id != order.id)).scalar_one()
    assert en("desk.replacement_created", number=replacement) in [s.value for s in at.success]
    assert f"d_refund_go_{rma_id}" not in [b.key for b in at.button]


def test_customer_history_and_orders_page_section(logged_in: Callable[..., AppTest], order: OrderResult) -> None:
    opened = rma.open_rma(RMARequest(order.id, "return", "size", (RMALine(1, 1),)), SERVICE)
    at = logged_in("service", page=PAGE)
    at.text_input(key="as_c_query").input("王五").run()
    assert not at.exception
    history = _tables_with(at, "field.rma_number")[-1]  # queue, then the customer's history
    assert history[en("field.rma_number")].tolist() == [opened.number]
    assert at.metric[0].value == "1"
    orders_page = logged_in("service", page="pages/orders.py")
    orders_page.text_input(key="ol_query").input(order.number).run()
    assert any(m.value == f"**{en('desk.order_section')}**" for m in orders_page.markdown)
    assert orders_page.dataframe[-1].value[en("field.rma_number")].tolist() == [opened.number]


def test_manager_edits_the_return_policy(logged_in: Callable[..., AppTest], db_url: str) -> None:
    at = logged_in("manager", page=PAGE)
    at.session_state["as_policy_0"] = {"edited_rows": {6: {"return_window_days": 30}}, "added_rows": [],
                                       "deleted_rows": []}
    at.radio(key="as_shipping").set_value("always").run()
    at.button(key="as_policy_go").click().run()
    assert en("desk.policy_saved") in [s.value for s in at.success]
    with db.transaction() as s:
        assert s.execute(select(Channel.return_window_days).where(Channel.code == "PHONE")).scalar_one() == 30
    service = logged_in("service", page=PAGE)
    assert "as_policy_go" not in [b.key for b in service.button]


def test_clerks_do_not_get_the_page(logged_in: Callable[..., AppTest], db_url: str) -> None:
    at = logged_in("clerk")
    with pytest.raises(ValueError):
        at.switch_page(PAGE)


def test_a_refund_above_the_limit_waits_for_a_second_person(logged_in: Callable[..., AppTest],
                                                             order: OrderResult) -> None:
    """Issue 13, separation of duties: the requester sees the request, only someone else approves."""
    from core.services.shop_settings import update_settings

    update_settings({"refund_approval.amount": "10.00"}, ADMIN)
    opened = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 2),)), SERVICE)
    rma.transition_rma(opened.id, "approved", MANAGER)
    at = _desk(logged_in, "service", order.number, username="cs1")
    at.session_state["as_rma_d"] = opened.id
    at.run()
    at.button(key=f"d_refund_go_{opened.id}").click().run()
    assert [i.value for i in at.info if i.value.startswith("Refund of")][0] == en("rb.refund_requested",
                                                                                  amount="CN¥50.00")
    keys = [b.key for b in at.button]
    assert f"d_refund_approve_{opened.id}" not in keys and f"d_refund_reject_{opened.id}" in keys
    with db.transaction() as s:
        assert s.execute(select(Order.payment_status).where(Order.id == order.id)).scalar_one() == "paid"
    boss = _desk(logged_in, "manager", order.number, username="boss")
    boss.session_state["as_rma_d"] = opened.id
    boss.run()
    boss.button(key=f"d_refund_approve_{opened.id}").click().run()
    assert not _errors(boss), _errors(boss)
    assert en("desk.refunded", amount="CN¥50.00", payment_status=en("payment_status.partially_refunded")) in [
        s.value for s in boss.success]
