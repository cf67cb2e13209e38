"""``oms keys init`` and ``oms keys rotate``: the data keys of personal data (docs/security.md)."""

from __future__ import annotations

import argparse
import sys

from core.permissions import SYSTEM
from core.services import data_keys


def _progress(table: str, last_id: int) -> None:
    print(f"\r  {table}: up to id {last_id}   ", end="", file=sys.stderr, flush=True)


def _report(verb: str, result: data_keys.KeysResult) -> None:
    print(file=sys.stderr)
    created = f"; new key file {result.key_file} (keep a copy apart from the backups)" if result.created_file else ""
    print(f"{verb}: key {result.kid}, {result.rewritten} rows rewritten, {result.verified} values read back"
          f"{created}")


def _init(args: argparse.Namespace) -> int:
    _report("encrypted", data_keys.init_keys(SYSTEM, batch=args.batch, progress=_progress))
    return 0


def _rotate(args: argparse.Namespace) -> int:
    _report("rotated", data_keys.rotate_keys(SYSTEM, batch=args.batch, progress=_progress))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    keys = subparsers.add_parser("keys", help="data keys of personal data (encryption at rest)").add_subparsers(
        dest="keys_command", required=True)
    p = keys.add_parser("init", help="create a key file if none, encrypt the plain personal data, verify")
    p.add_argument("--batch", type=int, default=data_keys.BATCH, choices=range(1, 10_001), metavar="ROWS")
    p.set_defaults(func=_init)
    p = keys.add_parser("rotate", help="re-encrypt every value under a new key id (resumable)")
    p.add_argument("--batch", type=int, default=data_keys.BATCH, choices=range(1, 10_001), metavar="ROWS")
    p.set_defaults(func=_rotate)
