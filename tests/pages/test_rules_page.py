"""Admin → Rules page: preview what a new rule would catch, save it (in force for the next
order), a refused rule names the problem, tagging runs from the page."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services import orders
from core.services.rules_admin import list_rules
from tests.factories import CLERK, MANAGER, make_product, order_input

PAGE = "pages/rules.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _rows(at: AppTest, rows: list[dict[str, object]]) -> None:
    at.session_state[f"rl_rows_{at.session_state['rl_rev']}"] = {
        "edited_rows": {0: rows[0]}, "added_rows": rows[1:], "deleted_rows": []}


def test_preview_and_save_an_allocation_rule(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10, "CD": 10})
    for _ in range(2):
        orders.create_order(order_input(("TEA-1", 1), channel="DOUYIN"), CLERK)
    orders.create_order(order_input(("TEA-1", 1)), CLERK)
    at = logged_in("manager", page=PAGE)
    assert len(at.dataframe[0].value) == len(list_rules(MANAGER))
    rev = at.session_state["rl_rev"]
    at.text_input(key=f"rl_name_{rev}").input("抖音 → 成都仓")
    at.number_input(key=f"rl_priority_{rev}").set_value(1)  # before the region rules (10)
    at.selectbox(key=f"rl_kind_{rev}").set_value("allocation").run()
    _rows(at, [{"field": "channel", "op": "==", "value": "DOUYIN"}])
    at.selectbox(key="rl_action_warehouse").set_value("CD")
    at.button(key="rl_preview_btn").click().run()
    assert not at.exception
    assert en("rl.preview_result", matched=2, checked=3) in [i.value for i in at.info]
    at.button(key="rl_save").click().run()
    assert not at.exception
    assert en("rl.saved", name="抖音 → 成都仓") in [s.value for s in at.success]
    assert orders.create_order(order_input(("TEA-1", 1), channel="DOUYIN"), CLERK).warehouse == "CD"


def test_refused_rule_shows_why(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    before = len(list_rules(MANAGER))
    rev = at.session_state["rl_rev"]
    _rows(at, [{"field": "total", "op": ">", "value": "lots"}])
    at.button(key="rl_save").click().run()  # no name, a text value for ">", no action
    assert en("error.validation_what", what=en("what.rule")) in [e.value for e in at.error]
    shown = " ".join(m.value for m in at.markdown)
    assert en("field.name") in shown and en("inv_issue.no_action") in shown
    assert en("inv_issue.needs_number", op=">") in shown
    assert len(list_rules(MANAGER)) == before
    assert at.session_state["rl_rev"] == rev


def test_apply_tagging_from_the_page(logged_in: Callable[..., AppTest]) -> None:
    make_product("TV-1", "6000.00", {"SH": 5})
    orders.create_order(order_input(("TV-1", 1)), CLERK)
    at = logged_in("manager", page=PAGE)
    at.button(key="rl_apply_tagging").click().run()
    assert en("rl.tagging_done", customers=1, tagged=1, orders=1) in [s.value for s in at.success]


def test_only_rule_editors_get_the_page(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("warehouse")
    try:
        at.switch_page(PAGE).run()
    except ValueError:  # not registered for this role at all
        return
    assert en("error.permission") in [e.value for e in at.error]


def test_save_a_gift_rule_and_the_next_order_gets_its_gift(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    make_product("CUP-GIFT", "1.00", {"SH": 10})
    at = logged_in("manager", page=PAGE)
    rev = at.session_state["rl_rev"]
    at.text_input(key=f"rl_name_{rev}").input("买茶送杯")
    at.selectbox(key=f"rl_kind_{rev}").set_value("gift").run()
    _rows(at, [{"field": "skus", "op": "contains", "value": "TEA-1"}])
    at.text_input(key="rl_action_gift").input("CUP-GIFT")
    at.number_input(key="rl_action_qty").set_value(2)
    at.button(key="rl_save").click().run()
    assert not at.exception
    assert en("rl.saved", name="买茶送杯") in [s.value for s in at.success]
    made = orders.create_order(order_input(("TEA-1", 1)), CLERK)
    assert made.gifts == ("CUP-GIFT",) and made.total == 25
