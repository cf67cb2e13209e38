"""16 writers racing kits and their single components for scarce components: never oversold,
no deadlock, reservations and ledger agree (SQLite threads; PostgreSQL with
OMS_TEST_BACKEND=postgres, 16 real server connections). The race itself: bench/kit_race.py."""

from __future__ import annotations

from bench.kit_race import STOCK, race


def test_16_writers_racing_kits_and_components_never_oversell_or_deadlock(db_url: str) -> None:
    result = race(writers=16, orders=160)
    assert {k: result[k] for k in ("errors", "deadlocks", "oversold", "mismatched")} == dict.fromkeys(
        ("errors", "deadlocks", "oversold", "mismatched"), 0), result
    assert result["won"] + result["refused"] == 160
    assert 0 < result["won"] < 160 and sum(STOCK.values()) > 0  # the components ran out: a real race
