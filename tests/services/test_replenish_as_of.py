"""Replenishment as of a date: the forecast run that covers it, demand counted from it against
the current stock, and a reason whenever nothing is suggested (no run, a run too old or as of a
later day, nothing below its reorder point) — never a silent "0 suggestions"."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core import db
from core.cli import main
from core.errors import Refused, ValidationError, english
from core.models import ReplenishmentSuggestion
from core.services.replenishment import generate_suggestions
from core.timeutil import local_today
from tests.factories import BUYER, make_product
from tests.planning_data import make_supplier, stored_run

HORIZON = 28


@pytest.fixture
def tea(db_url: str) -> int:
    """TEA, 30 in stock in SH, supplied in 7 days."""
    pid = make_product("TEA", "20.00", {"SH": 30})
    make_supplier("茶具厂", 7, 1, pid)
    return pid


def _suggested() -> list[tuple[int, float]]:
    with db.transaction() as s:
        return [tuple(r) for r in s.execute(select(ReplenishmentSuggestion.suggested_qty,
                                                   ReplenishmentSuggestion.daily_demand)
                                            .where(ReplenishmentSuggestion.status == "open"))]


def test_a_run_as_of_a_past_date_plans_from_that_date(tea: int) -> None:
    as_of = local_today() - dt.timedelta(days=200)
    run = stored_run({(tea, "SH"): 10.0}, first_day=as_of)
    with pytest.raises(Refused) as err:  # today: that run's horizon ended long ago
        generate_suggestions(BUYER)
    last = as_of + dt.timedelta(days=HORIZON - 1)
    assert (err.value.key, err.value.params) == ("asof.run_too_old", {
        "run": run, "first": as_of.isoformat(), "last": last.isoformat(), "as_of": local_today().isoformat()})
    assert _suggested() == []
    summary = generate_suggestions(BUYER, as_of=as_of)
    # 10 a day over 7 days' lead time and 7 review days against the 30 in stock now
    assert (summary.run_id, summary.as_of, summary.suggestions, summary.reason) == (run, as_of, 1, None)
    assert _suggested() == [(10 * 14 - 30, 10.0)]
    with pytest.raises(Refused) as err:
        generate_suggestions(BUYER, as_of=as_of - dt.timedelta(days=1))
    assert err.value.key == "asof.run_after_as_of" and err.value.params["first"] == as_of.isoformat()


def test_nothing_below_the_reorder_point_says_so(tea: int) -> None:
    stored_run({(tea, "SH"): 1.0})
    summary = generate_suggestions(BUYER)
    assert (summary.suggestions, summary.checked, summary.reason) == (0, 1, "asof.nothing_below_reorder")


def test_future_as_of_is_refused(tea: int) -> None:
    stored_run({(tea, "SH"): 10.0})
    with pytest.raises(ValidationError) as err:
        generate_suggestions(BUYER, as_of=local_today() + dt.timedelta(days=1))
    assert err.value.issues[0].field == "as_of"


def test_cli_suggest_as_of_and_its_reasons(tea: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replenish", "suggest"]) == 2
    assert capsys.readouterr().err.strip() == "oms: " + english("asof.no_run")
    as_of = local_today() - dt.timedelta(days=90)
    stored_run({(tea, "SH"): 10.0}, first_day=as_of)
    assert main(["replenish", "suggest"]) == 2
    assert "ended before the as-of date" in capsys.readouterr().err
    assert main(["replenish", "suggest", "--as-of", as_of.isoformat()]) == 0
    assert "1 suggestions (110 units, value " in capsys.readouterr().out
    stored_run({(tea, "SH"): 1.0})  # today: 14 units over lead time and review, 30 in stock
    assert main(["replenish", "suggest"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"0 suggestions (0 units, value 0) from forecast run #2 as of {local_today()}")
    assert out[1] == english("asof.nothing_below_reorder", {"checked": 1})
    assert main(["replenish", "suggest", "--as-of", "yesterday"]) == 2
    assert "as_of" in capsys.readouterr().err
