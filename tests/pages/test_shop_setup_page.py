"""Shop setup page: a new shop's admin lands on it, describes the shop and its first warehouse
and channel in one save; bad input is named and nothing is written; only the admin has it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select
from streamlit.testing.v1 import AppTest

from core import db, refdata
from core.i18n import translate
from core.models import Channel, Rule, Setting, Warehouse

PAGE = "pages/shop_setup.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


@pytest.fixture
def empty_shop(db_url: str) -> str:
    """The test database as ``oms init`` leaves it: no warehouse, channel or rule."""
    with db.transaction() as s:
        for model in (Rule, Warehouse, Channel):
            s.execute(delete(model))
        s.execute(delete(Setting).where(Setting.key == refdata.NAMES_KEY))  # the demo shop's, not init's
        refdata.bump(s)
    return db_url


def _rows(at: AppTest, key: str, rows: list[dict[str, str]]) -> None:
    at.session_state[key] = {"edited_rows": {}, "added_rows": rows, "deleted_rows": []}


def _count(model: type) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_new_shop_lands_on_setup_and_sets_itself_up(empty_shop: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin")
    assert at.title[0].value == en("page.shop_setup")  # the landing page while nothing is set up
    assert en("setup.first_run") in [i.value for i in at.info]
    at.text_input(key="su_name").input("西湖小馆")
    at.selectbox(key="su_tz").set_value("Asia/Shanghai")
    at.selectbox(key="su_currency").set_value("CNY")
    _rows(at, "su_wh_0", [{"code": "hz", "name": "杭州门店"}])
    _rows(at, "su_ch_0", [{"code": "DY", "name": "抖音小店", "kind": "social"}])
    at.button(key="su_save").click().run()
    assert not at.exception, at.exception
    assert en("setup.saved") in [s.value for s in at.success]
    listed = at.markdown[-1].value
    assert en("setup.created_warehouse", code="HZ") in listed and en("setup.created_channel", code="DY") in listed
    with db.transaction() as s:
        assert s.execute(select(Warehouse.code, Warehouse.name)).all() == [("HZ", "杭州门店")]
        assert s.get(Setting, refdata.SHOP_KEY).value["name"] == "西湖小馆"
    assert en("setup.existing", items="HZ 杭州门店") in [c.value for c in at.caption]
    _rows(at, "su_wh_1", [{"code": "HZ", "name": "杭州西湖店"}])  # saving again renames, never duplicates
    at.button(key="su_save").click().run()
    assert en("setup.renamed_warehouse", code="HZ", old="杭州门店", new="杭州西湖店") in at.markdown[-1].value
    assert _count(Warehouse) == 1
    again = logged_in("admin")
    assert again.title[0].value != en("page.shop_setup")  # set up: the usual landing page again


def test_bad_rows_are_named_and_nothing_is_saved(empty_shop: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    at.text_input(key="su_name").input("西湖小馆")
    _rows(at, "su_wh_0", [{"code": "HZ", "name": "杭州门店"}, {"code": "", "name": "无编码仓"}])
    _rows(at, "su_ch_0", [{"code": "DY", "name": "抖音小店"}])  # no kind
    at.button(key="su_save").click().run()
    assert not at.exception, at.exception
    assert en("error.validation") in [e.value for e in at.error]
    issues = at.markdown[0].value
    assert f"{en('field.warehouse_code')}: {en('issue.required')}" in issues
    assert en("field.channel_kind") in issues
    assert (_count(Warehouse), _count(Channel), _count(Setting)) == (0, 0, 4)  # only init's defaults


def test_only_the_admin_has_the_page(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
