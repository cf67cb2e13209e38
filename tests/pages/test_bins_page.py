"""Bins page: a fresh warehouse explains what bins do; adding bins and a home bin through the
forms shows them in walking order; a bad code is refused with the field named and nothing saved."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services import bins
from tests.factories import MANAGER, make_product

PAGE = "pages/bins.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _add(at: AppTest, code: str, walk: int) -> AppTest:
    at.text_input[0].set_value(code)
    at.number_input[0].set_value(walk)
    return at.button[0].click().run()


def test_add_bins_and_a_home_bin(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    at = logged_in("warehouse", page=PAGE).selectbox(key="bin_wh").set_value("SH").run()
    assert not at.exception
    assert en("bin.none_yet", warehouse="SH") in [i.value for i in at.info]
    at = _add(at, "b-02", 2)
    at = _add(at, "A-01", 5)
    assert not at.exception and not at.error
    assert list(bins.list_bins("SH", MANAGER)["bin"]) == ["B-02", "A-01"]
    sku_box, bin_box = at.text_input[1], at.text_input[2]
    sku_box.set_value("TEA-1")
    bin_box.set_value("a-01")
    at = at.button[1].click().run()
    assert not at.exception and not at.error
    assert en("bin.home_saved", sku="TEA-1", bin="A-01", warehouse="SH") in [s.value for s in at.success]
    assert list(bins.home_bins("SH", MANAGER)["bin"]) == ["A-01"]


def test_a_bad_code_is_refused_and_nothing_saved(logged_in: Callable[..., AppTest]) -> None:
    at = _add(logged_in("manager", page=PAGE).selectbox(key="bin_wh").set_value("SH").run(), "A 01!", 1)
    assert at.error and en("bin_issue.bad_code", n=bins.CODE_MAX) in at.markdown[-1].value
    assert bins.list_bins("SH", MANAGER).empty
