"""The zh and en catalogs cover the same keys, every key the UI uses, and every code the
database can hold; translation and formatting behave at the edges."""

from __future__ import annotations

import importlib
import pkgutil
import re
from decimal import Decimal
from pathlib import Path

import pytest

from core import i18n, locales, timeutil
from core.errors import Message, stored
from core.permissions import ROLES
from core.services.master_data import CHANNEL_KINDS
from core.services.orders import DELIVERY_METHODS, PAYMENT_METHODS, PAYMENT_STATUSES, STATUSES
from forecasting.models import MODELS

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
T_CALL = re.compile(r"""\bt\(\s*["']([^"']+)["']""")
NAMESPACES = {key.split(".", 1)[0] for key in i18n.ZH}
KEY_LITERAL = re.compile(r"""["']([a-z_]+\.[a-z0-9_]+)["']""")


def test_catalogs_have_the_same_keys() -> None:
    assert set(i18n.ZH) - set(i18n.EN) == set()
    assert set(i18n.EN) - set(i18n.ZH) == set()


def test_placeholders_match_between_languages() -> None:
    fields = re.compile(r"{(\w+)}")
    for key, zh in i18n.ZH.items():
        assert set(fields.findall(zh)) == set(fields.findall(i18n.EN[key])), key


def test_every_t_literal_in_the_ui_exists() -> None:
    used = {key for path in UI_FILES for key in T_CALL.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 50, "the regex should find the UI's keys"
    for lang in i18n.LANGUAGES:
        assert sorted(k for k in used if not i18n.has_key(k, lang)) == [], lang


def test_every_key_like_literal_in_the_ui_exists() -> None:
    """Keys passed around before translation (Notice(...), the page table in app.py)."""
    used = {
        key for path in UI_FILES for key in KEY_LITERAL.findall(path.read_text(encoding="utf-8"))
        if key.split(".", 1)[0] in NAMESPACES
    }
    assert sorted(k for k in used if k not in i18n.ZH) == []


@pytest.mark.parametrize(("prefix", "codes"), [
    ("status", STATUSES), ("payment", PAYMENT_METHODS), ("payment_status", PAYMENT_STATUSES),
    ("delivery", DELIVERY_METHODS), ("role", ROLES), ("kind", CHANNEL_KINDS),
    ("period", ("current", "previous")),
])
def test_every_code_has_a_name(prefix: str, codes: tuple[str, ...]) -> None:
    for lang in i18n.LANGUAGES:
        assert [c for c in codes if not i18n.has_key(f"{prefix}.{c}", lang)] == []


def test_error_keys_exist() -> None:
    from core import errors

    keys = {cls.key for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.OMSError)}
    assert keys <= set(i18n.ZH) and keys <= set(i18n.EN)


def test_translate() -> None:
    assert i18n.translate("status.confirmed", "zh") == "已确认"
    assert i18n.translate("status.confirmed", "en") == "Confirmed"
    assert i18n.translate("no.such_key", "en") == "no.such_key"
    assert i18n.translate("error.line", "en", row=3) == "Line 3"
    assert i18n.translate("error.line", "en") == "Line {row}"  # a missing parameter never raises
    assert i18n.translate("status.confirmed", "fr") == "已确认"  # unknown language → zh
    assert i18n.label("status", "weird", "en") == "weird"
    assert i18n.label("status", None, "en") == ""


def test_no_english_is_parsed_back() -> None:
    """Reasons are codes: the regex back-translation of English reasons is gone for good."""
    assert not hasattr(i18n, "translate_reason")
    assert all(not hasattr(importlib.import_module(f"core.locales.{m.name}"), "REASONS")
               for m in pkgutil.iter_modules(locales.__path__))


def test_a_parameter_may_be_called_key() -> None:
    assert i18n.translate("prof.issue_unknown_key", "en", key="colour") == "unknown key colour"


def test_stored_messages_are_translated_when_shown() -> None:
    """Alerts and timeline notes keep codes (core.errors.stored); rows from before keep their text."""
    values = stored("note", [Message("note.rule", {"rule": "VIP"}),
                             Message("note.intercepted", {"reason": {"key": "hold_reason.other"}})])
    assert values["note"] == "rule: VIP; intercepted: Other"
    assert i18n.stored_text(values["note_codes"], values["note"], "zh") == "规则：VIP; 已拦截：其他"
    assert i18n.stored_text(None, "an old English note", "zh") == "an old English note"
    assert stored("note", "the clerk's own words") == {"note": "the clerk's own words", "note_codes": None}
    assert stored("note", []) == {"note": None, "note_codes": None}


def test_format_money_and_time() -> None:
    import datetime as dt

    assert i18n.format_money(Decimal("1234.5"), "CNY") == "¥1,234.50"
    assert i18n.format_money(Decimal("-5"), "CNY") == "-¥5.00"
    assert i18n.format_money("0.005", "USD") == "$0.01"
    assert i18n.format_money(1, "CHF") == "CHF 1.00"
    assert i18n.format_money(None, "CNY") == ""
    assert timeutil.format_time(dt.datetime(2026, 3, 10, 15, 59)) == "2026-03-10 23:59"  # UTC → Asia/Shanghai
    assert timeutil.format_time(None) == ""


def test_every_forecast_model_has_a_name_in_both_languages() -> None:
    for lang in i18n.LANGUAGES:
        assert [m for m in MODELS if not i18n.has_key(f"plan.model.{m}", lang)] == [], lang
