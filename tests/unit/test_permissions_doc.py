"""docs/permissions.md is the matrix the services enforce, and every screen guards itself with
the action the navigation registers it under."""

from __future__ import annotations

import re

from core.commands.security import APP_FILE, DOC_FILE, app_pages, with_matrix
from core.permissions import PERMISSIONS, SCOPES

SCOPE_ROW = re.compile(r"^\| `([a-z]+:[a-z]+)` \| ((?:`[a-z_.]+` ?)+) \|", re.M)
GUARD = re.compile(r"""guard_page\(\s*["']([a-z_.]+)["']\s*\)""")


def test_document_matches_the_code() -> None:
    document = DOC_FILE.read_text(encoding="utf-8")
    assert with_matrix(document) == document, "docs/permissions.md is stale: run `oms permissions --write`"


def test_every_screen_guards_itself_with_its_registered_action() -> None:
    pages = app_pages()
    assert len(pages) >= 6
    for path, _title, action in pages:
        assert action in PERMISSIONS, (path, action)
        guards = GUARD.findall((APP_FILE.parent / path).read_text(encoding="utf-8"))
        assert guards == [action], f"{path} must start with guard_page({action!r}), found {guards}"


def test_the_scopes_table_is_core_permissions_scopes() -> None:
    rows = {scope: frozenset(re.findall(r"`([a-z_.]+)`", actions))
            for scope, actions in SCOPE_ROW.findall(DOC_FILE.read_text(encoding="utf-8"))}
    assert rows == SCOPES
