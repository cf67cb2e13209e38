"""Stock count page: a count sheet posted in one go (a refused sheet names the sheet row), a single
adjustment, and a manager approving one above the threshold."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import StockLevel, StockMovement
from tests.factories import make_product

PAGE = "pages/stock_count.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _on_hand(product_id: int) -> int:
    with db.transaction() as s:
        return s.execute(select(StockLevel.on_hand).where(StockLevel.product_id == product_id)).scalar_one()


def _editor_key(at: AppTest) -> str:
    return f"sc_editor_{at.session_state['sc_rev']}"


def test_count_sheet_posts_differences(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA-1", "25.00", {"SH": 10})
    cup = make_product("CUP-1", "8.00", {"SH": 4})
    at = logged_in("warehouse", page=PAGE)
    assert en("sc.tab_approvals") not in [tab.label for tab in at.tabs]  # warehouse staff cannot approve
    at.selectbox(key="sc_count_wh").set_value("SH").run()
    at.button(key="sc_load").click().run()
    sheet = at.data_editor[0].value
    assert sheet["sku"].tolist() == ["CUP-1", "TEA-1"] and sheet["expected"].tolist() == [4, 10]
    # row 2 counted without a reason → refused, naming sheet row 2; nothing posted
    at.session_state[_editor_key(at)] = {"edited_rows": {1: {"counted": 7}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert en("sc.sheet_status", counted=1, differ=1) in [c.value for c in at.caption]
    at.button(key="sc_post").click().run()
    assert en("error.validation_what", what=en("what.count")) in [e.value for e in at.error]
    assert any(en("error.line", row=2) in m.value for m in at.markdown)
    assert _on_hand(tea) == 10
    at.session_state[_editor_key(at)] = {
        "edited_rows": {0: {"counted": 4}, 1: {"counted": 7, "reason": en("adj_reason.damage")}},
        "added_rows": [], "deleted_rows": []}
    at.button(key="sc_post").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [en("sc.count_posted", lines=2, matched=1, posted=1, pending=0,
                                                 released=0)]
    assert (_on_hand(tea), _on_hand(cup)) == (7, 4)


def test_large_adjustment_waits_for_manager_approval(logged_in: Callable[..., AppTest]) -> None:
    tv = make_product("TV-1", "6000.00", {"SH": 3})
    clerk_at = logged_in("warehouse", page=PAGE)
    clerk_at.selectbox(key="sc_adj_wh").set_value("SH")
    clerk_at.text_input(key="sc_adj_sku").input("TV-1")
    clerk_at.number_input(key="sc_adj_qty").set_value(-1)
    clerk_at.selectbox(key="sc_adj_reason").set_value("loss")
    clerk_at.button(key="sc_adj_go").click().run()
    assert not clerk_at.exception
    assert "awaiting a manager" in clerk_at.success[0].value
    assert _on_hand(tv) == 3

    boss = logged_in("manager", "boss", page=PAGE)  # a second person: the requester cannot approve
    pending = boss.dataframe[0].value
    assert pending[en("field.sku")].tolist() == ["TV-1"]
    boss.text_input(key="sc_decision_note").input("seen on CCTV")
    boss.button(key="sc_approve").click().run()
    assert not boss.exception
    assert en("adj_status.approved") in boss.success[0].value
    assert _on_hand(tv) == 2
    with db.transaction() as s:
        assert s.execute(select(StockMovement.kind).where(StockMovement.ref_type == "adjustment")).scalar_one() \
            == "adjustment"


def test_bad_adjustment_shows_the_field(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 1})
    at = logged_in("warehouse", page=PAGE)
    at.selectbox(key="sc_adj_wh").set_value("SH")
    at.text_input(key="sc_adj_sku").input("TEA-1")
    at.number_input(key="sc_adj_qty").set_value(-5)
    at.button(key="sc_adj_go").click().run()
    assert en("error.validation_what", what=en("what.adjustment")) in [e.value for e in at.error]
    assert any(en("field.qty_delta") in m.value for m in at.markdown)


def test_a_manager_cannot_approve_their_own_large_adjustment(logged_in: Callable[..., AppTest]) -> None:
    """Issue 13: above adjustment_approval.units even a manager's change waits for someone else."""
    tea = make_product("TEA-1", "0.10", {"SH": 5})
    boss = logged_in("manager", "boss", page=PAGE)
    boss.selectbox(key="sc_adj_wh").set_value("SH")
    boss.text_input(key="sc_adj_sku").input("TEA-1")
    boss.number_input(key="sc_adj_qty").set_value(1500)
    boss.selectbox(key="sc_adj_reason").set_value("found")
    boss.button(key="sc_adj_go").click().run()
    assert _on_hand(tea) == 5
    assert boss.button(key="sc_approve").disabled
    other = logged_in("manager", "boss2", page=PAGE)
    assert not other.button(key="sc_approve").disabled
    other.button(key="sc_approve").click().run()
    assert _on_hand(tea) == 1505


def test_scan_count_of_a_bin_shows_differences_then_posts_them(logged_in: Callable[..., AppTest]) -> None:
    from core.services import bins
    from core.services.bins import BinInput
    from tests.factories import WAREHOUSE

    tea = make_product("TEA-1", "25.00", {"SH": 3})
    cup = make_product("CUP-1", "8.00", {"SH": 1})
    make_product("PEN-1", "2.00", {"SH": 5})
    bins.save_bin(BinInput("SH", "A-01", "pick", 1), WAREHOUSE)
    bins.save_bin(BinInput("SH", "B-01", "pick", 2), WAREHOUSE)
    for sku, code in (("TEA-1", "A-01"), ("CUP-1", "A-01"), ("PEN-1", "B-01")):
        bins.set_home_bin("SH", sku, code, WAREHOUSE)
    at = logged_in("warehouse", page=PAGE)
    at.selectbox(key="sc_scan_wh").set_value("SH").run()
    at.selectbox(key="sc_scan_bin").set_value("A-01").run()
    for code in ("TEA-1", "TEA-1"):
        at.text_input(key="sc_scan_box").input(code).run()
    at.text_input(key="sc_scan_box").input("PEN-1").run()  # lives in B-01
    assert en("scan.not_in_bin", sku="PEN-1", name="商品 PEN-1", home="B-01", bin="A-01") in [e.value for e in at.error]
    review = at.dataframe[-1].value
    assert review[[en("field.expected"), en("field.counted")]].values.tolist() == [[1, 0], [3, 2]]  # CUP-1, TEA-1: both off by one
    assert (_on_hand(tea), _on_hand(cup)) == (3, 1)  # nothing posted yet
    at.button(key="sc_scan_post").click().run()
    assert not at.exception
    assert (_on_hand(tea), _on_hand(cup)) == (2, 0)
    assert at.success[0].value == en("sc.count_posted", lines=2, matched=0, posted=2, pending=0, released=0)
