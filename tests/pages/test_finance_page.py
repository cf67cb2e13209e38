"""The Finance page: a month of payouts with planted differences shows its figures per day and
channel (downloadable), its receivables and every difference; finance resolves one with a
reason, an empty reason is refused next to the field, and other roles cannot open the page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import SettlementDifference
from data.payouts import PLANTED, as_csv, statement
from tests.services.test_settlements import _import, _month_of_orders

PAGE = "pages/finance.py"


@pytest.fixture
def month(db_url: str) -> dict[str, str]:
    lines, planted = statement(_month_of_orders(), "WECHAT")
    assert _import(as_csv(lines)).status == "imported"
    return planted


def _table(at: AppTest, column: str) -> object:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_the_page_shows_figures_receivables_and_every_planted_difference(
        month: dict[str, str], logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", page=PAGE)
    assert [m.label for m in at.metric][:5] == [translate(k, "en") for k in (
        "fin.net_sales", "fin.refunds", "fin.fees", "fin.net_received", "fin.margin")]
    assert at.metric[2].value != "¥0.00"  # the statement's fees are in
    assert len(at.get("plotly_chart")) == 1
    daily = _table(at, translate("fin_col.gross_margin", "en"))
    assert set(daily[translate("fin_col.channel", "en")]) == {"WECHAT"}
    diffs = _table(at, translate("fin_col.difference", "en"))
    shown = set(diffs[translate("fin_col.kind", "en")])
    assert shown == {translate(f"fin_kind.{k}", "en") for k in PLANTED}
    assert len(at.get("download_button")) >= 6  # CSV and XLSX of each table


def test_finance_resolves_a_difference_with_a_reason(month: dict[str, str], logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", username="boss", page=PAGE)
    first = at.selectbox(key="fin_resolve_id").value
    at.button[-1].click().run()  # no reason
    assert not at.exception
    assert translate("issue.required", "en") in " ".join(e.value for e in at.error) + " ".join(
        c.value for c in at.caption)
    at.selectbox(key="fin_resolve_id").set_value(first)
    at.text_input(key="fin_resolve_reason").input("平台扣罚，11 月罚单")
    at.button[-1].click().run()
    assert not at.exception
    assert [s.value for s in at.success][0] == translate("fin.resolved", "en", id=first)
    with db.transaction() as s:
        row = s.execute(select(SettlementDifference).where(SettlementDifference.id == first)).scalar_one()
    assert (row.resolved_by, row.reason) == ("boss", "平台扣罚，11 月罚单")


@pytest.mark.parametrize("role", ["clerk", "service", "warehouse", "buyer"])
def test_other_roles_cannot_open_the_page(role: str, db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in(role)
    with pytest.raises(ValueError):
        at.switch_page(PAGE).run()


def test_a_statement_is_imported_on_the_import_page(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", page="pages/import_data.py")
    at.session_state["imp_kind"] = "settlements"
    at.run()
    assert not at.exception
    assert at.selectbox(key="imp_profile_settlements").value == "generic-settlements"
