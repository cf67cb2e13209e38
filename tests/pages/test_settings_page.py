"""Shop settings page (admin): the form saves every value in one audited update; other roles
do not get the page; the switch that encrypts customers' names starts its job and shows it.
Orders page: with scanning required, packing points to the pack bench."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services import customer_names, orders
from core.services.shop_settings import shop_settings
from tests.factories import ADMIN, CLERK, WAREHOUSE, make_product, order_input

PAGE = "pages/settings.py"


def test_admin_changes_sla_and_turns_scanning_off(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    assert at.number_input(key="set_sla_hours").value == 24
    assert at.toggle(key="set_require_scan").value is True
    at.number_input(key="set_sla_hours").set_value(36)
    at.toggle(key="set_require_scan").set_value(False)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    assert translate("shop_settings.saved", "en", n=2) in [s.value for s in at.success]
    values = shop_settings(ADMIN)
    assert (values["fulfilment_sla.hours"], values["packing.require_scan"]) == (36, False)
    at.button[0].click().run()
    assert translate("shop_settings.unchanged", "en") in [i.value for i in at.info]


def test_a_bad_amount_is_named_and_nothing_is_saved(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    at.number_input(key="set_sla_hours").set_value(36)
    at.text_input(key="set_approval_amount").input("1,5OO")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert translate("error.validation_what", "en", what=translate("what.settings", "en")) in [e.value for e in at.error]
    assert translate("field.adjustment_approval.amount", "en") in at.markdown[-1].value
    assert shop_settings(ADMIN)["fulfilment_sla.hours"] == 24  # all or nothing
    at.text_input(key="set_approval_amount").input("1500.5")
    at.button[0].click().run()
    assert shop_settings(ADMIN)["adjustment_approval.amount"] == Decimal("1500.50")


def test_switching_name_encryption_off_starts_its_job_and_shows_it(logged_in: Callable[..., AppTest]) -> None:
    make_product("PG-1", "10.00", {"SH": 5})
    orders.create_order(order_input(("PG-1", 1), customer_name="王五"), CLERK)
    at = logged_in("admin", page=PAGE)
    assert at.toggle(key="set_names_encrypt").value is True
    assert translate("names.state", "en", sealed=1, plain=0) in [c.value for c in at.caption]
    at.toggle(key="set_names_encrypt").set_value(False).run()
    assert not at.exception, at.exception
    state = customer_names.names_state(ADMIN)
    assert state.encrypt is False and state.job is not None and state.job.status == "queued"
    assert translate("names.switched_off", "en", job=state.job.id) in [s.value for s in at.success]
    assert at.toggle(key="set_names_encrypt").disabled  # one conversion at a time


def test_the_page_is_for_the_admin_only(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)  # not registered in the manager's navigation


def test_orders_page_sends_packing_to_the_pack_bench(logged_in: Callable[..., AppTest]) -> None:
    make_product("PG-1", "10.00", {"SH": 5})
    placed = orders.create_order(order_input(("PG-1", 1)), CLERK)
    orders.transition(placed.id, "picking", WAREHOUSE)
    at = logged_in("warehouse", page="pages/orders.py")
    at.text_input(key="ol_query").input(placed.number).run()
    assert "ol_to_packed" not in [b.key for b in at.button]
    assert [link.proto.label for link in at.get("page_link")] == [translate("orders.pack_at_bench", "en")]
    assert at.get("page_link")[0].proto.page.endswith("fulfillment")


def test_admin_sets_the_backup_schedule(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    assert (at.number_input(key="set_backup_hour").value, at.number_input(key="set_backup_keep").value) == (2, 7)
    at.number_input(key="set_backup_hour").set_value(23)
    at.number_input(key="set_backup_minute").set_value(5)
    at.number_input(key="set_backup_keep").set_value(14)
    at.button[0].click().run()
    assert not at.exception, at.exception
    values = shop_settings(ADMIN)
    assert (values["backup_schedule.hour"], values["backup_schedule.minute"], values["backup_schedule.keep"],
            values["backup_schedule.every_days"], values["backup_schedule.enabled"]) == (23, 5, 14, 1, True)
