"""The guard tests can fail: each mutant below is a known way to break the core (the bugs the
guards exist for), applied with monkeypatch; the guard's own scenario must then report it.

If a mutant survives, its guard test would pass on broken code — the race test once did, when
every racer was a new customer and all of them queued on the customer-number row first.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from core import stock
from core.errors import StaleVersion
from core.models import Order, StockLevel
from core.services import aftersales
from core.services.orders import lifecycle
from core.timeutil import utcnow
from tests.conftest import BACKEND
from tests.services.test_concurrency import race_for_scarce_stock, race_to_edit
from tests.services.test_permission_matrix import CHECKS_FILE, matrix_findings

STALE_READ_SECONDS = 0.002  # the seam: time between reading "available" and writing


def _read_then_write_reserve(session: Session, product_id: int, warehouse_id: int, qty: int) -> bool:
    """The oversell bug: decide on a value read earlier, then write unconditionally."""
    available = stock.available(session, product_id, warehouse_id)
    time.sleep(STALE_READ_SECONDS)
    if available < qty:
        return False
    session.execute(update(StockLevel).where(StockLevel.product_id == product_id,
                                             StockLevel.warehouse_id == warehouse_id)
                    .values(reserved=StockLevel.reserved + qty))
    return True


def _bump_without_version_check(session: Session, order: Any, expected_version: int | None,
                                values: dict[str, Any]) -> int:
    """The lost-update bug: write whatever version the row has now."""
    result = session.execute(update(Order).where(Order.id == order.id)
                             .values(**values, version=Order.version + 1, updated_at=utcnow()))
    if result.rowcount != 1:
        raise StaleVersion("gone", number=order.number)
    return (expected_version or order.version) + 1


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLite runs one writer at a time (BEGIN IMMEDIATE), so a "
                    "read-then-write cannot interleave there; PostgreSQL runs this mutant (make test-postgres)")
def test_a_read_then_write_reservation_fails_the_race(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stock, "reserve", _read_then_write_reserve)
    problems = race_for_scarce_stock()
    assert problems != []


def test_a_skipped_version_check_fails_the_edit_race(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "bump_version", _bump_without_version_check)
    assert race_to_edit() != []


def test_a_refund_checking_a_weaker_permission_fails_the_matrix(db_url: str, tmp_path: Path, checked: list[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Refunds checking "rma.receive" (which the warehouse holds) instead of "rma.refund"."""
    recording = aftersales.require
    monkeypatch.setattr(aftersales, "require", lambda actor, action: recording(
        actor, "rma.receive" if action == "rma.refund" else action))
    monkeypatch.setenv("OMS_BACKUP_DIR", str(tmp_path / "backups"))
    _, _, actions = matrix_findings(tmp_path, checked)
    recorded = json.loads(CHECKS_FILE.read_text(encoding="utf-8"))
    assert actions["core.services.aftersales.refund_rma"] != recorded["core.services.aftersales.refund_rma"]
