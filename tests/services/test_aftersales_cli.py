"""``oms rma list`` and ``oms outbox list``: the queue and what a sender would read."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.services import aftersales as rma
from core.services.aftersales import RMALine, RMARequest
from tests.aftersales_data import delivered_order
from tests.factories import SERVICE, make_product


def test_rma_and_outbox_lists(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    make_product("A", "30.00", {"SH": 10})
    order = delivered_order(("A", 2))
    first = rma.open_rma(RMARequest(order.id, "return", "size", (RMALine(1, 1),)), SERVICE)
    second = rma.open_rma(RMARequest(order.id, "return", "quality", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(second.id, "rejected", SERVICE, note="no")
    assert main(["rma", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["rma_number"] for r in rows] == [first.number]  # open ones by default
    assert main(["rma", "list", "--status", "rejected"]) == 0
    out = capsys.readouterr().out
    assert second.number in out and first.number not in out
    assert main(["outbox", "list", "--status", "pending", "--event", "rma.", "--json"]) == 0
    messages = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [m["outbox_event"] for m in messages] == ["rma.rejected", "rma.opened", "rma.opened"]
    assert messages[0]["outbox_payload"]["rma"] == second.number
    with pytest.raises(SystemExit):
        main(["rma", "list", "--status", "lost"])
