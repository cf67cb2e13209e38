"""Issue 21, parts 3 and 4: the cost of goods is the cost recorded when a line shipped (a later
cost change leaves it; goods returned to stock take it back at the same cost), and the
accountant's export — balanced vouchers in every layout whose totals tie to the finance views,
exported days marked, re-export refused without the flag, a day changed after its export
flagged (page and daily alert), only finance roles. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from core import db
from core.errors import PermissionDenied, Refused, ValidationError
from core.models import Alert, AuditLog, JournalExport, OrderLine, Product
from core.services import accounting_export as export
from core.services import aftersales as rma
from core.services import finance_views, imports
from core.services.aftersales import Inspection, RMALine, RMARequest
from core.services.imports import ImportOptions, SourceFile
from core.services.orders import create_order, transition
from core.timeutil import local_today, pin
from tests.conftest import TEST_NOW
from tests.factories import (
    ADMIN,
    BUYER,
    CLERK,
    MANAGER,
    SERVICE,
    WAREHOUSE,
    make_product,
    order_input,
    pack_by_scan,
)
from tests.jobs_support import running_worker, wait_for

D = Decimal
START = TEST_NOW - dt.timedelta(days=20)
SERVICE2 = SERVICE.__class__("cs2", "service")
FIRST, LAST = (START - dt.timedelta(days=1)).date(), local_today()


def _ship(*lines: tuple[str, int], ref: str) -> int:
    order = create_order(order_input(*lines, channel="WECHAT", payment_ref=ref), CLERK)
    pack_by_scan(order.id, ADMIN)
    transition(order.id, "shipped", ADMIN, carrier="顺丰", tracking_no=f"SF{ref}")
    return order.id


def _returned(order_id: int, qty: int) -> None:
    """A return of ``qty`` units of line 1: received, all restocked, refunded."""
    transition(order_id, "delivered", ADMIN)
    opened = rma.open_rma(RMARequest(order_id, "return", "size", (RMALine(1, qty),)), SERVICE)
    rma.transition_rma(opened.id, "approved", SERVICE2)
    rma.transition_rma(opened.id, "received", WAREHOUSE)
    rma.inspect_rma(opened.id, [Inspection(1, qty, "SH")], WAREHOUSE)
    rma.refund_rma(opened.id, SERVICE2)


def _statement(rows: list[tuple[dt.datetime, str, str, str]]) -> None:
    """A WeChat Pay statement in the generic layout: (settled_at, provider_ref, amount, fee)."""
    text = "settled_at,channel,kind,provider_ref,order_ref,amount,fee,commission,net,note\n" + "".join(
        f"{at:%Y-%m-%d %H:%M:%S},WECHAT,payment,{ref},,{amount},{fee},0.00,{D(amount) - D(fee)},\n"
        for at, ref, amount, fee in rows)
    opts = ImportOptions("settlements", imports.load_profile("generic-settlements"))
    report = imports.run_import([SourceFile("bill.csv", text.encode())], opts, MANAGER)
    assert report.status == "imported", report.issues


@pytest.fixture
def month(db_url: str) -> None:
    """Eight WeChat orders shipped every other day of the month (TEA cost 12.50, CUP 20.00),
    paid out with a 0.6 % fee the next day, one return restocked and refunded, then TEA's cost
    raised to 30.00."""
    make_product("TEA", "25.00", {"SH": 500})
    make_product("CUP", "40.00", {"SH": 500})
    payouts = []
    for i in range(8):
        at = START + dt.timedelta(days=2 * i)
        with pin(at):
            oid = _ship(("TEA", 1 + i % 3), ("CUP", 1), ref=f"4200{i:04d}")
        amount = D("25.00") * (1 + i % 3) + D("40.00")
        payouts.append((at + dt.timedelta(days=1), f"4200{i:04d}", f"{amount}", f"{(amount * D('0.006')):.2f}"))
        if i == 2:
            with pin(at + dt.timedelta(days=3)):
                _returned(oid, 2)
    _statement(payouts)
    with db.transaction() as s:
        s.execute(update(Product).where(Product.sku == "TEA").values(unit_cost=D("30.00")))


def _totals() -> pd.Series:
    days = (TEST_NOW - START).days + 2
    return finance_views.daily_finance(MANAGER, days).drop(columns=["day", "channel"]).sum()


def test_cogs_is_the_cost_at_shipping_and_returns_take_it_back_at_that_cost(month: None) -> None:
    totals = _totals()
    tea_units = sum(1 + i % 3 for i in range(8)) - 2  # two TEA came back and went to stock
    assert totals["cogs"] == tea_units * D("12.50") + 8 * D("20.00")  # not the new 30.00
    assert totals["uncosted_sales"] == 0
    assert totals["gross_margin"] == totals["net_sales"] - totals["refunds"] - totals["cogs"]
    with db.transaction() as s:
        costs = set(s.execute(select(OrderLine.unit_cost).join(Product).where(Product.sku == "TEA")).scalars())
    assert costs == {D("12.50")}


def _read(data: bytes, layout: str) -> pd.DataFrame:
    if layout == "generic_csv":
        return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    return pd.read_excel(io.BytesIO(data), dtype=str)


HEADS = {  # (day, voucher, account code, debit, credit) columns of each layout
    "generic_csv": ("day", "voucher", "account_code", "debit", "credit"),
    "generic_xlsx": ("day", "voucher", "account_code", "debit", "credit"),
    "kingdee": ("凭证日期", "凭证号", "科目代码", "借方金额", "贷方金额"),
    "yonyou": ("制单日期", "凭证编号", "科目编码", "借方金额", "贷方金额"),
}


@pytest.mark.parametrize("layout", list(HEADS))
def test_a_month_exports_balanced_vouchers_that_tie_to_the_finance_views(month: None, layout: str) -> None:
    result = export.export_journal(FIRST, LAST, layout, MANAGER)
    rows = _read(result.data, layout)
    day, voucher, code, debit, credit = HEADS[layout]
    rows[debit] = rows[debit].map(D)
    rows[credit] = rows[credit].map(D)
    per_voucher = rows.groupby([day, voucher])[[debit, credit]].sum()
    assert (per_voucher[debit] == per_voucher[credit]).all()  # every voucher, to the cent
    assert len(per_voucher) == result.vouchers
    assert rows[debit].sum() == rows[credit].sum() == D(result.debit).scaleb(-2)
    if layout in ("kingdee", "yonyou"):
        assert set(rows["凭证类别" if layout == "yonyou" else "凭证字"]) == {"记"}
    net = rows.groupby(code)[debit].sum() - rows.groupby(code)[credit].sum()  # debit minus credit per account
    totals = _totals()
    assert -net["6001"] == totals["net_sales"] - totals["refunds"]
    assert net["6401"] == -net["1405"] == totals["cogs"]
    assert net["1002"] == totals["net_received"]
    assert net["6601"] == totals["fees"]
    assert net["1122"] == totals["net_sales"] - totals["refunds"] - totals["net_received"] - totals["fees"]


def test_re_export_needs_the_flag_and_every_export_is_marked_and_audited(month: None) -> None:
    first = export.export_journal(FIRST, LAST, "kingdee", MANAGER)
    assert first.again == ()
    with pytest.raises(Refused) as refused:
        export.export_journal(LAST - dt.timedelta(days=3), LAST, "generic_csv", MANAGER)
    assert refused.value.key == "fin_export.already_exported" and refused.value.params["count"] == 4
    again = export.export_journal(LAST - dt.timedelta(days=3), LAST, "generic_csv", ADMIN, again=True)
    assert len(again.again) == 4
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(JournalExport)).scalar_one() == first.days + 4
        actions = s.execute(select(AuditLog.action, AuditLog.actor).where(AuditLog.action.like("finance.export%"))
                            .order_by(AuditLog.id)).all()
    assert [tuple(a) for a in actions] == [("finance.export_journal", "boss"), ("finance.export_journal", "admin")]
    days = export.exported_days(MANAGER)
    assert len(days) == first.days and not days["changed"].any()
    assert set(days.loc[days["day"] >= LAST - dt.timedelta(days=3), "layout"]) == {"generic_csv"}


def test_a_day_changed_after_its_export_is_flagged_and_alerted_once(month: None) -> None:
    export.export_journal(FIRST, LAST, "yonyou", MANAGER)
    assert export.alert_changed_exports(ADMIN) == 0
    late = START + dt.timedelta(days=14, minutes=5)  # a shipment on a day that had one: only amounts change
    with pin(late):
        _ship(("CUP", 1), ref="42009999")
    changed = export.exported_days(MANAGER, changed_only=True)
    assert list(changed["day"]) == [late.date()]
    assert export.alert_changed_exports(ADMIN) == 1
    assert export.alert_changed_exports(ADMIN) == 0  # alerted once
    with db.transaction() as s:
        assert s.execute(select(Alert.entity).where(Alert.kind == "journal_changed")).scalars().all() == [
            "journal_export"]
    export.export_journal(late.date(), late.date(), "yonyou", MANAGER, again=True)
    assert export.exported_days(MANAGER, changed_only=True).empty


def test_cash_and_bank_transfers_settle_the_receivable_on_the_day_they_moved(month: None) -> None:
    """No statement will ever report money taken at the till or by transfer: the journal books it
    (and a refund paid back the same way) on its own day, Dr cash or bank / Cr receivable."""
    with pin(START + dt.timedelta(days=5)):
        create_order(order_input(("CUP", 1), payment_method="cash"), CLERK)
        create_order(order_input(("TEA", 2), payment_method="bank_transfer"), CLERK)
    rows = _read(export.export_journal(FIRST, LAST, "generic_csv", MANAGER).data, "generic_csv")
    rows[["debit", "credit"]] = rows[["debit", "credit"]].map(D)
    receipts = rows[rows["voucher_kind"] == "receipts"]
    by_account = receipts.groupby("account_code")[["debit", "credit"]].sum()
    assert by_account.loc["1001"].tolist() == [D("40.00"), 0] and by_account.loc["1002"].tolist() == [D("50.00"), 0]
    assert by_account.loc["1122"].tolist() == [0, D("90.00")]
    assert set(receipts["day"]) == {str((START + dt.timedelta(days=5)).date())}
    per_voucher = rows.groupby(["day", "voucher"])[["debit", "credit"]].sum()
    assert (per_voucher["debit"] == per_voucher["credit"]).all()


def test_the_account_mapping_is_the_shops_own_and_checked(month: None) -> None:
    export.set_account_mapping({"bank": ("100201", "银行存款-招商银行"), "fees": ("660105", "销售费用-平台手续费")},
                               MANAGER)
    mapping = export.account_mapping(MANAGER).set_index("entry")
    assert tuple(mapping.loc["bank", ["code", "name"]]) == ("100201", "银行存款-招商银行")
    assert tuple(mapping.loc["revenue", ["code", "name"]]) == ("6001", "主营业务收入")  # the default stays
    rows = _read(export.export_journal(FIRST, LAST, "kingdee", MANAGER).data, "kingdee")
    assert {"100201", "660105"} <= set(rows["科目代码"]) and "1002" not in set(rows["科目代码"])
    with pytest.raises(ValidationError) as bad:
        export.set_account_mapping({"bank": ("银行", "x"), "petty": ("1001", "备用金"), "cogs": ("6401", "")},
                                   MANAGER)
    assert {(i.field, i.message) for i in bad.value.issues} == {
        ("code", "fin_export.code_digits"), ("entry", "fin_export.unknown_entry"), ("name", "issue.required")}
    assert export.account_mapping(MANAGER).set_index("entry").loc["bank", "code"] == "100201"  # nothing written
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(AuditLog)
                         .where(AuditLog.action == "finance.set_accounts")).scalar_one() == 1


def test_bad_ranges_and_layouts_are_refused_and_write_nothing(month: None) -> None:
    for start, end, layout, field in ((LAST, FIRST, "kingdee", "end"), (FIRST, LAST + dt.timedelta(days=1), "kingdee",
                                      "end"), (LAST - dt.timedelta(days=400), LAST, "kingdee", "start"),
                                      (FIRST, LAST, "sap", "layout")):
        with pytest.raises(ValidationError) as bad:
            export.export_journal(start, end, layout, MANAGER)
        assert [i.field for i in bad.value.issues] == [field]
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(JournalExport)).scalar_one() == 0


@pytest.mark.parametrize("actor", [CLERK, SERVICE, WAREHOUSE, BUYER])
def test_only_finance_roles_export_and_map_accounts(db_url: str, actor: object) -> None:
    for call in (lambda: export.export_journal(FIRST, LAST, "kingdee", actor),  # type: ignore[arg-type]
                 lambda: export.set_account_mapping({"bank": ("1002", "银行存款")}, actor),  # type: ignore[arg-type]
                 lambda: export.exported_days(actor),  # type: ignore[arg-type]
                 lambda: export.journal_preview(actor, FIRST, LAST)):  # type: ignore[arg-type]
        with pytest.raises(PermissionDenied):
            call()


def test_a_long_range_is_exported_by_a_background_job_that_keeps_the_file(month: None) -> None:
    start = LAST - dt.timedelta(days=export.JOB_DAYS + 10)
    job_id = export.start_export(start, LAST, "kingdee", MANAGER)
    with running_worker():
        done = wait_for(job_id)
    assert done.status == "succeeded", done.error()
    assert done.result is not None and done.result["days"] == (LAST - start).days + 1
    built = export.job_file(job_id, MANAGER)
    assert built is not None and built[0].endswith("_kingdee.xlsx")
    rows = _read(built[1], "kingdee")
    assert rows["借方金额"].map(D).sum() == D(done.result["debit"]).scaleb(-2)
    assert len(export.exported_days(MANAGER)) == (LAST - start).days + 1
    with pytest.raises(Refused):  # refused at once, not in the worker
        export.start_export(start, LAST, "kingdee", MANAGER)
    with pytest.raises(PermissionDenied):
        export.job_file(job_id, CLERK)
