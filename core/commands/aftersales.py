"""``oms rma list`` (the after-sales queue) and ``oms outbox list`` (what a message sender
would read), both as the system actor; see :mod:`core.services.aftersales` and
:mod:`core.services.outbox`."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from core.permissions import SYSTEM
from core.services import aftersales, outbox, rma_views


def _print(frame: pd.DataFrame, as_json: bool) -> None:
    """One JSON object per line (for scripts), or an aligned table (for people)."""
    if as_json:
        for record in frame.to_dict("records"):
            print(json.dumps(record, ensure_ascii=False, default=str))
    elif frame.empty:
        print("nothing found")
    else:
        print(frame.to_string(index=False))


def _rma_list(args: argparse.Namespace) -> int:
    statuses = args.status or list(aftersales.OPEN_STATUSES)
    frame = rma_views.list_rmas(SYSTEM, statuses=statuses, query=args.query, limit=args.limit)
    _print(frame.drop(columns=["id", "order_id"]), args.json)
    return 0


def _outbox_list(args: argparse.Namespace) -> int:
    frame = outbox.list_notifications(SYSTEM, statuses=args.status or None, channels=args.channel or None,
                                      event_prefix=args.event, limit=args.limit)
    if args.json:
        frame["outbox_payload"] = [json.loads(p) for p in frame["outbox_payload"]]
    _print(frame, args.json)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    rma = subparsers.add_parser("rma", help="after-sales requests").add_subparsers(dest="rma_command", required=True)
    p = rma.add_parser("list", help="RMAs, newest first (default: the open ones)")
    p.add_argument("--status", action="append", choices=aftersales.STATUSES,
                   help="repeat for several; default: requested, approved, received, inspected")
    p.add_argument("--query", default="", help="RMA or order number, customer name or phone")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_rma_list)

    box = subparsers.add_parser("outbox", help="the notifications outbox").add_subparsers(
        dest="outbox_command", required=True)
    p = box.add_parser("list", help="queued customer messages, newest first")
    p.add_argument("--status", action="append", choices=outbox.STATUSES, help="e.g. pending; repeat for several")
    p.add_argument("--channel", action="append", choices=outbox.CHANNELS)
    p.add_argument("--event", default="", help="event prefix, e.g. rma. or order.shipped")
    p.add_argument("--limit", type=int, default=500)
    p.add_argument("--json", action="store_true", help="one JSON object per line (what a sender would read)")
    p.set_defaults(func=_outbox_list)
