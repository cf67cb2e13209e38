"""Customers' names encrypted at rest by the shop's setting (core.services.customer_names).

The tests run with the setting on (the demo shop's, ``data.demo_reference``): names are
ciphertext at rest, found whole through ``name_bidx``, shown decrypted. Switching the setting
off and on again converts the stored names in a job (a real worker in one test), resumably; a
rotation re-encrypts encrypted names and leaves plain ones plain. SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select, text, update

from core import db, refdata
from core.errors import PermissionDenied, Refused, ValidationError
from core.models import AuditLog, Customer, Setting
from core.services import customer_names, customer_profiles, customers, data_keys
from core.services.aftersales import RMALine, RMARequest, open_rma
from core.services.orders import create_order, search_orders, transition
from core.services.rma_views import list_rmas
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan
from tests.jobs_support import running_worker, wait_for

NAMES = ("Zhang San", "欧阳娜娜", "李雷", "韩梅梅", "Li Lei")


def _raw_names() -> dict[str, str]:
    """code → the name as stored (no decryption)."""
    with db.transaction(readonly=True) as s:
        return {code: name for code, name in s.execute(text("SELECT code, name FROM customers ORDER BY code"))}


def _order(name: str, i: int) -> Any:
    return create_order(order_input(("A", 1), customer_name=name, phone=f"1391111{i:04d}"), CLERK)


@pytest.fixture
def shop(db_url: str) -> list[Any]:
    make_product("A", "10.00", {"SH": 100})
    return [_order(name, i) for i, name in enumerate(NAMES)]


def _audits(action: str) -> int:
    with db.transaction(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)) or 0)


def test_names_are_ciphertext_at_rest_found_whole_and_shown_decrypted(shop: list[Any]) -> None:
    stored = _raw_names()
    assert len(stored) == len(NAMES)
    assert all(v.startswith("enc:1:k1:") for v in stored.values()), stored
    assert not any(name in v for v in stored.values() for name in NAMES)
    # found whole however it is spaced or cased (NFKC, case-folded), not by a part
    for typed in ("Zhang San", "  zhang   SAN ", "Ｚｈａｎｇ Ｓａｎ"):
        assert customers.search_customers(typed, SERVICE)["name"].tolist() == ["Zhang San"]
    assert customers.search_customers("Zhang", SERVICE).empty
    assert customer_profiles.list_customers(SERVICE, "欧阳娜娜")["name"].tolist() == ["欧阳娜娜"]
    assert customer_profiles.list_customers(SERVICE, "欧阳").empty
    assert search_orders(SERVICE, "李雷")["customer"].tolist() == ["李雷"]  # not "Li Lei"
    # shown decrypted everywhere a name is read
    assert sorted(customer_profiles.list_customers(SERVICE)["name"]) == sorted(NAMES)
    assert customer_profiles.customer_profile(shop[1].customer_id, SERVICE).name == "欧阳娜娜"
    pack_by_scan(shop[3].id)
    transition(shop[3].id, "shipped", ADMIN, carrier="顺丰", tracking_no="SF0000000009")
    transition(shop[3].id, "delivered", ADMIN)
    open_rma(RMARequest(shop[3].id, "return", "size", (RMALine(1, 1),)), SERVICE)
    assert list_rmas(SERVICE, query="韩梅梅")["customer"].tolist() == ["韩梅梅"]


def test_exports_carry_decrypted_names_only_for_roles_allowed(shop: list[Any]) -> None:
    chunks: list[pd.DataFrame] = []
    assert customer_profiles.export_customers(SERVICE, chunks.append) == len(NAMES)
    assert sorted(pd.concat(chunks)["name"]) == sorted(NAMES)
    for role in (WAREHOUSE,):  # no customer.view: no export at all
        with pytest.raises(PermissionDenied):
            customer_profiles.export_customers(role, chunks.append)


def test_an_edited_name_is_sealed_and_found_by_its_new_name(shop: list[Any]) -> None:
    cid = shop[0].customer_id
    profile = customer_profiles.customer_profile(cid, SERVICE)
    edit = customer_profiles.CustomerEdit(name="张三丰", phone=profile.phone, email=profile.email,
                                          province=profile.province, city=profile.city, district=profile.district,
                                          address=profile.address, tier=profile.tier, tags=list(profile.tags))
    customer_profiles.update_customer(cid, edit, SERVICE)
    assert _raw_names()[profile.code].startswith("enc:1:")
    assert customers.search_customers("张三丰", SERVICE)["code"].tolist() == [profile.code]
    assert customers.search_customers("Zhang San", SERVICE).empty


def test_switching_off_then_on_round_trips_through_the_worker(shop: list[Any]) -> None:
    before = _raw_names()
    with pytest.raises(PermissionDenied):
        customer_names.switch_names(False, MANAGER)  # admin only
    with pytest.raises(ValidationError):
        customer_names.switch_names("no", ADMIN)  # type: ignore[arg-type]
    assert customer_names.switch_names(True, ADMIN) is None  # already on: no job
    job_id = customer_names.switch_names(False, ADMIN)
    assert job_id is not None
    with pytest.raises(Refused) as busy:  # one conversion at a time
        customer_names.switch_names(True, ADMIN)
    assert busy.value.key == "job.already_active"
    with running_worker():
        done = wait_for(job_id)
    assert done.status == "succeeded", done.error_detail
    assert done.result == {"encrypt": False, "rewritten": len(NAMES), "verified": len(NAMES)}
    plain = _raw_names()
    assert sorted(plain.values()) == sorted(NAMES)
    # plain names: a part of a name finds it again, the whole name still does
    assert customers.search_customers("Zhang", SERVICE)["name"].tolist() == ["Zhang San"]
    assert search_orders(SERVICE, "欧阳")["customer"].tolist() == ["欧阳娜娜"]
    assert customers.search_customers("zhang san", SERVICE)["name"].tolist() == ["Zhang San"]
    # a new customer now is written plain at once (this process saw its own switch)
    _order("王小明", 99)
    assert _raw_names()[max(_raw_names())] == "王小明"
    state = customer_names.names_state(ADMIN)
    assert (state.encrypt, state.plain, state.sealed, state.job and state.job.id) == (False, 6, 0, job_id)
    job_id = customer_names.switch_names(True, ADMIN)
    assert job_id is not None
    with running_worker():
        assert wait_for(job_id).status == "succeeded"
    again = _raw_names()
    assert all(v.startswith("enc:1:k1:") for v in again.values())
    assert all(again[code] != before[code] for code in before)  # fresh nonces
    assert sorted(customer_profiles.list_customers(SERVICE)["name"]) == sorted([*NAMES, "王小明"])
    assert customers.search_customers("王小明", SERVICE)["name"].tolist() == ["王小明"]
    assert _audits("names.encryption") == 2 and _audits("names.convert") == 2


class _Killed(Exception):
    """Stands for the worker dying between two batches."""


def test_a_killed_conversion_resumes_where_it_stopped(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 100})
    with db.transaction() as s:  # 23 customers, written while names were plain
        s.execute(update(Setting).where(Setting.key == "customer_names").values(value={"encrypt": False}))
        s.execute(text("INSERT INTO customers (code, name, tier, tags, created_at) VALUES "
                       "(:c, :n, 'normal', '[]', '2026-01-01 00:00:00')"),
                  [{"c": f"C{i:07d}", "n": f"顾客{i:02d}"} for i in range(23)])
        s.execute(update(Setting).where(Setting.key == "customer_names").values(value={"encrypt": True}))
    batches: list[int] = []

    def die_after_two(last_id: int, _top: int) -> None:
        batches.append(last_id)
        if len(batches) == 2:
            raise _Killed

    with pytest.raises(_Killed):
        customer_names.convert_names(ADMIN, batch=5, progress=die_after_two)
    stored = _raw_names()
    assert sum(v.startswith("enc:") for v in stored.values()) == 10  # two batches committed
    # half-way: every screen still reads every name
    assert sorted(customer_profiles.list_customers(SERVICE)["name"]) == [f"顾客{i:02d}" for i in range(23)]
    with db.transaction(readonly=True) as s:
        position = s.get(Setting, customer_names.PASS_KEY)
        assert position is not None and position.value == {"encrypt": True, "after": batches[-1]}
    again: list[int] = []
    resumed = customer_names.convert_names(ADMIN, batch=5, progress=lambda last_id, _top: again.append(last_id))
    assert again[0] == batches[-1] + 5  # it carried on after the last batch committed
    assert (resumed.rewritten, resumed.verified) == (13, 23)  # only what was left
    assert all(v.startswith("enc:1:k1:") for v in _raw_names().values())
    assert customers.search_customers("顾客07", SERVICE)["name"].tolist() == ["顾客07"]


def test_a_ciphertext_never_matches_a_partial_search(shop: list[Any]) -> None:
    """Switched off, before its job has run: the names are still ciphertext, and searching for
    a piece of ciphertext finds none of them; the whole name is still found by its index."""
    with db.transaction() as s:
        s.execute(update(Setting).where(Setting.key == "customer_names").values(value={"encrypt": False}))
        refdata.bump(s)
    for typed in ("enc:1:k1", "enc", "k1:"):
        assert customers.search_customers(typed, SERVICE).empty, typed
        assert customer_profiles.count_customers(SERVICE, typed) == 0
    assert customers.search_customers("Li Lei", SERVICE)["name"].tolist() == ["Li Lei"]


def test_a_name_written_without_its_index_fails_the_verification(shop: list[Any]) -> None:
    with db.transaction() as s:  # a writer that forgot with_indexes: encrypted, but not findable
        s.execute(update(Customer).where(Customer.id == shop[0].customer_id).values(name="另一个名字"))
    with pytest.raises(Refused) as refused:
        customer_names.convert_names(ADMIN)
    assert refused.value.key == "names.pass_incomplete" and refused.value.params == {"rows": 1}



def test_a_rotation_re_encrypts_encrypted_names_and_leaves_plain_ones_plain(key_file: Path) -> None:
    make_product("A", "10.00", {"SH": 100})
    _order("Zhang San", 1)
    with db.transaction() as s:  # one name still plain (the conversion job has not reached it)
        s.execute(text("INSERT INTO customers (code, name, tier, tags, created_at) VALUES "
                       "('C9999999', '老名字', 'normal', '[]', '2026-01-01 00:00:00')"))
    result = data_keys.rotate_keys(ADMIN, batch=1)
    assert result.kid == "k2"
    stored = _raw_names()
    assert stored["C9999999"] == "老名字"
    assert [v for c, v in stored.items() if c != "C9999999"][0].startswith("enc:1:k2:")
    assert customers.search_customers("zhang san", SERVICE)["name"].tolist() == ["Zhang San"]
