"""The Finance page: a month of payouts with planted differences shows its figures per day and
channel (downloadable), its receivables and every difference; finance resolves one with a
reason, an empty reason is refused next to the field, and other roles cannot open the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import AccountMapping, JournalExport, SettlementDifference
from data.payouts import PLANTED, as_csv, statement
from tests.conftest import TEST_NOW
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
    at.button(key="fin_resolve_submit").click().run()  # no reason
    assert not at.exception
    assert translate("issue.required", "en") in " ".join(e.value for e in at.error) + " ".join(
        c.value for c in at.caption)
    at.selectbox(key="fin_resolve_id").set_value(first)
    at.text_input(key="fin_resolve_reason").input("平台扣罚，11 月罚单")
    at.button(key="fin_resolve_submit").click().run()
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


def test_the_export_tab_exports_marks_refuses_a_second_time_and_maps_accounts(
        month: dict[str, str], logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", username="boss", page=PAGE)
    assert [tab.label for tab in at.tabs] == [translate("fin.tab_figures", "en"), translate("fin.tab_export", "en")]
    start, end = TEST_NOW.date() - dt.timedelta(days=31), TEST_NOW.date() - dt.timedelta(days=1)
    at.date_input(key="fin_exp_from").set_value(start)
    at.date_input(key="fin_exp_to").set_value(end).run()
    preview = _table(at, translate("fin_col.account_code", "en"))
    debit, credit = (preview[translate(f"fin_col.{c}", "en")].sum() for c in ("debit", "credit"))
    assert debit == credit > 0
    at.button(key="fin_exp_build").click().run()
    assert not at.exception
    assert [s.value for s in at.success][0].startswith("Exported 31 day(s)")
    assert any(b.proto.label == translate("fin.export_download", "en") for b in at.get("download_button"))
    days = _table(at, translate("fin_col.exported_at", "en"))
    assert len(days) == 31
    at.button(key="fin_exp_build").click().run()  # the same days again, without the confirmation
    assert translate("fin_export.already_exported", "en", count=31, days="")[:20] in at.error[0].value
    at.checkbox(key="fin_exp_again").check().run()
    at.button(key="fin_exp_build").click().run()
    assert [s.value for s in at.success][0].startswith("Exported 31 day(s)")
    at.text_input(key="fin_acc_code_bank").input("100201")
    at.text_input(key="fin_acc_name_bank").input("银行存款-招商银行")
    at.button(key="fin_accounts_submit").click().run()
    assert [s.value for s in at.success][0] == translate("fin.accounts_saved", "en")
    at.text_input(key="fin_acc_code_fees").input("手续费")
    at.button(key="fin_accounts_submit").click().run()
    assert translate("fin_export.code_digits", "en") in " ".join(e.value for e in at.error) + " ".join(
        c.value for c in at.caption)
    with db.transaction() as s:
        assert s.execute(select(AccountMapping.code).where(AccountMapping.entry == "bank")).scalar_one() == "100201"
        assert s.execute(select(func.count()).select_from(JournalExport)).scalar_one() == 62
