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


def test_format_money_number_percent_date_and_time_per_language() -> None:
    import datetime as dt

    assert i18n.format_money(Decimal("1234.5"), "CNY") == "¥1,234.50"
    assert i18n.format_money(Decimal("1234.5"), "RMB", "zh") == "¥1,234.50"
    assert i18n.format_money(Decimal("-5"), "CNY") == "-¥5.00"
    assert i18n.format_money(Decimal("1234.5"), "CNY", "en") == "CN¥1,234.50"  # CLDR: the yuan named abroad
    assert i18n.format_money("0.005", "USD", "en") == "$0.01"  # half up, like the ledger
    assert i18n.format_money(Decimal("1234"), "JPY", "en") == "¥1,234"  # the yen has no decimals
    assert i18n.format_money(Decimal("1234"), "JPY", "zh") == "JP¥1,234"
    assert i18n.format_money(1, "CHF", "en") == "CHF1.00"
    assert i18n.format_money(None, "CNY") == ""
    assert i18n.format_number(12345.678, "zh", 1) == "12,345.7"
    assert i18n.format_percent(0.1234, "en") == "12.3%" and i18n.format_percent(0.5, "zh", 0) == "50%"
    assert i18n.format_date(dt.date(2026, 11, 25), "zh") == "2026年11月25日"
    assert i18n.format_date(dt.date(2026, 11, 25), "en") == "Nov 25, 2026"
    assert timeutil.format_time(dt.datetime(2026, 3, 10, 15, 59)) == "2026-03-10 23:59"  # UTC → Asia/Shanghai
    assert timeutil.format_time(None) == ""


def test_every_forecast_model_has_a_name_in_both_languages() -> None:
    for lang in i18n.LANGUAGES:
        assert [m for m in MODELS if not i18n.has_key(f"plan.model.{m}", lang)] == [], lang


def test_plural_entries_follow_each_languages_rule() -> None:
    assert i18n.translate("orders.found", "en", n=1) == "1 order found"
    assert i18n.translate("orders.found", "en", n=13748) == "13748 orders found"
    assert i18n.translate("orders.found", "en", n="13,748") == "13,748 orders found"  # passed formatted
    assert i18n.translate("orders.found", "en", n=0) == "0 orders found"
    assert i18n.translate("orders.found", "zh", n=1) == "找到 1 个订单"  # one form in Chinese
    assert i18n.translate("shop_settings.saved", "en", n=1) == "Saved 1 change."
    assert i18n.translate("orders.found", "en") == "{n} orders found"  # no count: the general form


def test_catalogs_are_gettext_files_with_each_languages_plural_rule() -> None:
    from babel.messages.pofile import read_po

    files = sorted(i18n.CATALOG_DIR.glob("*/LC_MESSAGES/*.po"))
    assert {f.parent.parent.name for f in files} == set(i18n.LANGUAGES)
    domains = {lang: {f.stem for f in files if f.parent.parent.name == lang} for lang in i18n.LANGUAGES}
    assert domains["zh"] == domains["en"]
    for path in files:
        lang = path.parent.parent.name
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=i18n.LOCALES[lang])
        assert catalog.num_plurals == (1 if lang == "zh" else 2), path
        plural_ids = {m.id[0] for m in catalog if isinstance(m.id, (tuple, list))}
        assert plural_ids == {k for k in i18n.PLURALS[lang] if k in catalog}, path
    assert set(i18n.PLURALS["zh"]) == set(i18n.PLURALS["en"])


# The calls whose argument at this position is a message code: pages' ``t``, services' refusals
# and field issues, notices (``Notice(kind, code)``) and direct look-ups.
_CODE_ARGS = {"t": 0, "translate": 0, "Refused": 0, "has_key": 0, "Notice": 1, "FieldIssue": 1}
_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")


def _literals(node: object) -> list[str]:
    """The string constants an argument can evaluate to (``"a.x" if c else "a.y"`` gives both)."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return [*_literals(node.body), *_literals(node.orelse)]
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _literals(value)]
    return []


def _extracted_codes() -> dict[str, set[str]]:
    """Every literal message code the code base passes to a translating call (the extraction
    step of a gettext workflow, on the syntax tree so conditional codes count too)."""
    import ast

    found: dict[str, set[str]] = {}
    for path in [*UI_FILES, *sorted((ROOT / "core").rglob("*.py")), *sorted((ROOT / "api").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            position = _CODE_ARGS.get(name or "")
            if position is None:
                continue
            args = [*node.args, *(k.value for k in node.keywords if k.arg in ("key", "message", "reason"))]
            if len(node.args) > position:
                args = [node.args[position]]
            for code in (text for arg in args for text in _literals(arg)):
                if _CODE.fullmatch(code):
                    found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_extracted_code_is_in_both_catalogs() -> None:
    found = _extracted_codes()
    assert len(found) > 1000, "the extractor should find the code base's codes"
    for lang in i18n.LANGUAGES:
        missing = {code: sorted(where) for code, where in found.items()
                   if code.split(".", 1)[0] in NAMESPACES and not i18n.has_key(code, lang)}
        assert missing == {}, lang


# Streamlit calls that put their first argument (or label/help/placeholder) on screen.
_SHOWN = {"title", "header", "subheader", "caption", "markdown", "write", "info", "warning", "error", "success",
          "button", "text_input", "number_input", "selectbox", "multiselect", "checkbox", "radio", "text_area",
          "date_input", "metric", "download_button", "form_submit_button", "toggle", "expander", "tabs", "slider",
          "select_slider", "file_uploader", "toast", "page_link", "popover", "link_button", "time_input"}
_PROSE = re.compile(r"[A-Za-z]{2,}[ ,;:]+[A-Za-z]{2,}|[\u4e00-\u9fff]")


def test_no_user_facing_literal_outside_the_catalogs() -> None:
    """A page writes words only through message codes: a literal shown by Streamlit may hold
    data-shaped examples (``SF\\d{12}``, ``CUP 2``) but no English phrase and no Chinese."""
    import ast

    offenders = []
    for path in UI_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SHOWN):
                continue
            shown = [*node.args[:1], *(k.value for k in node.keywords if k.arg in ("label", "help", "placeholder"))]
            for arg in shown:
                text = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else "".join(
                    v.value for v in getattr(arg, "values", ()) if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if _PROSE.search(text):
                    offenders.append(f"{path.name}:{node.lineno}: {text[:50]!r}")
    assert offenders == []
