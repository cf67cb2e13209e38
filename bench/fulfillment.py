"""Orders/s through allocate → pick → pack → ship, and ``oms reconcile`` at 1M ledger movements.

On a fresh database (SQLite in a temp file; a throw-away PostgreSQL database when DATABASE_URL
points to a PostgreSQL server):

1. allocate: ``create_order`` for ``--orders`` orders (rule → availability → cost, reservation);
2. pick:     ``create_pick_lists`` in batches of 100 orders;
3. pack:     ``scan_item`` for every unit (one transaction per scan, as at the bench);
4. ship:     ``ship_bulk`` with a tracking-number CSV per 500 orders;

then a wave (``core.services.waves``) of ``WAVE_ORDERS`` fresh orders of one warehouse and its
consolidated pick list (``wave_pick_lines_per_s``: order lines through choose → slot → pick
list), then 16 writers racing kits and their components for scarce components
(``kit_race_oversold``, must be 0: ``bench/kit_race.py``), then ``merge_candidates_s``:
:func:`core.services.merging.merge_candidates` among ``--open-orders`` confirmed orders (inserted
with their address digests; one customer in nine has a second order to the same door, so 20 % of
the orders are candidates), then tops the ledger up to ``--movements`` rows (bulk insert, stock
rows kept consistent) and
list), and the wave's shipping labels (``label_pdf_ms``: one label, number taken and PDF drawn;
``wave_labels_pdf_s``: the wave's labels as one PDF), then tops the ledger up to ``--movements`` rows (bulk insert, stock rows kept consistent) and
times :func:`core.services.reconciliation.run_reconciliation`, the function behind ``oms reconcile``, which
must find nothing. Prints one JSON line.

    python bench/fulfillment.py [--orders 10000] [--movements 1000000] [--open-orders 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, update  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from bench.kit_race import race  # noqa: E402
from core import db  # noqa: E402
from core.documents.shipping_label import render_labels  # noqa: E402
from core.models import (  # noqa: E402
    Carrier,
    CarrierRate,
    Channel,
    Customer,
    Order,
    OrderLine,
    Product,
    StockLevel,
    StockMovement,
    TrackingRange,
    Warehouse,
)
from core.permissions import Actor  # noqa: E402
from core.services.fulfillment import create_pick_lists, pick_list, scan_item, ship_bulk  # noqa: E402
from core.services.labels import print_labels, print_wave_labels, wave_orders  # noqa: E402
from core.services.merging import merge_candidates  # noqa: E402
from core.services.orders import LineInput, OrderInput, create_order  # noqa: E402
from core.services.reconciliation import run_reconciliation  # noqa: E402
from core.services.waves import WaveRule, create_wave  # noqa: E402
from core.timeutil import utcnow  # noqa: E402

PRODUCTS = 200
STOCK_PER_ROW = 1_000_000
PICK_BATCH = 100
SHIP_BATCH = 500
WAVE_ORDERS = 200
CLERK = Actor("bench-clerk", "clerk")
PACKER = Actor("bench-packer", "warehouse")
MANAGER = Actor("bench-manager", "manager")
PROVINCES = [("上海", "上海市", "浦东新区"), ("广东", "广州市", "天河区"), ("北京", "北京市", "朝阳区"),
             ("四川", "成都市", "武侯区"), ("浙江", "杭州市", "西湖区")]


def _stock(url: str) -> dict[int, str]:
    """Bench products in every warehouse, posted as opening movements; product id → barcode."""
    with db.transaction(url) as s:
        now = utcnow()
        s.execute(insert(Product), [
            dict(sku=f"F-{i:04d}", barcode=f"691000{i:07d}", name=f"Bench {i}", category="bench", attributes={},
                 unit_price=Decimal("19.90"), unit_cost=Decimal("9.00"), pack_size=1, active=True, created_at=now)
            for i in range(PRODUCTS)])
        products = dict(s.execute(select(Product.id, Product.barcode)).all())
        warehouses = s.execute(select(Warehouse.id)).scalars().all()
        s.execute(insert(StockLevel), [dict(product_id=p, warehouse_id=w, on_hand=STOCK_PER_ROW, reserved=0,
                                            safety_stock=0, reorder_point=0) for p in products for w in warehouses])
        s.execute(insert(StockMovement), [dict(at=now, product_id=p, warehouse_id=w, qty_delta=STOCK_PER_ROW,
                                               kind="initial", actor="bench") for p in products for w in warehouses])
    return products


def _order(rng: random.Random, i: int) -> OrderInput:
    province, city, district = rng.choice(PROVINCES)
    lines = [LineInput(f"F-{p:04d}", rng.randint(1, 2)) for p in rng.sample(range(PRODUCTS), rng.randint(1, 2))]
    return OrderInput(channel="PHONE", lines=lines, customer_name="压测客户", phone=f"139{i % 5000:08d}",
                      province=province, city=city, district=district, address="测试路 1 号",
                      payment_method="wechat_pay", payment_status="paid")


def _timed(fn, *args) -> tuple[float, object]:  # noqa: ANN001 - any callable
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def _flow(url: str, n: int) -> dict[str, float]:
    """Seconds per stage for ``n`` orders through allocate → pick → pack → ship."""
    import os

    os.environ["DATABASE_URL"] = url
    barcodes = _stock(url)
    sku_barcode = {f"F-{i:04d}": barcodes[pid] for i, pid in enumerate(sorted(barcodes))}
    rng = random.Random(7)
    inputs = [_order(rng, i) for i in range(n)]

    def allocate() -> list:
        return [create_order(data, CLERK) for data in inputs]

    def pick(ids: list[int]) -> None:
        for start in range(0, len(ids), PICK_BATCH):
            create_pick_lists(ids[start:start + PICK_BATCH], PACKER)

    def pack() -> int:
        scans = 0
        for result, data in zip(created, inputs, strict=True):
            for line in data.lines:
                for _ in range(line.qty):
                    scan_item(result.id, sku_barcode[line.sku], PACKER)
                    scans += 1
        return scans

    def ship() -> None:
        numbers = [r.number for r in created]
        for start in range(0, len(numbers), SHIP_BATCH):
            rows = "\n".join(f"{num},顺丰,SF{start + k:09d}" for k, num in enumerate(numbers[start:start + SHIP_BATCH]))
            ship_bulk(f"order,carrier,tracking\n{rows}\n".encode(), PACKER)

    t_alloc, created = _timed(allocate)
    t_pick, _ = _timed(pick, [r.id for r in created])
    t_pack, scans = _timed(pack)
    t_ship, _ = _timed(ship)
    return {"allocate": t_alloc, "pick": t_pick, "pack": t_pack, "ship": t_ship, "scans": scans}


def _wave(n: int) -> dict[str, float]:
    """A wave of ``WAVE_ORDERS`` orders from the warehouse holding most of ``n`` fresh ones."""
    rng = random.Random(13)
    created = [create_order(_order(rng, 100_000 + i), CLERK) for i in range(n)]
    with db.transaction(readonly=True) as s:
        busiest = s.execute(select(Warehouse.code).join(OrderLine, OrderLine.warehouse_id == Warehouse.id)
                            .where(OrderLine.order_id.in_([c.id for c in created]), Order.id == OrderLine.order_id,
                                   Order.status == "confirmed")
                            .group_by(Warehouse.code).order_by(func.count(OrderLine.id).desc()).limit(1)).scalar_one()
    start = time.perf_counter()
    wave = create_wave(busiest, WaveRule(max_orders=WAVE_ORDERS), PACKER)
    doc = pick_list(wave.id, PACKER)
    seconds = time.perf_counter() - start
    return {"wave_orders": len(wave.orders), "wave_lines": wave.lines, "wave_pick_items": len(doc.items),
            "wave_seconds": seconds, "wave_id": wave.id}


def _labels(wave_id: int) -> dict[str, float]:
    """Shipping labels for the wave: ``label_pdf_ms`` is the median of 20 single labels (a
    tracking number taken from the carrier's range, the PDF drawn), ``wave_labels_pdf_s`` the
    whole wave as one PDF (numbers for the rest taken in one transaction)."""
    with db.transaction() as s:  # every carrier gets a price list for anywhere and a number range
        for carrier_id, code in s.execute(select(Carrier.id, Carrier.code)).all():
            s.execute(insert(CarrierRate).values(carrier_id=carrier_id, province="*", max_kg=Decimal(1000),
                                                 cost=Decimal("10.00")))
            s.execute(insert(TrackingRange).values(carrier_id=carrier_id, prefix=code[:2], next_no=1,
                                                   end_no=10**9, width=10, active=True))
    ids = wave_orders(wave_id, PACKER)
    singles = []
    for order_id in ids[:20]:
        start = time.perf_counter()
        render_labels(print_labels([order_id], PACKER))
        singles.append(time.perf_counter() - start)
    start = time.perf_counter()
    pdf = render_labels(print_wave_labels(wave_id, PACKER))
    return {"label_pdf_ms": statistics.median(singles) * 1000, "wave_labels_pdf_s": time.perf_counter() - start,
            "wave_labels": len(ids), "wave_labels_pdf_kb": len(pdf) / 1024}


def _merge_candidates(n: int) -> dict[str, float]:
    """Seconds to find the merge candidates among ``n`` open orders: the last tenth are second
    orders of the first customers, to the same door written another way."""
    now = utcnow()
    customers = n - n // 10
    with db.transaction() as s:
        first = int(s.execute(select(func.coalesce(func.max(Customer.id), 0))).scalar_one()) + 1
        s.execute(insert(Customer), [dict(id=first + k, code=f"MB{k:07d}", name=f"合单客户 {k}", tier="normal", tags=[],
                                          created_at=now) for k in range(customers)])
        channel = s.execute(select(Channel.id).where(Channel.code == "PHONE")).scalar_one()
        warehouse, product = s.execute(select(Warehouse.id)).scalars().first(), s.execute(select(Product.id)).scalars().first()
        for start in range(0, n, 20_000):
            rows = []
            for i in range(start, min(n, start + 20_000)):
                k = i if i < customers else i - customers
                province, city, district = PROVINCES[k % len(PROVINCES)]
                address = f"测试路 {k} 号 3 号楼" if i < customers else f"{province}{city}测试路{k}号3幢"
                rows.append(dict(number=f"MB{i:09d}", channel_id=channel, customer_id=first + k, status="confirmed",
                                 ship_name="合单客户", ship_phone=f"139{k:08d}", ship_province=province, ship_city=city,
                                 ship_district=district, ship_address=address,
                                 warehouse_id=warehouse, subtotal=Decimal("19.90"), total=Decimal("19.90"),
                                 placed_at=now, updated_at=now))
            ids = s.execute(insert(Order).returning(Order.id), rows).scalars().all()
            s.execute(insert(OrderLine), [dict(order_id=oid, line_no=1, product_id=product, qty=1,
                                               unit_price=Decimal("19.90"), line_total=Decimal("19.90"),
                                               warehouse_id=warehouse) for oid in ids])
    start = time.perf_counter()
    found = merge_candidates(MANAGER)
    seconds = time.perf_counter() - start
    return {"open_orders": n, "merge_candidate_orders": len(found),
            "merge_proposals": int(found["proposal"].max()) if len(found) else 0, "merge_candidates_s": seconds}


def _top_up_ledger(url: str, total: int) -> int:
    """Bulk-insert receipt/adjustment movements until the ledger holds ``total`` rows, then bring
    on_hand in line (as if every movement had gone through core.stock)."""
    rng = random.Random(11)
    with db.transaction(url) as s:
        have = int(s.execute(select(func.count(StockMovement.id))).scalar_one())
        pairs = s.execute(select(StockLevel.product_id, StockLevel.warehouse_id)).all()
    now = utcnow()
    remaining = max(0, total - have)
    chunk = 50_000
    while remaining:
        size = min(chunk, remaining)
        rows = []
        for _ in range(size):
            p, w = pairs[rng.randrange(len(pairs))]
            delta = rng.choice((5, 10, 20, -1, -2, -3))
            rows.append(dict(at=now, product_id=p, warehouse_id=w, qty_delta=delta,
                             kind="receipt" if delta > 0 else "adjustment", reason="bench", actor="bench"))
        with db.transaction(url) as s:
            s.execute(insert(StockMovement), rows)
        remaining -= size
    with db.transaction(url) as s:
        sums = s.execute(select(StockMovement.product_id, StockMovement.warehouse_id, func.sum(StockMovement.qty_delta))
                         .group_by(StockMovement.product_id, StockMovement.warehouse_id)).all()
        for p, w, on_hand in sums:
            s.execute(update(StockLevel).where(StockLevel.product_id == p, StockLevel.warehouse_id == w)
                      .values(on_hand=on_hand))
        return int(s.execute(select(func.count(StockMovement.id))).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--movements", type=int, default=1_000_000)
    parser.add_argument("--open-orders", type=int, default=100_000)
    args = parser.parse_args()
    url, cleanup = fresh_database("fulfillment")
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    try:
        stages = _flow(url, args.orders)
        wave = _wave(WAVE_ORDERS * 4)
        kit_race = race(writers=16)
        labels = _labels(int(wave["wave_id"]))
        movements = _top_up_ledger(url, args.movements)
        start = time.perf_counter()
        report = run_reconciliation(MANAGER)
        reconcile_s = time.perf_counter() - start
        merge = _merge_candidates(args.open_orders)  # after reconciling: these orders reserve nothing
    finally:
        cleanup()
    flow_s = stages["allocate"] + stages["pick"] + stages["pack"] + stages["ship"]
    print(json.dumps({
        "bench": "fulfillment", "backend": backend, "orders": args.orders, "scans": stages["scans"],
        "orders_per_s": {stage: round(args.orders / stages[stage]) for stage in ("allocate", "pick", "pack", "ship")},
        "scans_per_s": round(stages["scans"] / stages["pack"]),
        "end_to_end_orders_per_s": round(args.orders / flow_s, 1),
        "wave_orders": wave["wave_orders"], "wave_lines": wave["wave_lines"],
        "wave_pick_lines_per_s": round(wave["wave_lines"] / wave["wave_seconds"]),
        "kit_race_oversold": kit_race["oversold"],
        "kit_race": {k: kit_race[k] for k in ("writers", "orders", "won", "refused", "errors", "deadlocks",
                                              "mismatched")},
        "merge_candidates_s": round(merge["merge_candidates_s"], 2), "merge_open_orders": merge["open_orders"],
        "merge_candidate_orders": merge["merge_candidate_orders"], "merge_proposals": merge["merge_proposals"],
        "label_pdf_ms": round(labels["label_pdf_ms"], 1), "wave_labels": labels["wave_labels"],
        "wave_labels_pdf_s": round(labels["wave_labels_pdf_s"], 2),
        "wave_labels_pdf_kb": round(labels["wave_labels_pdf_kb"]),
        "reconcile": {"movements": movements, "seconds": round(reconcile_s, 2), "discrepancies":
                      len(report.discrepancies), "goal_s": 5.0, "met": reconcile_s < 5.0},
    }))


if __name__ == "__main__":
    main()
