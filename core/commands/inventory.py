"""``oms reconcile``, ``oms alerts scan`` and ``oms rules tag-customers``: the jobs a shop runs
from cron (daily reconciliation, alert scan every few minutes, nightly customer tagging).

They run as the system account through the same services as the pages. ``oms reconcile`` exits
1 when it finds a discrepancy, so a cron wrapper can mail the output.
"""

from __future__ import annotations

import argparse
import json

from core.permissions import SYSTEM
from core.services.alerts import scan_alerts
from core.services.reconciliation import json_records, run_reconciliation
from core.services.rules_admin import apply_tagging


def cmd_reconcile(args: argparse.Namespace) -> int:
    report = run_reconciliation(SYSTEM)
    found = report.discrepancies
    if args.json:
        print(json.dumps({"ok": report.ok, "seconds": report.seconds, "movements": report.movements,
                          "stock_rows": report.stock_rows, "discrepancies": json_records(found)},
                         ensure_ascii=False, default=str))
    else:
        print(f"stock reconciliation: {report.movements} movements, {report.stock_rows} stock rows, "
              f"{len(found)} discrepancies ({report.seconds:.2f} s)")
        for row in found.itertuples():
            where = " @ ".join(str(x) for x in (row.sku, row.warehouse) if x)
            print(f"  [{row.check}] {where or row.reference}: {row.detail} ({row.cause})")
    return 0 if report.ok else 1


def cmd_alerts_scan(_args: argparse.Namespace) -> int:
    summary = scan_alerts(SYSTEM)
    raised = ", ".join(f"{kind} {n}" for kind, n in summary.raised.items() if n) or "none"
    print(f"alerts raised: {raised}; resolved: {summary.resolved}")
    return 0


def cmd_tag_customers(_args: argparse.Namespace) -> int:
    result = apply_tagging(SYSTEM)
    print(f"{result.customers} customers checked, {len(result.tagged)} newly tagged, "
          f"{result.orders_prioritised} open orders raised in priority")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("reconcile", help="ledger vs on_hand vs reservations vs open orders; stores the report")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=cmd_reconcile)

    alerts = subparsers.add_parser("alerts", help="operational alerts").add_subparsers(dest="alerts_command",
                                                                                       required=True)
    p = alerts.add_parser("scan", help="raise alerts for late orders, low stock, backorders; resolve cleared ones")
    p.set_defaults(func=cmd_alerts_scan)

    rules = subparsers.add_parser("rules", help="business rules").add_subparsers(dest="rules_command",
                                                                                 required=True)
    p = rules.add_parser("tag-customers", help="apply the tagging rules (e.g. lifetime spend > 5000 → VIP)")
    p.set_defaults(func=cmd_tag_customers)
