"""``/webhooks``: an integration subscribes to events, lists and deletes its own subscriptions,
reads their delivery log and replays an event (same event id). Scope ``webhooks:manage``;
the subscriptions belong to the calling token (docs/api.md "Webhooks")."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from api import values
from api.auth import caller
from api.schemas import Strict
from core.services import webhooks
from core.services.api_tokens import Caller

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Who = Annotated[Caller, Depends(caller)]
EVENT_ID = r"^[0-9a-fA-F-]*$"  # event ids are UUIDs: anything else is refused before it reaches SQL
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # an id the database can hold
MAX_LOG_PAGE = 500


class WebhookIn(Strict):
    url: str = Field(max_length=webhooks.MAX_URL)
    events: list[Annotated[str, Field(max_length=32)]] = Field(min_length=1, max_length=20)
    channel: str | None = Field(default=None, max_length=32)
    name: str = Field(default="", max_length=webhooks.MAX_NAME)


def _subscription(info: webhooks.SubscriptionInfo) -> dict[str, Any]:
    return values.record({k: list(v) if isinstance(v, tuple) else v
                          for k, v in dataclasses.asdict(info).items() if k != "token_id"})


@router.post("", status_code=201)
def subscribe(body: WebhookIn, who: Who) -> dict[str, Any]:
    """Subscribe ``url`` to ``events`` (``["*"]``: all), optionally one channel's only. The
    answer holds the signing ``secret`` — the only time it is shown."""
    new = webhooks.create_subscription(body.url, body.events, who.actor, name=body.name, channel=body.channel,
                                       token_id=who.token_id)
    return {**_subscription(new.info), "secret": new.secret}


@router.get("")
def list_(who: Who) -> dict[str, Any]:
    """This token's subscriptions (active first)."""
    return {"items": [_subscription(s) for s in webhooks.list_subscriptions(who.actor, token_id=who.token_id)]}


@router.delete("/{subscription_id}")
def unsubscribe(subscription_id: SubscriptionId, who: Who) -> dict[str, Any]:
    """Deactivate one of this token's subscriptions; waiting deliveries are given up."""
    return _subscription(webhooks.deactivate_subscription(subscription_id, who.actor, token_id=who.token_id))


@router.get("/{subscription_id}/deliveries")
def deliveries(subscription_id: SubscriptionId, who: Who, status: Annotated[list[str] | None, Query()] = None,
               event_id: Annotated[str, Query(max_length=64, pattern=EVENT_ID)] = "",
               limit: Annotated[int, Query(ge=1, le=MAX_LOG_PAGE)] = 100) -> dict[str, Any]:
    """The subscription's delivery log, newest first."""
    frame = webhooks.list_deliveries(who.actor, subscription_id=subscription_id, statuses=status, event_id=event_id,
                                     token_id=who.token_id, limit=limit)
    frame = frame.rename(columns=lambda c: c.removeprefix("webhook_")).drop(columns=["url", "subscription"])
    return {"items": values.records(frame)}


@router.post("/deliveries/{event_id}/replay", status_code=202)
def replay(event_id: Annotated[str, Path(max_length=64, pattern=EVENT_ID)], who: Who) -> dict[str, Any]:
    """Queue the event again, with the same event id, for this token's subscriptions that had it."""
    done = webhooks.replay(event_id, who.actor, token_id=who.token_id)
    return {"event_id": done.event_id, "event": done.event, "queued": len(done.queued)}
