"""Domain errors. Each carries a translation key and parameters so the UI can show it in the
user's language, and an English ``str()`` for the CLI and logs.

Refusals are message codes only: ``Refused("md.code_taken", code="SH")`` and
``FieldIssue("code", "issue.code_taken", params={"code": "SH"})``; the English text for logs
and the CLI comes from the ``en`` catalog, so no prose is written twice. What the system keeps
for people to read later (alerts, timeline notes) is a :class:`Message`, stored with
:func:`stored` as codes beside its English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self


def english(key: str, params: dict[str, Any] | None = None) -> str:
    """The ``en`` catalog's text for a message code (the code itself when it is not one)."""
    from core.i18n import translate  # lazy: the catalogs import nothing from here

    return translate(key, "en", **(params or {}))


@dataclass(frozen=True)
class Message:
    """A message the system keeps in the database (an alert, a timeline note) told by its code:
    stored as codes, translated when a page shows it, so a reader sees it in their language and
    nobody parses English back. ``params`` must be JSON values (numbers, strings)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def english(self) -> str:
        return english(self.key, self.params)


def stored(column: str, note: str | Message | Sequence[Message] | None) -> dict[str, Any]:
    """The values of a text ``column`` and its ``<column>_codes`` twin for ``note``: a person's
    own words are kept as they are (no codes); messages keep their codes and, in the text
    column, their English joined by "; " (logs, the CLI, a plain SQL reader)."""
    if note is None or isinstance(note, str):
        return {column: note, f"{column}_codes": None}
    messages = [note] if isinstance(note, Message) else list(note)
    if not messages:
        return {column: None, f"{column}_codes": None}
    return {column: "; ".join(m.english() for m in messages),
            f"{column}_codes": [{"key": m.key, "params": m.params} for m in messages]}


class OMSError(Exception):
    """Base of every expected failure: the action was refused and nothing was written."""

    key = "error.generic"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    @classmethod
    def coded(cls, key: str, **params: Any) -> Self:
        """This kind of refusal told by a message code: pages show ``key``'s text in the
        user's language, the CLI and logs its English (for the classes whose constructor takes
        a message: Busy, IllegalTransition, Conflict …)."""
        error = cls(english(key, params), **params)
        error.key = key
        return error


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one input field (``row`` is set for multi-row inputs such as lines)."""

    field: str
    message: str  # a message code ("issue.…", translated with ``params``; tests/unit/test_message_codes.py)
    row: int | None = None
    value: Any = None
    params: dict[str, Any] | None = None

    def english(self) -> str:
        return english(self.message, self.params)


class ValidationError(OMSError):
    key = "error.validation"

    def __init__(self, issues: list[FieldIssue]) -> None:
        self.issues = issues
        text = "; ".join(
            (f"line {i.row}: " if i.row is not None else "") + f"{i.field}: {i.english()}" for i in issues
        )
        super().__init__(f"invalid input: {text}")


@dataclass(frozen=True)
class Shortage:
    sku: str
    warehouse: str
    requested: int
    available: int


class InsufficientStock(OMSError):
    key = "error.insufficient_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = shortages
        text = "; ".join(
            f"{s.sku} @ {s.warehouse}: requested {s.requested}, available {s.available}" for s in shortages
        )
        super().__init__(f"not enough stock: {text}")


class Refused(OMSError):
    """An action refused for a reason that is only a message code with parameters."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        super().__init__(english(key, params), **params)


class NotFound(OMSError):
    key = "error.not_found"


class PermissionDenied(OMSError):
    key = "error.permission"


class IllegalTransition(OMSError):
    key = "error.transition"


class PackNotVerified(IllegalTransition):
    """Packing by hand was refused: the shop requires every unit to be scanned at the pack bench."""

    key = "error.pack_unverified"


class StaleVersion(OMSError):
    key = "error.stale"


class Conflict(OMSError):
    """A uniqueness rule would be broken (duplicate username, external ref, ...)."""

    key = "error.conflict"


class Busy(OMSError):
    """The database stayed locked past the busy timeout; the user can simply try again."""

    key = "error.busy"


class Unavailable(OMSError):
    """The database connection dropped mid-action (server restart, network, an administrator
    ending the session); the transaction was rolled back and the next attempt reconnects."""

    key = "error.db_unavailable"
