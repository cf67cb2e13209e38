"""The public order lookup (no login), the notifications outbox and the returns analysis."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import update
from streamlit.runtime.context import ContextProxy
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Product
from core.services import aftersales as rma
from core.services.aftersales import RMALine, RMARequest
from core.services.order_lookup import DEFAULT_LIMITS
from core.services.orders import OrderResult
from tests.aftersales_data import delivered_order
from tests.factories import SERVICE, make_product
from tests.pages.conftest import new_app

LOOKUP = "pages/order_lookup.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


@pytest.fixture
def order(db_url: str) -> OrderResult:
    make_product("TEA-1", "25.00", {"SH": 10})
    return delivered_order(("TEA-1", 2), customer_name="王五", phone="13700137000")


def _anonymous_lookup() -> AppTest:
    at = new_app()
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page(LOOKUP).run()
    assert not at.exception, at.exception
    return at


def _ask(at: AppTest, number: str, last4: str) -> AppTest:
    at.text_input(key="lk_number").input(number)
    at.text_input(key="lk_last4").input(last4)
    return at.button(key="lk_submit").click().run()


def test_lookup_without_login_shows_status_tracking_and_returns(order: OrderResult) -> None:
    opened = rma.open_rma(RMARequest(order.id, "return", "size", (RMALine(1, 1),)), SERVICE)
    at = _ask(_anonymous_lookup(), order.number, "7000")
    assert at.title[0].value == en("page.order_lookup")
    assert [m.value for m in at.metric] == [en("status.delivered"), "顺丰", "SF1234567890"]
    shown = " ".join(m.value for m in at.markdown)
    assert opened.number in shown and en("rma_status.requested") in shown
    assert "王五" not in shown and "13700137000" not in shown and "25.00" not in shown  # nothing else


def test_wrong_phone_and_unknown_order_get_the_same_answer(order: OrderResult) -> None:
    wrong_phone = _ask(_anonymous_lookup(), order.number, "1234")
    unknown = _ask(_anonymous_lookup(), "SO20000101-999999", "7000")
    for at in (wrong_phone, unknown):
        assert [w.value for w in at.warning] == [en("lookup.not_found")]
        assert not at.metric and not at.error


def test_lookup_input_errors_and_the_rate_limit(order: OrderResult) -> None:
    at = _ask(_anonymous_lookup(), order.number, "12")
    assert en("error.lookup_invalid") in [e.value for e in at.error]
    for guess in range(5):
        _ask(at, order.number, f"{guess:04d}")
    _ask(at, order.number, "7000")
    (error,) = at.error
    seconds = int(re.search(r"\d+", error.value).group())
    assert error.value == en("sec.lookup_throttled", seconds=seconds) and 0 < seconds <= 10  # not an hour
    assert not at.metric


def test_the_limit_survives_a_reload(order: OrderResult, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failures are counted server-side under the browser's address, not in the session."""
    monkeypatch.setattr(ContextProxy, "ip_address", property(lambda _self: "203.0.113.9"))
    at = _anonymous_lookup()
    for guess in range(DEFAULT_LIMITS["client_failures"]):
        _ask(at, f"SO20000101-{guess:06d}", "7000")
    reloaded = _ask(_anonymous_lookup(), order.number, "7000")
    assert [e.value[:20] for e in reloaded.error] == [en("sec.lookup_throttled", seconds=1)[:20]]
    monkeypatch.setattr(ContextProxy, "ip_address", property(lambda _self: "198.51.100.7"))
    elsewhere = _ask(_anonymous_lookup(), order.number, "7000")
    assert not elsewhere.error and elsewhere.metric[0].value == en("status.delivered")


def test_logged_in_staff_do_not_see_the_public_page_in_their_menu(logged_in: Callable[..., AppTest],
                                                                 db_url: str) -> None:
    at = logged_in("service")
    with pytest.raises(ValueError):
        at.switch_page(LOOKUP)


def test_outbox_lists_and_filters_for_admins(logged_in: Callable[..., AppTest], order: OrderResult) -> None:
    at = logged_in("admin", page="pages/notifications.py")
    assert at.title[0].value == en("page.notifications")
    assert at.metric[0].value == "3"  # created, shipped, delivered: all pending
    table = at.dataframe[-1].value
    assert set(table[en("field.outbox_event")]) == {"order.created", "order.shipped", "order.delivered"}
    at.text_input(key="nt_event").input("order.shipped").run()
    table = at.dataframe[-1].value
    assert table[en("field.outbox_event")].tolist() == ["order.shipped"]
    assert "SF1234567890" in table[en("field.outbox_payload")].iloc[0]
    at.multiselect(key="nt_statuses").select("sent").run()
    assert [i.value for i in at.info] == [en("outbox.none")]
    service = logged_in("service")
    with pytest.raises(ValueError):
        service.switch_page("pages/notifications.py")


def test_returns_analysis_flags_the_outlier(logged_in: Callable[..., AppTest], db_url: str) -> None:
    for sku in ("BAD", "OK1", "OK2"):
        make_product(sku, "10.00", {"SH": 100})
    with db.transaction() as s:
        s.execute(update(Product).values(category="服装"))
    first = delivered_order(("BAD", 10), ("OK1", 20), ("OK2", 20))
    second = delivered_order(("BAD", 10))
    rma.open_rma(RMARequest(first.id, "return", "quality", (RMALine(1, 4),)), SERVICE)
    rma.open_rma(RMARequest(second.id, "return", "size", (RMALine(1, 3),)), SERVICE)
    at = logged_in("manager", page="pages/returns_analytics.py")
    assert not at.exception
    assert at.metric[0].value == f"{7 / 60:.1%}"
    assert at.metric[4].value == "2"  # open RMAs
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and warnings[0].startswith("BAD")
    assert len(at.get("plotly_chart")) == 4
    at.segmented_control(key="ret_days").set_value(30).run()
    assert not at.exception
