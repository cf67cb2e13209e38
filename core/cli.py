"""The ``oms`` command line (also ``python -m core.cli``).

Every command calls the same services as the pages. On bad input it prints one line naming
the problem to stderr, exits non-zero and writes nothing.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from core import commands, config, db
from core.errors import OMSError
from core.permissions import ROLES, SYSTEM
from core.reference import seed_reference
from core.schema import upgrade
from core.services.shop_setup import needs_setup

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"


def cmd_init(args: argparse.Namespace) -> int:
    from core.services.data_keys import init_keys

    with db.before_keys():
        upgrade(db.get_engine())
        with db.transaction() as s:
            seed_reference(s)
    print(f"schema up to date: {config.database_url()}")
    keys = init_keys(SYSTEM)
    print(f"personal data encrypted with key {keys.kid} ({keys.key_file})"
          + ("; new key file: keep a copy apart from the backups" if keys.created_file else ""))
    if args.demo:
        from data.demo import load_demo

        def progress(fraction: float, message: str) -> None:
            print(f"\r[{fraction:5.0%}] {message:<60}", end="", file=sys.stderr, flush=True)

        summary = load_demo(orders=args.orders, seed=args.seed, progress=progress)
        print(file=sys.stderr)
        print(f"demo data: {summary.products} products, {summary.customers} customers, {summary.orders} orders, "
              f"{summary.order_lines} lines, {summary.movements} stock movements in {summary.seconds:.1f} s")
        # Build the dashboards' summary tables now, so the first manager to open one does not wait.
        from core.analytics import summary as analytics_summary

        built = analytics_summary.refresh(progress=progress)
        print(file=sys.stderr)
        print(f"analytics summaries: {built.days} days built in {built.seconds:.1f} s")
        print("demo users (username / password):")
        for user, pw in summary.users.items():
            print(f"  {user:<10} {pw}")
    else:
        print("no user accounts are created outside demo mode; add one with: oms users add NAME --role admin")
        if needs_setup():
            print("the shop has no warehouse or sales channel yet; describe it with: oms setup --shop-name NAME "
                  "--timezone TZ --currency CUR --language zh|en --warehouse CODE:NAME --channel CODE:NAME:KIND "
                  "(or on the Shop setup page)")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    from core.passwords import generate_password
    from core.services.users import create_user

    password = args.password or generate_password()
    user = create_user(args.name, password, args.role, SYSTEM, display_name=args.display_name)
    print(f"created user {user.username} ({user.role})")
    if not args.password:
        print(f"password: {password}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    script = BENCH_DIR / f"{args.name}.py"
    if not script.exists():
        names = ", ".join(sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_")))
        raise OMSError(f"no benchmark {args.name!r}; available: {names}")
    return subprocess.call([sys.executable, str(script), *args.bench_args])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oms", description="Retail order-management system")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create/upgrade the schema; optionally load demo data")
    p.add_argument("--demo", action="store_true", help="load a demo retailer and one user per role")
    p.add_argument("--orders", type=int, default=50_000, help="demo orders (default 50000)")
    p.add_argument("--seed", type=int, default=42, help="random seed for the demo data")
    p.set_defaults(func=cmd_init)

    users = sub.add_parser("users", help="manage user accounts").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("add", help="add a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password", help="default: a random password, printed once")
    p.add_argument("--display-name")
    p.set_defaults(func=cmd_users_add)

    p = sub.add_parser("bench", help="run a benchmark from bench/ (prints one JSON line)")
    p.add_argument("name")
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except OMSError as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 2
    finally:
        db.dispose_all()


if __name__ == "__main__":
    sys.exit(main())
