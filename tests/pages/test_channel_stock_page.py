"""Channel stock page: a manager sets channel policies and a SKU override, sees every channel's
available-to-sell beside what is available, is told what oversell means, and syncs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Notification
from core.services import channel_stock as cs
from tests.factories import MANAGER, make_product

PAGE = "pages/channel_stock.py"


def _table(at: AppTest, index: int) -> dict[str, list[object]]:
    frame = at.dataframe[index].value
    return {str(c): frame[c].tolist() for c in frame.columns}


def test_policies_override_and_the_figures(logged_in: Callable[..., AppTest]) -> None:
    make_product("A1", stock_by_wh={"SH": 100})
    make_product("B2", stock_by_wh={"GZ": 10})
    at = logged_in("manager", page=PAGE)
    assert [i.value for i in at.info] == [translate("cs.no_policies", "en")] * 2  # figures and overrides tabs
    at.selectbox(key="cs_channel").set_value("TMALL").run()
    at.number_input(key="cs_share_TMALL").set_value(60)
    at.number_input(key="cs_buffer_TMALL").set_value(5)
    next(b for b in at.button if b.label == translate("cs.save_policy", "en")).click().run()
    assert not at.exception and [s.value for s in at.success] == [translate("cs.saved", "en")]
    at.selectbox(key="cs_channel").set_value("JD").run()
    at.number_input(key="cs_share_JD").set_value(40)
    at.text_input(key="cs_max_JD").set_value("3")
    next(b for b in at.button if b.label == translate("cs.save_policy", "en")).click().run()
    at.selectbox(key="cs_ov_channel").set_value("TMALL")
    at.text_input(key="cs_ov_sku").set_value("B2")
    at.text_input(key="cs_ov_share").set_value("10")
    next(b for b in at.button if b.label == translate("cs.save_override", "en")).click().run()
    assert not at.exception and not at.error
    figures = _table(at, 0)
    assert figures["SKU"] == ["A1", "B2"] and figures["Available"] == [100, 10]
    assert figures["TMALL"] == [57, 0] and figures["JD"] == [3, 3]
    assert list(cs.list_overrides(MANAGER)["sku"]) == ["B2"]
    assert at.get("plotly_chart")  # the chart of ATS against available


def test_shares_past_100_are_refused_and_oversell_is_explained(logged_in: Callable[..., AppTest]) -> None:
    make_product("A1", stock_by_wh={"SH": 10})
    cs.save_policy(cs.PolicyInput("TMALL", 80), MANAGER)
    at = logged_in("manager", page=PAGE, lang="zh")
    at.selectbox(key="cs_channel").set_value("POS").run()
    at.number_input(key="cs_share_POS").set_value(100)
    submit = next(b for b in at.button if b.label == translate("cs.save_policy", "zh"))
    submit.click().run()
    assert at.error[0].value == translate("error.validation", "zh")
    assert any("180%" in m.value for m in at.markdown)  # the issue names the total
    at.checkbox(key="cs_oversell_POS").check()
    next(b for b in at.button if b.label == translate("cs.save_policy", "zh")).click().run()
    assert not at.error
    warnings = [w.value for w in at.warning]
    assert translate("cs.oversell_warning", "zh", channels="POS") in warnings
    assert translate("cs.overlap_warning", "zh", n=1, units=8) in warnings  # 10 + 8 offered of 10


def test_sync_now_publishes_and_clerks_cannot_open_the_page(logged_in: Callable[..., AppTest]) -> None:
    make_product("A1", stock_by_wh={"SH": 10})
    cs.save_policy(cs.PolicyInput("TMALL", 50), MANAGER)
    at = logged_in("manager", page=PAGE)
    at.button(key="cs_sync").click().run()
    assert [s.value for s in at.success] == [translate("cs.synced", "en", checked=1, published=1)]
    with db.transaction(readonly=True) as s:
        assert s.execute(select(Notification.id)).first() is None  # nobody subscribed: no outbox row
    with pytest.raises(ValueError):
        logged_in("clerk").switch_page(PAGE)
