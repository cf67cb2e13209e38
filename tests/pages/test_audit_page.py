"""Audit page: who changed what and when, filtered by record, user, action and date, with the
before/after diff of a picked change; it offers nothing that edits history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services.orders import OrderResult, create_order, transition, update_order
from core.timeutil import local_today
from tests.factories import CLERK, MANAGER, SERVICE, make_product, order_input


@pytest.fixture
def history() -> tuple[OrderResult, OrderResult]:
    make_product("TEA-1", "25.00", {"SH": 10})
    first = create_order(order_input(("TEA-1", 1)), CLERK)
    second = create_order(order_input(("TEA-1", 2), phone="13700137000"), CLERK)
    transition(first.id, "on_hold", SERVICE)
    update_order(first.id, {"note": "客户要求周末送", "priority": 5}, MANAGER, expected_version=2)
    return first, second


def _column(at: AppTest, field: str) -> list[object]:
    return at.dataframe[0].value[translate(f"field.{field}", "en")].tolist()


def test_lists_every_change_newest_first(logged_in: Callable[..., AppTest], history: tuple) -> None:
    at = logged_in("manager", page="pages/audit.py")
    assert _column(at, "action") == [translate(f"action.order.{a}", "en") for a in ("edit", "on_hold", "create",
                                                                                     "create")]
    assert _column(at, "actor") == ["boss", "cs1", "clerk1", "clerk1"]
    assert "note, priority" in _column(at, "changed")
    assert translate("auditlog.found", "en", n=4) in [c.value for c in at.caption]
    assert [b.label for b in at.download_button] == [translate("list.download_all", "en", n=4)]


def test_filters_and_diff(logged_in: Callable[..., AppTest], history: tuple) -> None:
    first, _ = history
    at = logged_in("manager", page="pages/audit.py")
    at.text_input(key="au_entity_id").input(first.number).run()
    assert set(_column(at, "entity_id")) == {first.number} and len(_column(at, "entity_id")) == 3
    at.selectbox(key="au_user").select("boss").run()
    assert _column(at, "action") == [translate("action.order.edit", "en")]
    diff = at.dataframe[1].value  # the picked entry: the edit
    rows = {r[0]: (r[1], r[2], r[3]) for r in diff.itertuples(index=False)}
    note, priority = translate("field.note", "en"), translate("field.priority", "en")  # fields by their labels
    assert rows[note] == ("", "客户要求周末送", True) and rows[priority] == ("0", "5", True)
    at.button(key="au_history").click().run()  # back to the whole history of that order
    assert at.session_state["au_user"] is None and len(_column(at, "entity_id")) == 3


def test_date_and_action_filters(logged_in: Callable[..., AppTest], history: tuple) -> None:
    at = logged_in("manager", page="pages/audit.py")
    at.selectbox(key="au_action").select("order.on_hold").run()
    assert _column(at, "actor") == ["cs1"]
    at.selectbox(key="au_action").select(None).run()
    yesterday = local_today() - dt.timedelta(days=1)
    at.date_input(key="au_dates").set_value((yesterday - dt.timedelta(days=5), yesterday)).run()
    assert [i.value for i in at.info] == [translate("auditlog.none_found", "en")]


@pytest.mark.parametrize("text", ["' OR '1'='1", "%", "_", "SO%'; DROP TABLE audit_log; --", "\\"])
def test_search_text_is_only_data(logged_in: Callable[..., AppTest], history: tuple, text: str) -> None:
    at = logged_in("manager", page="pages/audit.py")
    at.text_input(key="au_entity_id").input(text).run()
    assert not at.exception
    assert [i.value for i in at.info] == [translate("auditlog.none_found", "en")]
    at.text_input(key="au_entity_id").input("").run()
    assert len(at.dataframe[0].value) == 4  # the table is still there, all rows intact


def test_no_control_edits_history(logged_in: Callable[..., AppTest], history: tuple) -> None:
    at = logged_in("admin", page="pages/audit.py")
    assert [b.key for b in at.button] == ["au_history"]  # the only button filters; nothing edits


def test_other_roles_cannot_open_it(logged_in: Callable[..., AppTest]) -> None:
    for role in ("clerk", "service", "warehouse", "buyer"):
        with pytest.raises(ValueError):
            logged_in(role).switch_page("pages/audit.py")
