"""No decrypted personal data anywhere it could be read without the key (issue #20, item 5).

A full workflow with one known phone number — a customer and an order entered by a clerk,
packed, shipped, delivered, a return, the notifications it queues, a large import run as a
background job by a real worker, exports by a role that may see phones and one that may not —
then the log output, the job queue's file, the jobs tables and the raw database (SQLite: the
file and its WAL, byte by byte; PostgreSQL: every row of every table as text) are searched for
that number. None holds it."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from core import db, environment
from core.models import Base
from core.services import imports
from core.services.aftersales import RMALine, RMARequest, open_rma
from core.services.customer_profiles import CustomerEdit, update_customer
from core.services.orders import create_order, export_orders, transition
from tests.factories import ADMIN, CLERK, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan
from tests.jobs_support import running_worker, wait_for

PHONE = "13987654321"
EMAIL = "li.si.secret@example.com"
STREET = "秘密路 88 号"
NAME = "欧阳秘名"  # customers' names are encrypted in the tests (the demo shop's setting)


@pytest.fixture
def all_logs(tmp_path: Path) -> Iterator[Path]:
    """Every log record of every logger, at DEBUG, into a file."""
    path = tmp_path / "oms.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()


def _import_file(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["external_ref", "line_ref", "channel", "placed_at", "status", "customer_name", "phone",
                      "province", "city", "district", "address", "sku", "qty", "unit_price", "payment_method",
                      "payment_status"])
        for i in range(30):  # the same customer again, and 29 others
            out.writerow([f"LEAK-{i:03d}", 1, "WECHAT", "2026-11-20 10:15:00", "completed", NAME,
                          PHONE if i == 0 else f"137{i:08d}", "上海", "上海市", "浦东新区", STREET, "A", 1, "10.00",
                          "wechat_pay", "paid"])
    return path


def _database_text(url: str) -> bytes:
    """What someone with the database but not the key can read."""
    if url.startswith("sqlite"):
        db.dispose_all()
        path = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    with db.transaction(url, readonly=True) as s:
        return "\n".join(str(row[0]) for table in Base.metadata.sorted_tables
                         for row in s.execute(text(f'SELECT CAST("{table.name}" AS text) FROM "{table.name}"'))
                         ).encode()


def _holders(url: str, needle: str) -> list[str]:
    """table.column holding ``needle`` (the failure message names them)."""
    found = []
    with db.transaction(url, readonly=True) as s:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                hit = s.execute(text(f'SELECT 1 FROM "{table.name}" WHERE CAST("{column.name}" AS text) LIKE :n'),
                                {"n": f"%{needle}%"}).first()
                if hit:
                    found.append(f"{table.name}.{column.name}")
    return found


def test_a_full_workflow_leaves_the_phone_nowhere_in_clear(db_url: str, tmp_path: Path, all_logs: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    make_product("A", "30.00", {"SH": 100})
    placed = create_order(order_input(("A", 2), customer_name=NAME, phone=f"+86 {PHONE}", email=EMAIL,
                                      address=STREET), CLERK)
    pack_by_scan(placed.id)
    transition(placed.id, "shipped", ADMIN, carrier="顺丰", tracking_no="SF0000000001")
    transition(placed.id, "delivered", ADMIN)
    open_rma(RMARequest(placed.id, "return", "size", (RMALine(1, 1),)), SERVICE)
    # a large import: a background job, its uploaded file kept in the database until it is done
    monkeypatch.setenv("OMS_IMPORT_JOB_MB", "0")
    path = _import_file(tmp_path / "orders.csv")
    options = imports.ImportOptions(kind="orders", profile=imports.load_profile("generic-orders"))
    job_id = imports.start_import([imports.SourceFile(path.name, path.read_bytes())], options, SERVICE)
    queued = _database_text(db_url)
    with running_worker():
        done = wait_for(job_id)
    assert done.status == "succeeded", done.error_detail
    # exports: the phone only for a role that may see it, masked for the warehouse
    seen: list[pd.DataFrame] = []
    export_orders(SERVICE, seen.append, query=PHONE)
    assert PHONE in set(pd.concat(seen)["phone"])
    masked: list[pd.DataFrame] = []
    export_orders(WAREHOUSE, masked.append, query=PHONE)
    assert set(pd.concat(masked)["phone"]) == {"139****4321"}
    # the name: decrypted in the exports of the roles that may export orders, found whole
    assert set(pd.concat(seen)["customer"]) == set(pd.concat(masked)["customer"]) == {NAME}
    named: list[pd.DataFrame] = []
    export_orders(SERVICE, named.append, query=f" {NAME} ")
    assert len(pd.concat(named)) == 1 + 30  # the order entered here and the imported ones (all named so)
    # a profile edit: its audit row keeps the old and the new name masked
    update_customer(placed.customer_id, CustomerEdit(name=f"{NAME}二", phone=PHONE, email=EMAIL, province="上海",
                                                     city="上海市", district="浦东新区", address=STREET), SERVICE)

    # as UTF-8 text, and as a JSON column holds it (json.dumps escapes Chinese: \\u6b27…)
    needles = [form for value in (PHONE, EMAIL, STREET, NAME) for form in {value.encode(),
                                                                          json.dumps(value)[1:-1].encode()}]
    stored = _database_text(db_url)
    logs = all_logs.read_bytes() + caplog.text.encode()
    jobs_file = environment.jobs_db_path()
    queue_bytes = b"".join(p.read_bytes() for p in jobs_file.parent.glob(jobs_file.name + "*"))
    assert logs and queue_bytes and stored and queued
    for needle in needles:
        assert needle not in queued, f"{needle!r} in the database while the import job waited"
        assert needle not in stored, f"{needle!r} in the database: {_holders(db_url, needle.decode())}"
        assert needle not in logs, f"{needle!r} in the logs"
        assert needle not in queue_bytes, f"{needle!r} in the job queue's file"
