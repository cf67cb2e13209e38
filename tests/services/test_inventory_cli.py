"""``oms reconcile``, ``oms alerts scan`` and ``oms rules tag-customers`` call the services and
report through their exit code."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from core import db
from core.cli import main
from core.models import StockLevel
from core.services import orders
from tests.factories import CLERK, make_product, order_input


def test_reconcile_exit_code_follows_the_books(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    pid = make_product("A", "10.00", {"SH": 5})
    assert main(["reconcile"]) == 0
    assert "0 discrepancies" in capsys.readouterr().out
    with db.transaction() as s:
        s.execute(update(StockLevel).where(StockLevel.product_id == pid).values(on_hand=7))
    assert main(["reconcile", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(d["check"], d["sku"], d["cause"]) for d in report["discrepancies"]] == [
        ("ledger", "A", "edited_outside_ledger")]


def test_alerts_scan_and_tagging(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    make_product("TV", "6000.00", {"SH": 5})
    orders.create_order(order_input(("TV", 1)), CLERK)
    assert main(["alerts", "scan"]) == 0
    assert "resolved: 0" in capsys.readouterr().out
    assert main(["rules", "tag-customers"]) == 0
    assert "1 newly tagged" in capsys.readouterr().out
