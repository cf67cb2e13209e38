"""Webhooks page: a manager subscribes a receiver (secret shown once), sees the delivery log
after a real delivery, replays an event by id, deactivates the subscription; a refused URL
says why; roles without the permission cannot open it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services import webhook_delivery, webhooks
from core.services.orders import create_order
from tests.factories import ADMIN, CLERK, make_product, order_input
from tests.webhook_receiver import running


def test_subscribe_see_the_log_replay_and_deactivate(logged_in: Callable[..., AppTest]) -> None:
    with running() as receiver:
        at = logged_in("manager", page="pages/webhooks.py")
        assert [i.value for i in at.info][:1] == [translate("webhooks.none", "en")]
        at.text_input(key="wh_name").set_value("wms")
        at.text_input(key="wh_url").set_value(receiver.url("/wms"))
        at.multiselect(key="wh_events").set_value(["order.created"])
        at.button[0].click().run()  # the form's submit button
        assert not at.exception and not at.error
        secret = at.code[0].value
        assert secret.startswith("whsec_")
        receiver.secrets["/wms"] = secret
        assert at.dataframe[0].value[translate("webhooks.col_name", "en")].tolist() == ["wms"]

        make_product("TEA", "10.00", {"SH": 10})
        create_order(order_input(("TEA", 1)), CLERK)
        webhook_delivery.deliver_due()
        [got] = receiver.delivered("/wms")
        assert got.verified
        at.run()
        assert not at.code  # the secret was shown once
        log = at.dataframe[-1].value
        assert log[translate("field.webhook_event_id", "en")].tolist() == [got.event_id]
        assert log[translate("field.webhook_response_code", "en")].tolist() == [200]

        at.text_input(key="wh_replay_id").set_value(got.event_id)
        at.button(key="wh_replay_btn").click().run()
        assert [s.value for s in at.success] == [translate("webhooks.replayed", "en", event_id=got.event_id, n=1)]
        webhook_delivery.deliver_due()
        assert [r.event_id for r in receiver.delivered("/wms")] == [got.event_id, got.event_id]

        at.text_input(key="wh_event_id").set_value(got.event_id).run()
        assert len(at.dataframe[-1].value) == 2

        at.button(key="wh_deactivate_btn").click().run()
        assert [s.value for s in at.success] == [translate("webhooks.deactivated", "en", name="wms")]
        assert [s.active for s in webhooks.list_subscriptions(ADMIN)] == [False]


def test_a_url_of_another_scheme_is_refused_in_chinese(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page="pages/webhooks.py", lang="zh")
    at.text_input(key="wh_url").set_value("ftp://example.com/in")
    at.multiselect(key="wh_events").set_value(["order.shipped"])
    at.button[0].click().run()
    assert not at.exception and at.error[0].value == translate("error.validation", "zh")
    assert webhooks.list_subscriptions(ADMIN) == []


@pytest.mark.parametrize("role", ["clerk", "warehouse", "buyer", "service"])
def test_other_roles_cannot_open_it(logged_in: Callable[..., AppTest], role: str) -> None:
    with pytest.raises(ValueError):
        logged_in(role).switch_page("pages/webhooks.py")
