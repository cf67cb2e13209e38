"""The notifications outbox as the admin page reads it: filters, JSON payloads, masking."""

from __future__ import annotations

import json

import pytest

from core import permissions
from core.errors import PermissionDenied
from core.permissions import Actor
from core.services.orders import create_order, transition
from core.services.outbox import list_notifications, outbox_summary
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, make_product, order_input


def test_order_changes_are_listed_filtered_and_summarised(db_url: str) -> None:
    make_product("A", "30.00", {"SH": 10})
    first = create_order(order_input(("A", 1), email="Li.Si@Example.com"), CLERK)
    second = create_order(order_input(("A", 1), phone="13900139000"), CLERK)
    transition(second.id, "cancelled", CLERK)
    everything = list_notifications(ADMIN)
    assert len(everything) == 4  # created ×2 (one with an e-mail too), cancelled
    assert everything["outbox_event"].tolist()[0] == "order.cancelled"
    payload = json.loads(everything["outbox_payload"].iloc[0])
    assert payload["number"] == second.number and payload["status"] == "cancelled"
    assert list_notifications(ADMIN, channels=["email"])["outbox_recipient"].tolist() == ["li.si@example.com"]
    assert list_notifications(ADMIN, order_number=first.number.lower())["number"].unique().tolist() == [
        first.number]
    assert list_notifications(ADMIN, event_prefix="order.cancel")["number"].tolist() == [second.number]
    assert list_notifications(ADMIN, event_prefix="%")["id"].tolist() == []
    assert list_notifications(ADMIN, statuses=["sent"]).empty
    summary = outbox_summary(MANAGER)
    assert summary.set_index(["outbox_event", "outbox_channel"])["outbox_messages"].to_dict() == {
        ("order.created", "sms"): 2, ("order.created", "email"): 1, ("order.cancelled", "sms"): 1}


def test_outbox_is_for_office_roles_and_masks_without_pii_permission(db_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    make_product("A", "30.00", {"SH": 10})
    create_order(order_input(("A", 1), email="li.si@example.com"), CLERK)
    with pytest.raises(PermissionDenied):
        list_notifications(SERVICE)
    assert sorted(list_notifications(ADMIN)["outbox_recipient"]) == ["13800138000", "li.si@example.com"]
    # a role that may read the outbox but not personal data (none by default; masking must hold)
    monkeypatch.setitem(permissions.PERMISSIONS, "notification.view", permissions.PERMISSIONS["notification.view"]
                        | {"buyer"})
    frame = list_notifications(Actor("b", "buyer"))
    assert sorted(frame["outbox_recipient"]) == ["138****8000", "l****@example.com"]
