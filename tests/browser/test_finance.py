"""Settlement reconciliation in a real browser (issue 21): the manager imports a month's payout
statement of the demo shop's busiest channel — generated from its payments with one of each
planted difference (``data/payouts.py``) — on the Import page, finds every planted difference on
the Finance page and resolves the short payment with a reason. Screenshots:
test-artifacts/finance_*.png (docs/finance.md shows them)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from core import db
from core.models import Channel, Order, Payment, SettlementDifference
from core.services.payments import write_row
from core.timeutil import utcnow
from data.payouts import PLANTED, as_csv, statement
from tests.browser.conftest import DemoServer, screenshot
from tests.browser.test_new_shop import _choose, _fill, _to_top
from tests.browser.test_smoke import _log_in, _open, _settle

KIND_LABELS = {"missing_payout": "Missing payout", "refund_without_payout": "Refund not deducted",
               "short_payment": "Short payment", "double_payout": "Double payout",
               "fee_difference": "Fee off the usual rate"}
REASON = "Platform penalty, see the November penalty notice"


def _payments(database_url: str) -> pd.DataFrame:
    """Succeeded payments and refunds made two days or more before now, oldest first."""
    with db.transaction(database_url, readonly=True) as s:
        rows = s.execute(
            select(Channel.code, Payment.kind, Payment.provider_ref, Order.number, Payment.amount, Payment.at)
            .join(Order, Order.id == Payment.order_id).join(Channel, Channel.id == Order.channel_id)
            .where(Payment.status == "succeeded", Payment.at <= utcnow() - dt.timedelta(days=2))
            .order_by(Payment.at, Payment.id)).all()
    frame = pd.DataFrame(rows, columns=["channel", "kind", "provider_ref", "order_number", "amount", "at"])
    frame["amount"] = [int(a * 100) for a in frame["amount"]]
    return frame


def _busiest_channel(database_url: str) -> tuple[str, pd.DataFrame]:
    """The channel with the most payments, and its payments as the statement generator takes
    them. The demo shop refunds at the after-sales desk without payment rows in every channel:
    one order of the month is refunded half (a refund row, as after-sales writes it)."""
    frame = _payments(database_url)
    code = str(frame.loc[frame["kind"] == "payment", "channel"].value_counts().idxmax())
    if not ((frame["channel"] == code) & (frame["kind"] == "refund")).any():
        paid = frame[(frame["channel"] == code) & (frame["kind"] == "payment")].iloc[len(frame) // 4]
        with db.transaction(database_url) as s:
            order_id = s.execute(select(Order.id).where(Order.number == paid["order_number"])).scalar_one()
            write_row(s, order_id=order_id, kind="refund", amount=Decimal(int(paid["amount"]) // 2) / 100,
                      method=None, at=paid["at"] + dt.timedelta(days=1), created_by="test")
        frame = _payments(database_url)
    return code, frame[frame["channel"] == code].drop(columns="channel").reset_index(drop=True)


def _differences_offered(page: object) -> list[str]:
    """The open differences the resolve form offers (id · kind · order), read from its list."""
    box = page.get_by_role("combobox", name="Difference", exact=True)  # type: ignore[attr-defined]
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box.click()
    try:  # the list renders after the click; a click that lands during a rerun only focuses the box
        page.get_by_role("option").first.wait_for(timeout=5_000)  # type: ignore[attr-defined]
    except PlaywrightTimeout:
        box.press("ArrowDown")  # the keyboard opens a focused select box's list
        page.get_by_role("option").first.wait_for()  # type: ignore[attr-defined]
    options = page.get_by_role("option").all_inner_texts()  # type: ignore[attr-defined]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    _settle(page)
    return [str(o) for o in options]


def test_a_statement_is_imported_its_differences_seen_and_one_resolved(page: object, demo_server: DemoServer,
                                                                      tmp_path: Path) -> None:
    server = demo_server
    channel, payments = _busiest_channel(server.database_url)
    lines, planted = statement(payments, channel)
    bill = tmp_path / f"{channel.lower()}-statement.csv"
    bill.write_bytes(as_csv(lines))

    _log_in(page, server, "manager")
    _open(page, "Import")
    _settle(page)
    page.get_by_text("Settlement statements", exact=True).click()  # type: ignore[attr-defined]
    _settle(page)
    page.locator('[data-testid="stFileUploader"] input[type=file]').first.set_input_files(bill)  # type: ignore[attr-defined]
    page.get_by_text(bill.name).first.wait_for()  # type: ignore[attr-defined]
    _settle(page)
    page.get_by_role("button", name="Import", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text("Import finished").wait_for(timeout=90_000)  # type: ignore[attr-defined]
    _settle(page)
    screenshot(page, "finance_01_statement_imported")

    _open(page, "Finance")
    page.get_by_role("heading", name="Differences").wait_for(timeout=90_000)  # type: ignore[attr-defined]
    _settle(page)
    offered = _differences_offered(page)
    for kind in PLANTED:  # every planted difference is offered, named by its kind and order — and nothing else
        assert any(KIND_LABELS[kind] in o and planted[kind] in o for o in offered), (kind, planted[kind], offered)
    assert len(offered) == len(PLANTED), offered
    _to_top(page.get_by_role("heading", name="Settlement statements"))  # type: ignore[attr-defined]
    screenshot(page, "finance_02_differences")

    short = next(o for o in offered if KIND_LABELS["short_payment"] in o and planted["short_payment"] in o)
    _choose(page, "Difference", short)
    _fill(page, "Reason (required; written to the audit log)", REASON)
    page.get_by_role("button", name="Mark as resolved").click()  # type: ignore[attr-defined]
    difference_id = int(short.split(" · ")[0])
    page.get_by_text(f"Difference {difference_id} resolved.").wait_for()  # type: ignore[attr-defined]
    _settle(page)
    assert not any(o.startswith(f"{difference_id} ·") for o in _differences_offered(page))
    _to_top(page.get_by_role("heading", name="Differences"))  # type: ignore[attr-defined]
    screenshot(page, "finance_03_resolved")
    with db.transaction(server.database_url, readonly=True) as s:
        row = s.execute(select(SettlementDifference).where(SettlementDifference.id == difference_id)).scalar_one()
    assert (row.kind, row.resolved_by, row.reason) == ("short_payment", "manager", REASON)
