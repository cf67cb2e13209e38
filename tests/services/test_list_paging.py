"""Lists that tell the truth: the count is exact, pages neither overlap nor skip, and the full
download holds every matching row however many there are (no 200-row cap)."""

from __future__ import annotations

import pandas as pd
import pytest

from core import db
from core.services import orders
from tests.factories import CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input

N = 23  # more than one page and more than one download chunk at the sizes below


@pytest.fixture
def many_orders(db_url: str) -> list[str]:
    make_product("PG-1", "10.00", {"SH": 1000})
    return [orders.create_order(order_input(("PG-1", 1), customer_name="王五"), CLERK).number for _ in range(N)]


def test_order_count_is_exact_and_pages_cover_every_order_once(many_orders: list[str]) -> None:
    assert orders.count_orders(CLERK) == N
    assert orders.count_orders(CLERK, "王五", statuses=["confirmed"]) == N
    assert orders.count_orders(CLERK, statuses=["shipped"]) == 0
    pages = [orders.search_orders(CLERK, offset=offset, limit=5) for offset in range(0, N + 5, 5)]
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3, 0]
    seen = [n for p in pages for n in p["number"]]
    assert len(seen) == len(set(seen)) == N and set(seen) == set(many_orders)
    assert list(orders.search_orders(CLERK, limit=N)["number"]) == seen  # same order as page by page


def test_full_order_download_has_every_row_in_chunks(many_orders: list[str]) -> None:
    chunks: list[pd.DataFrame] = []
    fed = orders.export_orders(WAREHOUSE, chunks.append, chunk_size=10)
    assert fed == N and [len(c) for c in chunks] == [10, 10, 3]
    whole = pd.concat(chunks)
    assert sorted(whole["number"]) == sorted(many_orders)
    assert not whole["phone"].str.contains("13800138000").any()  # masked for the warehouse role


def test_audit_log_count_pages_and_full_download_agree(many_orders: list[str]) -> None:
    from core.analytics.audit import audit_log, count_audit, export_audit

    assert count_audit(MANAGER, action="order.create") == N
    total = count_audit(MANAGER)
    assert total >= N
    ids = [i for offset in range(0, total, 7) for i in audit_log(MANAGER, offset=offset, limit=7)["id"]]
    assert len(ids) == len(set(ids)) == total
    chunks: list[pd.DataFrame] = []
    assert export_audit(MANAGER, chunks.append, chunk_size=10) == total
    assert list(pd.concat(chunks)["id"]) == ids  # same rows in the same order as the pages
    assert all(len(c) <= 10 for c in chunks)


def test_stock_movements_count_pages_and_full_download_agree(db_url: str) -> None:
    """The running balance is taken over all movements, whichever page shows them."""
    from core.analytics.inventory import count_ledger, export_ledger, product_ledger
    from core.services.inventory import adjust_stock

    pid = make_product("MV-1", "10.00", {"SH": 1000})
    for _ in range(N):
        adjust_stock("MV-1", "SH", -1, "damage", WAREHOUSE)
    total = count_ledger(pid)
    assert total == N + 1  # the opening stock and N adjustments
    pages = [product_ledger(pid, limit=10, offset=offset) for offset in range(0, total, 10)]
    ids = [i for p in pages for i in p["id"]]
    assert len(ids) == len(set(ids)) == total
    assert pages[0]["balance"].iloc[0] == 1000 - N and pages[-1]["balance"].iloc[-1] == 1000
    chunks: list[pd.DataFrame] = []
    assert export_ledger(pid, chunks.append, chunk_size=10) == total
    assert list(pd.concat(chunks)["id"]) == ids and count_ledger(pid, "GZ") == 0


def test_customer_list_count_pages_and_full_download_agree(db_url: str) -> None:
    from core.services.customer_profiles import count_customers, export_customers, list_customers
    from core.services.customers import find_or_create

    with db.transaction() as s:
        for i in range(N):
            find_or_create(s, name=f"顾客{i:02d}", phone=f"1390000{i:04d}")
    # names are encrypted in the tests: a name is found whole (tests/services/test_customer_names.py
    # searches parts of plain names)
    assert count_customers(SERVICE) == N and count_customers(SERVICE, "顾客07") == 1
    pages = [list_customers(SERVICE, limit=5, offset=offset) for offset in range(0, N, 5)]
    codes = [c for p in pages for c in p["code"]]
    assert len(codes) == len(set(codes)) == N and codes == sorted(codes)
    chunks: list[pd.DataFrame] = []
    assert export_customers(SERVICE, chunks.append, chunk_size=10) == N
    assert list(pd.concat(chunks)["code"]) == codes
