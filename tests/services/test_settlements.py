"""Issue 21, part 2: payout statements are imported with profiles (refused with row, field and
reason; nothing written on reject), matched to payments and refunds, and every planted
difference of a month of payouts is found; finance resolves one with a reason (audited), and
the daily run alerts on old unmatched money. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from core import db
from core.errors import Conflict, PermissionDenied, ValidationError
from core.models import Alert, AuditLog, Channel, Order, Payment, SettlementDifference, SettlementLine
from core.services import aftersales as rma
from core.services import imports, orders, settlements
from core.services.aftersales import RMALine, RMARequest
from core.services.imports import ImportOptions, SourceFile
from data.payouts import PLANTED, as_csv, statement
from tests.aftersales_data import delivered_order
from tests.conftest import TEST_NOW
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, make_product, order_input

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def _import(data: bytes, profile: str = "generic-settlements", actor: object = MANAGER, name: str = "bill.csv",
            **options: object) -> imports.ImportReport:
    opts = ImportOptions("settlements", imports.load_profile(profile), **options)  # type: ignore[arg-type]
    return imports.run_import([SourceFile(name, data)], opts, actor)  # type: ignore[arg-type]


def _month_of_orders() -> pd.DataFrame:
    """40 paid WeChat orders placed over November and two refunded ones: the payments table of
    the channel as the statement generator takes it."""
    make_product("TEA", "25.00", {"SH": 500})
    start = TEST_NOW - dt.timedelta(days=30)
    for i in range(40):
        orders.create_order(order_input(("TEA", 1 + i % 7), channel="WECHAT", payment_ref=f"42000{i:05d}",
                                        placed_at=start + dt.timedelta(hours=17 * i)), CLERK)
    for _ in range(2):
        sold = delivered_order(("TEA", 2), channel="WECHAT", payment_ref=None)
        opened = rma.open_rma(RMARequest(sold.id, "refund_only", "quality", (RMALine(1, 1),)), SERVICE)
        rma.transition_rma(opened.id, "approved", MANAGER)
        rma.refund_rma(opened.id, SERVICE)
    with db.transaction() as s:  # refunded mid-month (the clock is pinned at the month's end)
        s.execute(update(Payment).where(Payment.kind == "refund").values(at=start + dt.timedelta(days=15)))
        rows = s.execute(select(Payment.kind, Payment.provider_ref, Order.number, Payment.amount, Payment.at)
                         .join(Order, Order.id == Payment.order_id).order_by(Payment.at, Payment.id)).all()
    frame = pd.DataFrame(rows, columns=["kind", "provider_ref", "order_number", "amount", "at"])
    frame["amount"] = [int(a * 100) for a in frame["amount"]]
    return frame


def _found() -> dict[str, set[str]]:
    diffs = settlements.list_differences(MANAGER)
    found: dict[str, set[str]] = {}
    for kind, order, reference in zip(diffs["kind"], diffs["order"], diffs["reference"], strict=True):
        found.setdefault(kind, set()).add(order or reference)
    return found


def test_a_month_of_payouts_finds_every_planted_difference(db_url: str) -> None:
    lines, planted = statement(_month_of_orders(), "WECHAT")
    report = _import(as_csv(lines))
    assert report.status == "imported", report.issues
    assert report.accepted == len(lines)
    found = _found()
    assert {kind: {planted[kind]} for kind in PLANTED} == {kind: found.get(kind, set()) for kind in PLANTED}
    assert set(found) == set(PLANTED)  # nothing else: every other line matched
    summary = settlements.settlement_summary(MANAGER).set_index("channel").loc["WECHAT"]
    assert (summary["lines"], summary["open_differences"]) == (len(lines), len(PLANTED))
    with db.transaction() as s:
        matched = s.execute(select(SettlementLine.matched_by, func.count()).group_by(SettlementLine.matched_by)).all()
    assert dict(matched)["amount_date"] > 0  # the lines that named nothing were matched too

    again = _import(as_csv(lines), name="bill-again.csv")  # the same statement twice: no double payouts
    assert (again.accepted, again.skipped) == (0, len(lines))
    assert _found() == found


def test_finance_resolves_a_difference_with_a_reason_once(db_url: str) -> None:
    lines, planted = statement(_month_of_orders(), "WECHAT")
    _import(as_csv(lines))
    diffs = settlements.list_differences(MANAGER)
    short = int(diffs.loc[diffs["kind"] == "short_payment", "id"].iloc[0])
    with pytest.raises(PermissionDenied):
        settlements.resolve_difference(short, "platform penalty", SERVICE)
    with pytest.raises(ValidationError) as err:
        settlements.resolve_difference(short, "  ", MANAGER)
    assert [i.message for i in err.value.issues] == ["issue.required"]
    settlements.resolve_difference(short, "平台扣罚 1%，见 11 月罚单", MANAGER)
    with pytest.raises(Conflict):
        settlements.resolve_difference(short, "again", ADMIN)
    assert "short_payment" not in _found()
    settlements.reconcile_settlements(MANAGER)  # a new run keeps it resolved
    assert "short_payment" not in _found()
    done = settlements.list_differences(MANAGER, open_only=False, kinds=["short_payment"])
    assert done[["resolved_by", "reason"]].values.tolist() == [["boss", "平台扣罚 1%，见 11 月罚单"]]
    with db.transaction() as s:
        assert s.execute(select(AuditLog.actor).where(AuditLog.action == "finance.resolve_difference")
                         ).scalars().all() == ["boss"]


def test_the_daily_run_alerts_once_on_old_unmatched_money(db_url: str) -> None:
    lines, planted = statement(_month_of_orders(), "WECHAT")
    _import(as_csv(lines))
    assert settlements.raise_overdue_alerts(MANAGER, days=3650) == 0  # nothing that old
    first = settlements.daily_reconciliation()
    assert first["alerts"] > 0
    assert settlements.daily_reconciliation()["alerts"] == 0  # raised once
    with db.transaction() as s:
        alerted = s.execute(select(func.count()).select_from(Alert).where(Alert.kind == "unmatched_money")).scalar_one()
        old = s.execute(select(func.count()).select_from(SettlementDifference).where(
            SettlementDifference.day <= TEST_NOW - dt.timedelta(days=settlements.DEFAULT_ALERT_DAYS))).scalar_one()
    assert alerted == old == first["alerts"]


def test_a_bad_statement_is_refused_by_row_field_and_reason_and_writes_nothing(db_url: str) -> None:
    body = ("settled_at,channel,kind,provider_ref,order_ref,amount,fee,commission,net,note\n"
            "2026-11-02 10:15:00,WECHAT,payment,T-1,SO-1,199.00,1.19,0,197.81,\n"
            "2026-13-02 10:15:00,WECHAT,payment,T-2,SO-2,19.00,0,0,19.00,\n"
            "2026-11-02 10:15:00,NOWHERE,payment,T-3,SO-3,19.00,0,0,19.00,\n"
            "2026-11-02 10:15:00,WECHAT,gift,T-4,SO-4,abc,0,0,0,\n"
            "2026-11-02 10:15:00,WECHAT,payment,T-5,SO-5,0,0,0,0,\n"
            "2027-11-02 10:15:00,WECHAT,payment,T-6,SO-6,5.00,0,0,5,\n")
    report = _import(body.encode())
    assert report.status == "rejected"
    got = sorted((int(r), f, c) for r, f, c in zip(report.issues["row"], report.issues["field"],
                                                    report.issues["code"], strict=True))
    assert got == [(3, "settled_at", "bad_date"), (4, "channel", "unknown_value"), (5, "amount", "not_a_number"),
                   (5, "kind", "unknown_value"), (6, "amount", "zero_amount"), (7, "settled_at", "future_date")]
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(SettlementLine)).scalar_one() == 0


def test_statements_need_finance_rights(db_url: str) -> None:
    data = (SAMPLES / "generic-settlements.csv").read_bytes()
    for actor in (SERVICE, CLERK):
        with pytest.raises(PermissionDenied):
            _import(data, actor=actor)


@pytest.mark.parametrize(("profile", "sample", "channel", "kinds"), [
    ("generic-settlements", "generic-settlements.csv", None, ["payment", "payment", "refund", "payment"]),
    ("alipay-bill", "alipay-bill.csv", "TMALL", ["payment", "payment", "refund"]),
    ("wechatpay-bill", "wechatpay-bill.csv", "WECHAT", ["payment", "refund"]),
    ("tmall-settlement", "tmall-settlement.csv", None, ["payment", "payment", "refund"]),
    ("douyin-settlement", "douyin-settlement.csv", None, ["payment", "payment", "refund"]),
])
def test_every_shipped_profile_reads_its_sample(db_url: str, profile: str, sample: str, channel: str | None,
                                                kinds: list[str]) -> None:
    report = _import((SAMPLES / sample).read_bytes(), profile, name=sample, channel=channel)
    assert report.status == "imported", report.issues
    with db.transaction() as s:
        rows = s.execute(select(SettlementLine.kind, SettlementLine.amount, SettlementLine.fee,
                                SettlementLine.commission, SettlementLine.net, Channel.code)
                         .join(Channel, Channel.id == SettlementLine.channel_id).order_by(SettlementLine.id)).all()
    assert [r.kind for r in rows] == kinds
    for r in rows:  # the statement's own net agrees with gross − fees, to the cent
        sign = -1 if r.kind == "refund" else 1
        assert r.net == sign * r.amount - r.fee - r.commission, r
    assert all(isinstance(r.amount, Decimal) and r.amount > 0 for r in rows)
