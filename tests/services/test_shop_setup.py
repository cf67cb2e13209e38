"""An empty install is empty; ``oms setup`` and the setup service describe a new shop,
idempotently, all or nothing; the stored profile wins over the environment's defaults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from core import config, db, refdata
from core.cli import main
from core.errors import PermissionDenied, ValidationError
from core.models import AuditLog, Channel, Product, Rule, Sequence, Setting, Supplier, Warehouse
from core.services.shop_setup import SetupRequest, needs_setup, parse_spec, set_up_shop, shop_profile
from core.timeutil import local_today, shop_tz
from tests.conftest import BACKEND, PG_ADMIN_URL
from tests.factories import ADMIN, MANAGER


def _counts(*models: type) -> dict[str, int]:
    with db.transaction() as s:
        return {m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one() for m in models}


@pytest.fixture
def empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database nothing has touched yet (not even migrated), as DATABASE_URL."""
    db.dispose_all()
    refdata.clear_cache()
    admin = None
    if BACKEND == "postgres":
        name = f"oms_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path}/empty.db"
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    db.dispose_all()
    refdata.clear_cache()
    if admin is not None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_init_on_an_empty_database_creates_nothing_the_shop_did_not_define(
        empty_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    assert main(["init"]) == 0  # an upgrade run adds nothing either
    assert "describe it with: oms setup" in capsys.readouterr().out
    assert _counts(Warehouse, Channel, Supplier, Product, Rule) == {
        "warehouses": 0, "channels": 0, "suppliers": 0, "products": 0, "rules": 0}
    with db.transaction() as s:
        assert set(s.execute(select(Sequence.name)).scalars()) >= {"SO", "RMA", "PO", "CUST", "REF"}
        assert "fulfilment_sla" in set(s.execute(select(Setting.key)).scalars())
    assert needs_setup()


def test_setup_from_the_command_line_then_again(empty_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    capsys.readouterr()
    args = ["setup", "--shop-name", "西湖小馆", "--timezone", "Asia/Shanghai", "--currency", "cny", "--language", "en",
            "--warehouse", "hz:杭州门店", "--channel", "POS:门店收银:store", "--channel", "DY:抖音: 小店:social"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert "created warehouse HZ" in out and "created channel DY" in out and "Currency: CNY" in out
    assert main(args) == 0  # idempotent: nothing created twice
    assert capsys.readouterr().out.splitlines() == [
        "Nothing needed changing.", "warehouse HZ exists, unchanged", "channel POS exists, unchanged",
        "channel DY exists, unchanged"]
    assert main(["setup", "--warehouse", "HZ:杭州西湖店"]) == 0
    assert capsys.readouterr().out.strip() == "renamed warehouse HZ: 杭州门店 → 杭州西湖店"
    assert _counts(Warehouse, Channel) == {"warehouses": 1, "channels": 2}
    with db.transaction() as s:
        assert s.execute(select(Channel.name).where(Channel.code == "DY")).scalar_one() == "抖音: 小店"
    assert not needs_setup()


@pytest.mark.parametrize(("args", "reason"), [
    (["--timezone", "Mars/Olympus"], "timezone: Mars/Olympus is not a timezone name"),
    (["--currency", "RMD"], "currency: RMD is not an ISO currency code"),
    (["--language", "fr"], "language: must be one of: zh, en"),
    (["--shop-name", " "], "shop_name: required"),
    (["--warehouse", "HZ"], "line 1: warehouse: write it as CODE:NAME (got HZ)"),
    (["--channel", "DY:抖音"], "line 1: channel: write it as CODE:NAME:KIND (got DY:抖音)"),
    (["--channel", "DY:抖音:tv"], "line 1: channel_kind: must be one of"),
    (["--warehouse", "H Z:杭州"], "line 1: warehouse_code: code H Z may only hold letters"),
    (["--warehouse", "HZ:杭州", "--warehouse", "hz:杭州二店"], "line 2: warehouse_code: code HZ is given twice"),
])
def test_bad_setup_input_exits_with_one_line_and_writes_nothing(
        empty_database: str, capsys: pytest.CaptureFixture[str], args: list[str], reason: str) -> None:
    assert main(["init"]) == 0
    capsys.readouterr()
    # a good warehouse and name beside the bad value: all or nothing
    assert main(["setup", "--shop-name", "西湖小馆", *args, "--warehouse", "OK:好仓"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and reason in err, err
    assert _counts(Warehouse, Channel) == {"warehouses": 0, "channels": 0}
    with db.transaction() as s:
        assert s.get(Setting, refdata.SHOP_KEY) is None
        assert s.execute(select(AuditLog.id)).first() is None


def test_the_stored_profile_wins_over_the_environment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_TZ", "Asia/Shanghai")
    monkeypatch.setenv("OMS_CURRENCY", "CNY")
    monkeypatch.setenv("OMS_LANG", "zh")
    assert (config.shop_timezone(), config.currency(), config.default_language()) == ("Asia/Shanghai", "CNY", "zh")
    profile = shop_profile(ADMIN)
    assert (profile.timezone, profile.stored) == ("Asia/Shanghai", ())
    result = set_up_shop(SetupRequest(shop_name="Kiwi Deli", timezone="Pacific/Auckland", currency="nzd",
                                      language="EN"), ADMIN)
    assert result.profile == {"shop_name": (None, "Kiwi Deli"), "timezone": (None, "Pacific/Auckland"),
                              "currency": (None, "NZD"), "language": (None, "en")}
    # in force at once in this process (the commit forgot the cached profile) …
    assert (config.shop_timezone(), config.currency(), config.default_language()) == ("Pacific/Auckland", "NZD", "en")
    assert str(shop_tz()) == "Pacific/Auckland"
    assert local_today().isoformat() == "2026-11-25"  # 04:00 UTC is 17:00 in Auckland, same day
    with db.transaction() as s:
        entry = s.execute(select(AuditLog).where(AuditLog.action == "shop.setup")).scalar_one()
    assert entry.after["timezone"] == "Pacific/Auckland"
    # … and the environment is only the default
    monkeypatch.setenv("OMS_TZ", "Europe/Berlin")
    assert config.shop_timezone() == "Pacific/Auckland"
    assert shop_profile(ADMIN).stored == ("shop_name", "timezone", "currency", "language")


def test_setup_refusals(db_url: str) -> None:
    with pytest.raises(PermissionDenied):
        set_up_shop(SetupRequest(shop_name="x"), MANAGER)  # the shop's profile is the admin's
    with pytest.raises(ValidationError) as err:
        set_up_shop(SetupRequest(timezone="Asia/Hangzhou", warehouses=(("HZ", ""),),
                                 channels=(("", "抖音", "social"),)), ADMIN)
    assert [(i.field, i.row, i.message) for i in err.value.issues] == [
        ("timezone", None, "setup.issue_timezone"), ("warehouse_name", 1, "issue.required"),
        ("channel_code", 1, "issue.required")]
    assert _counts(Warehouse, Channel) == {"warehouses": 4, "channels": 7}


def test_parse_spec_keeps_colons_in_names() -> None:
    assert parse_spec("HZ:杭州:西湖店", False, "warehouse", 1) == ("HZ", "杭州:西湖店")
    assert parse_spec(" DY : 抖音:小店 : social ", True, "channel", 1) == ("DY", "抖音:小店", "social")
    with pytest.raises(ValidationError):
        parse_spec("HZ:", False, "warehouse", 1)


def test_master_data_commands(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["warehouses", "add", "hz", "--name", "杭州门店", "--province", "浙江", "--store"]) == 0
    assert main(["warehouses", "update", "HZ", "--city", "杭州"]) == 0  # left-out options keep their value
    assert capsys.readouterr().out.splitlines() == ["Created HZ.", "Saved HZ. city:  → 杭州"]
    with db.transaction() as s:
        row = s.execute(select(Warehouse).where(Warehouse.code == "HZ")).scalar_one()
        assert (row.name, row.region, row.city, row.is_store) == ("杭州门店", "华东", "杭州", True)
    assert main(["warehouses", "add", "HZ", "--name", "again"]) == 2
    assert "code: code HZ is already in use" in capsys.readouterr().err
    assert main(["warehouses", "deactivate", "SH"]) == 2
    assert capsys.readouterr().err.strip() == ('oms: Warehouse SH cannot be deactivated: the active allocation rule '
                                               '"华东 → 上海仓" sends orders there. Change or deactivate that rule first.')
    assert main(["channels", "add", "KS", "--name", "快手", "--kind", "social", "--return-window", "x"]) == 2
    assert "return_window_days: must be a whole number" in capsys.readouterr().err
    assert main(["channels", "deactivate", "groupbuy"]) == 0
    assert main(["suppliers", "add", "西湖茶厂", "--lead-time", "10", "--moq", "24"]) == 0
    assert main(["suppliers", "update", "西湖茶厂", "--new-name", "西湖茶业"]) == 0
    capsys.readouterr()
    assert main(["suppliers", "list"]) == 0
    listed = capsys.readouterr().out
    assert "西湖茶业" in listed and "24" in listed
    assert main(["suppliers", "delete", "西湖茶业"]) == 0
    assert main(["suppliers", "delete", "nobody"]) == 2
    assert _counts(Supplier, Channel) == {"suppliers": 0, "channels": 7}


def test_no_database_yet_means_the_environment_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the profile never creates a database file (unit tests, a fresh checkout)."""
    target = tmp_path / "not-yet.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    monkeypatch.setenv("OMS_TZ", "Europe/Lisbon")
    refdata.clear_cache()
    assert config.shop_timezone() == "Europe/Lisbon"
    assert not target.exists()
