"""How fast the demo generator fills a fresh database (``oms init --demo``).

Loads ``--orders`` demo orders (default 100 000) into a temporary SQLite file, or into a
throw-away PostgreSQL database when DATABASE_URL points to a PostgreSQL server, after the
same migration and reference seed ``oms init`` runs. Prints one JSON line.

    python bench/seed.py [--orders 100000] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench._db import fresh_database  # noqa: E402
from data.demo import load_demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    url, cleanup = fresh_database("seed")
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    try:
        summary = load_demo(url, orders=args.orders, seed=args.seed)
    finally:
        cleanup()
    print(json.dumps({
        "bench": "seed", "backend": backend, "orders": summary.orders, "lines": summary.order_lines,
        "customers": summary.customers, "movements": summary.movements, "seconds": summary.seconds,
        "orders_per_s": round(summary.orders / summary.seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
