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
                           column=self.column or "", field=self.field, row=self.row or "")


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


# --- one line per root cause -----------------------------------------------------------------

# Codes whose value *is* the cause: every row with unknown SKU X has the same problem, and a
# second unknown SKU is a second problem. For the others (an unreadable date, a bad total) the
# values differ row by row while the cause — the column, the profile's format — is one.
VALUE_CAUSES = frozenset({"unknown_sku", "unknown_sku_stock", "discontinued", "unknown_value", "unmapped_status",
                          "skipped_status", "missing_lookup", "barcode_taken", "column_absent", "unused_file"})
GROUP_COLUMNS = ["severity", "code", "field", "column", "value", "detail", "reason", "count", "first_rows", "rows",
                 "examples", "file"]
SHOWN_ROWS = 5
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def _clean(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def group_issues(issues: pd.DataFrame, shown: int = SHOWN_ROWS) -> pd.DataFrame:
    """The report as one line per root cause (GROUP_COLUMNS): how many rows it hit, the first
    ``shown`` rows (``first_rows``: "3, 9, 17, …"), every row (``rows``, for the report file) and
    a few example values — instead of 1,204 lines saying the same thing. Errors first, then
    the most frequent. ``reason`` is the first issue's text (value-specific causes name it)."""
    if issues.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    frame = issues.copy()
    for c in ("field", "column", "value", "detail", "file"):
        frame[c] = frame[c].map(_clean)
    frame["_cause"] = [v if code in VALUE_CAUSES else "" for code, v in zip(frame["code"], frame["value"],
                                                                            strict=True)]
    out = []
    keys = ["severity", "code", "field", "column", "_cause"]
    for _, g in frame.groupby(keys, sort=False, dropna=False):
        rows = [int(r) for r in dict.fromkeys(g["row"].dropna())]
        first = g.iloc[0]
        listed = ", ".join(f"{r:,}" for r in rows[:shown]) + (", …" if len(rows) > shown else "")
        examples = [v for v in dict.fromkeys(g["value"]) if v][:3]
        out.append([first["severity"], first["code"], first["field"], first["column"], first["value"],
                    first["detail"], first["reason"], len(rows) or len(g), listed,
                    " ".join(str(r) for r in rows), ", ".join(examples), ", ".join(dict.fromkeys(g["file"]))])
    grouped = pd.DataFrame(out, columns=GROUP_COLUMNS)
    grouped["_rank"] = grouped["severity"].map(_RANK)
    return grouped.sort_values(["_rank", "count"], ascending=[True, False], kind="stable").drop(
        columns="_rank").reset_index(drop=True)


def group_line(g: pd.Series, lang: str = "en") -> str:
    """One root cause as one line: "unknown SKU X: 1,204 rows (rows 3, 9, 17, …)"."""
    where = i18n.translate("imh.group.rows", lang, n=f"{int(g['count']):,}", rows=g["first_rows"]) \
        if g["first_rows"] else i18n.translate("imh.group.file", lang, file=g["file"])
    field = f" · {g['field']}" + (f" [{g['column']}]" if g["column"] else "") if g["field"] else ""
    return f"{g['severity']:<7}{field}: {g['reason']} — {where}"
