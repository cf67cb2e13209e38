"""Orders page: one box finds orders by number or phone; status buttons call transition() with
the version on screen, and a stale version is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Order
from core.services.orders import OrderResult, create_order, transition
from core.timeutil import local_today
from tests.factories import CLERK, MANAGER, make_product, order_input, pack_by_scan


@pytest.fixture
def two_orders() -> tuple[OrderResult, OrderResult]:
    make_product("TEA-1", "25.00", {"SH": 10})
    first = create_order(order_input(("TEA-1", 1), customer_name="王五", phone="13700137000"), CLERK)
    second = create_order(order_input(("TEA-1", 2), customer_name="赵六", phone="13600136000"), CLERK)
    return first, second


def _search(at: AppTest, query: str) -> AppTest:
    at.text_input(key="ol_query").input(query)
    return at.run()


def _order(order_id: int) -> tuple[str, int, str | None]:
    with db.transaction() as s:
        row = s.execute(select(Order.status, Order.version, Order.tracking_no).where(Order.id == order_id)).one()
    return row.status, row.version, row.tracking_no


def _open(logged_in: Callable[..., AppTest], role: str, query: str) -> AppTest:
    at = _search(logged_in(role, page="pages/orders.py"), query)
    assert not at.exception
    return at


def test_search_by_number(logged_in: Callable[..., AppTest], two_orders: tuple[OrderResult, OrderResult]) -> None:
    first, _ = two_orders
    at = _open(logged_in, "service", first.number)
    assert at.dataframe[0].value[translate("field.number", "en")].tolist() == [first.number]
    assert at.subheader[0].value == translate("orders.detail", "en", number=first.number)
    lines = at.dataframe[1].value
    assert lines[translate("field.qty_reserved", "en")].tolist() == [1]
    assert [b.label for b in at.download_button][-1] == translate("doc.order_slip", "en")


def test_search_by_phone_and_filters(logged_in: Callable[..., AppTest],
                                     two_orders: tuple[OrderResult, OrderResult]) -> None:
    _, second = two_orders
    at = _open(logged_in, "service", "136-0013-6000")
    assert at.dataframe[0].value[translate("field.number", "en")].tolist() == [second.number]
    _search(at, "")
    assert len(at.dataframe[0].value) == 2
    today = local_today()
    at.date_input(key="ol_dates").set_value((today - dt.timedelta(days=9), today - dt.timedelta(days=1))).run()
    assert [i.value for i in at.info] == [translate("orders.none_found", "en")]
    at.date_input(key="ol_dates").set_value((today, today)).run()
    assert len(at.dataframe[0].value) == 2
    at.multiselect(key="ol_statuses").select("cancelled").run()
    assert [i.value for i in at.info] == [translate("orders.none_found", "en")]


def test_transition_button(logged_in: Callable[..., AppTest], two_orders: tuple[OrderResult, OrderResult]) -> None:
    first, _ = two_orders
    at = _open(logged_in, "service", first.number)
    keys = [b.key for b in at.button]
    assert "ol_to_on_hold" in keys and "ol_to_picking" not in keys  # service may not pick
    at.button(key="ol_to_on_hold").click().run()
    assert [s.value for s in at.success] == [
        translate("orders.transition_done", "en", status=translate("status.on_hold", "en"))]
    assert _order(first.id)[:2] == ("on_hold", 2)
    timeline = at.dataframe[2].value[translate("field.to_status", "en")].tolist()
    assert timeline == [translate("status.confirmed", "en"), translate("status.on_hold", "en")]


def test_stale_version_is_refused(logged_in: Callable[..., AppTest],
                                  two_orders: tuple[OrderResult, OrderResult]) -> None:
    first, _ = two_orders
    at = _open(logged_in, "service", first.number)  # the user sees version 1
    transition(first.id, "on_hold", MANAGER)  # someone else acts meanwhile → version 2
    at.button(key="ol_to_on_hold").click().run()
    assert translate("error.stale_what", "en", what=translate("what.order", "en")) in [e.value for e in at.error]
    assert _order(first.id)[:2] == ("on_hold", 2)  # nothing overwritten, no second event


def test_ship_asks_for_tracking_number(logged_in: Callable[..., AppTest],
                                       two_orders: tuple[OrderResult, OrderResult]) -> None:
    first, _ = two_orders
    pack_by_scan(first.id, MANAGER)
    at = _open(logged_in, "warehouse", first.number)
    at.button(key="ol_to_shipped").click().run()
    assert translate("error.validation_what", "en", what=translate("what.order", "en")) in [e.value for e in at.error]
    assert _order(first.id)[0] == "packed"
    at.text_input(key=f"ol_tracking_{first.id}").input("SF123456789")
    at.button(key="ol_to_shipped").click().run()
    assert _order(first.id) == ("shipped", 4, "SF123456789")


def test_the_list_counts_every_match_and_pages_through_them(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 100})
    numbers = {create_order(order_input(("TEA-1", 1)), CLERK).number for _ in range(55)}
    at = _open(logged_in, "service", "")
    assert translate("orders.found", "en", n=55) in [c.value for c in at.caption]
    first = at.dataframe[0].value[translate("field.number", "en")].tolist()
    assert len(first) == 50
    assert translate("list.download_all", "en", n=55) in [b.label for b in at.download_button]
    at.number_input(key="ol_list_page").increment().run()
    second = at.dataframe[0].value[translate("field.number", "en")].tolist()
    assert len(second) == 5 and set(first) | set(second) == numbers
    assert translate("list.showing", "en", first=51, last=55, total=55) in [c.value for c in at.caption]


def test_intercept_and_release(logged_in: Callable[..., AppTest], two_orders: tuple[OrderResult, OrderResult]) -> None:
    first, _ = two_orders
    at = _open(logged_in, "service", first.number)
    at.selectbox(key=f"ol_hold_reason_{first.number}").set_value("refund_requested")
    at.button(key=f"ol_intercept_{first.number}").click().run()
    assert not at.exception
    banner = translate("hold.banner", "en", reasons=translate("hold_reason.refund_requested", "en"))
    assert banner in [w.value for w in at.warning]
    at.button(key=f"ol_release_{first.number}").click().run()
    assert [s.value for s in at.success] == [translate("hold.released", "en", number=first.number, n=1)]
    assert banner not in [w.value for w in at.warning]


def test_timeline_notes_show_in_the_readers_language(logged_in: Callable[..., AppTest],
                                                     two_orders: tuple[OrderResult, OrderResult]) -> None:
    """A note the system wrote is kept as codes and shown in the reader's language; a person's
    own words are shown as typed."""
    first, _ = two_orders
    at = _open(logged_in, "service", first.number)
    at.selectbox(key=f"ol_hold_reason_{first.number}").set_value("refund_requested")
    at.button(key=f"ol_intercept_{first.number}").click().run()
    at.session_state["lang"] = "zh"
    at.run()
    notes = at.dataframe[2].value[translate("field.note", "zh")].tolist()
    assert translate("note.intercepted", "zh", reason=translate("hold_reason.refund_requested", "zh")) in notes
