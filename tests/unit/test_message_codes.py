"""Every refusal and stored message is a message code: each ``FieldIssue`` reason, ``Refused`` /
``<Error>.coded`` key and ``Message`` key written as a literal in core/, api/ and pages/ is a key
of both the zh and the en catalog, and no English sentence is passed where a code belongs (the
UI translates codes; nothing parses English back — issue #15 item 1).

Read with ``ast``, not by importing: a reason built at run time from a variable cannot be
checked here, but an f-string can — its literal parts must make a code that some catalog key
matches (``f"inv_issue.not_{verb}"``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for top in ("core", "api", "pages") for p in (ROOT / top).rglob("*.py"))
CODE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
KEYS = i18n.CATALOGS["zh"].keys() & i18n.CATALOGS["en"].keys()


def _code_argument(call: ast.Call) -> ast.expr | None:
    """The argument of ``call`` that must be a message code, or None for other calls."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    position = {"FieldIssue": 1, "Refused": 0, "coded": 0, "Message": 0}.get(name)
    if position is None:
        return None
    keyword = {"FieldIssue": "message", "Refused": "key", "coded": "key", "Message": "key"}[name]
    named = [k.value for k in call.keywords if k.arg == keyword]
    return call.args[position] if len(call.args) > position else named[0] if named else None


def _problems(node: ast.expr) -> list[str]:
    """Why the code expression ``node`` is not a catalogued code (empty when it is, or when it
    is computed at run time and cannot be judged here)."""
    if isinstance(node, ast.IfExp):
        return _problems(node.body) + _problems(node.orelse)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if not CODE.fullmatch(node.value):
            return [f"English text instead of a message code: {node.value!r}"]
        return [] if node.value in KEYS else [f"{node.value!r} is not a key of both the zh and the en catalog"]
    if isinstance(node, ast.JoinedStr):
        parts = [re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9_]+" for v in node.values]
        literal = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
        if not CODE.fullmatch(literal):
            return [f"English text instead of a message code: {ast.unparse(node)}"]
        pattern = re.compile("".join(parts))
        return [] if any(pattern.fullmatch(k) for k in KEYS) else [f"no catalog key matches {ast.unparse(node)}"]
    return []


def offences(source: str, where: str) -> list[str]:
    """``where:line: problem`` for every literal code in ``source`` that is not a catalog key."""
    return [f"{where}:{call.lineno}: {problem}"
            for call in ast.walk(ast.parse(source)) if isinstance(call, ast.Call)
            if (argument := _code_argument(call)) is not None
            for problem in _problems(argument)]


def test_every_literal_reason_and_key_is_a_catalog_code() -> None:
    found = [o for path in SOURCES for o in offences(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


@pytest.mark.parametrize(("snippet", "problem"), [
    ('FieldIssue("qty", "must be greater than 0")', "English text instead of a message code"),
    ('FieldIssue("qty", f"at most {n} characters", row)', "English text instead of a message code"),
    ('FieldIssue(field="qty", message="not a number")', "English text instead of a message code"),
    ('ValidationError([FieldIssue("x", "issue.no_such_code")])', "is not a key of both"),
    ('Refused("a.missing_key", number=n)', "is not a key of both"),
    ('Conflict.coded("stock changed, try again")', "English text instead of a message code"),
    ('Message("note.nope")', "is not a key of both"),
    ('FieldIssue("x", f"inv_issue.nope_{verb}")', "no catalog key matches"),
    ('FieldIssue("x", "issue.unknown_sku" if sku else "required")', "English text instead of a message code"),
])
def test_the_check_catches_english_and_unknown_codes(snippet: str, problem: str) -> None:
    assert [problem in o for o in offences(snippet, "snippet")] == [True]


def test_the_check_accepts_codes() -> None:
    assert offences('FieldIssue("qty", "issue.positive", row, qty)\n'
                    'FieldIssue("x", f"inv_issue.not_{verb}")\n'
                    'Refused("hold.none_open", number=n)\n'
                    'FieldIssue("x", code, params=p)\n'
                    'Message("note.rule", {"rule": name})', "snippet") == []
