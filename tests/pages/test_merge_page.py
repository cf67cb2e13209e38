"""Merged orders on the fulfilment page (candidates, merge all, undo, a refusal naming the
order) and the do-not-merge mark on the order page."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services import merging, orders
from tests.factories import CLERK, MANAGER, make_product, order_input


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def test_merge_all_then_undo_on_the_fulfilment_page(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    a = orders.create_order(order_input(("TEA-1", 1)), CLERK)
    b = orders.create_order(order_input(("TEA-1", 1), address="世纪大道１００号"), CLERK)
    far = orders.create_order(order_input(("TEA-1", 1), address="别处 1 号"), CLERK)
    at = logged_in("warehouse", page="pages/fulfillment.py")
    assert not at.exception
    at.toggle(key="fl_merge_find").set_value(True).run()
    candidates = next(d.value for d in at.dataframe if en("merge_col.proposal") in d.value.columns)
    assert sorted(candidates[en("merge_col.number")]) == [a.number, b.number]

    at.multiselect(key="fl_merge_orders").set_value([a.number, far.number])
    at.button(key="fl_merge_chosen").click().run()
    assert en("merge.other_address", number=far.number, other=a.number) in [e.value for e in at.error]

    at.button(key="fl_merge_all").click().run()
    assert en("merge.merged_n", n=1) in [s.value for s in at.success]
    [group] = merging.merge_groups(MANAGER)["group"]
    assert at.selectbox(key="fl_merge_group").value == group
    at.button(key="fl_merge_undo").click().run()
    assert en("merge.undone", orders=f"{a.number}, {b.number}") in [s.value for s in at.success]
    assert merging.merge_groups(MANAGER).empty


def test_the_order_page_sets_do_not_merge(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    a = orders.create_order(order_input(("TEA-1", 1)), CLERK)
    orders.create_order(order_input(("TEA-1", 1)), CLERK)
    at = logged_in("clerk", page="pages/orders.py")
    at.selectbox(key="ol_pick").set_value(a.id).run()
    at.checkbox(key=f"ol_no_merge_{a.number}").check().run()
    assert not at.exception
    assert orders.order_detail(a.id, MANAGER).header["do_not_merge"] is True
    assert merging.merge_candidates(MANAGER).empty
