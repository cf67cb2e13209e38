"""``oms worker``: run background jobs (forecast and replenishment runs, large imports, summary
refreshes, e-mail delivery) — docs/jobs.md."""

from __future__ import annotations

import argparse


def _worker(args: argparse.Namespace) -> int:
    from core.worker import consumer  # lazy: the worker imports every service

    return consumer.run(args.workers)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("worker", help="run background jobs (REDIS_URL, else an SQLite queue beside the database)")
    p.add_argument("--workers", type=_positive, default=1, help="jobs run at the same time (threads, default 1)")
    p.set_defaults(func=_worker)
