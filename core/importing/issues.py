"""Problems found while reading and checking an import, in a form every screen can explain.

An :class:`Issue` names the file, the spreadsheet row (header = row 1), the OMS field, the
source column and the offending value, plus a reason *code*. The text for a code lives in the
translation catalogs (``imp.reason.<code>``), so the page shows it in the user's language while
the CLI, the stored ``import_errors.message`` and logs use the English text of the same entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core import i18n
from core.errors import OMSError

SEVERITIES = ("error", "warning", "info")
ISSUE_COLUMNS = ["file", "row", "order", "field", "column", "value", "reason", "severity", "code", "detail"]


def reason_text(code: str, lang: str = "en", **params: Any) -> str:
    """The catalog text of reason ``code`` (``imp.reason.<code>``) in ``lang``."""
    return i18n.translate(f"imp.reason.{code}", lang, **params)


@dataclass(frozen=True)
class Issue:
    """One problem with one value of one row (``row`` None: about the whole file)."""

    code: str
    field: str
    file: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    detail: str = ""
    severity: str = "error"
    order: str | None = None

    def message(self, lang: str = "en") -> str:
        return reason_text(self.code, lang, value=self.value or "", detail=self.detail,
                           column=self.column or "", field=self.field)


def issues_frame(issues: list[Issue], lang: str = "en") -> pd.DataFrame:
    """The per-row report: one line per issue (reason in ``lang``), ordered by file and row."""
    frame = pd.DataFrame(
        [[i.file, i.row, i.order, i.field, i.column, i.value, i.message(lang), i.severity, i.code, i.detail]
         for i in issues],
        columns=ISSUE_COLUMNS,
    )
    frame["row"] = frame["row"].astype("Int64")
    return frame.sort_values(["file", "row", "field"], na_position="first", kind="stable").reset_index(drop=True)


class ImportFileError(OMSError):
    """The file as a whole cannot be imported (empty, unreadable, a required column missing…).

    ``key`` is the catalog entry for the reason, so the page shows it translated; ``str()`` is
    the English text for the CLI. Nothing has been written when this is raised. A ``code``
    with a dot is a whole catalog key (``hf.xlsx_bomb``: the read limits of
    :mod:`core.importing.limits`), any other is ``imp.file.<code>``.
    """

    def __init__(self, code: str, file: str, **params: Any) -> None:
        self.key = code if "." in code else f"imp.file.{code}"
        self.code = code
        params = {"file": file, **params}
        super().__init__(f"{file}: " + i18n.translate(self.key, "en", **params), **params)
