"""``oms refresh``: bring the analytics summary tables up to date (cron-friendly).

Dashboards only read: the worker (``oms worker``) refreshes the summaries every few minutes and
after imports; this runs the same refresh by hand or from cron where no worker runs. ``--full``
rebuilds everything (after changing product categories or costs, which are captured when a
day is aggregated).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from core.analytics import summary


def _progress(fraction: float, message: str) -> None:
    print(f"\r[{fraction:5.0%}] {message:<60}", end="", file=sys.stderr, flush=True)


def _refresh(args: argparse.Namespace) -> int:
    result = summary.refresh(full=args.full, progress=None if args.quiet else _progress)
    if not args.quiet:
        print(file=sys.stderr)
    print(json.dumps(asdict(result)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("refresh", help="refresh the analytics summary tables (incremental)")
    p.add_argument("--full", action="store_true", help="rebuild every summary from the raw tables")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_refresh)
