"""Hostile files through the import service and ``oms import``: each refused with its own
message code in bounded time, nothing written but the failed batch record (with the code),
and the CLI exits 2 with a one-line reason naming the file and the limit. The per-row report
(``--report``) is written by the one export function: a failing value that looks like a
formula is neutralised there too."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from core import db
from core.cli import main
from core.importing.issues import ImportFileError
from core.models import ImportBatch
from tests import hostile_files as hf
from tests.factories import make_product
from tests.services.test_imports import GENERIC_HEADER, counts, run
from tests.services.test_imports import SourceFile as Source

HOSTILE: list[tuple[str, Callable[[], bytes], str]] = [
    ("bomb.xlsx", lambda: hf.zip_bomb(2000), "hf.xlsx_unzipped"),
    ("small-bomb.xlsx", lambda: hf.zip_bomb(60), "hf.xlsx_bomb"),
    ("entities.xlsx", hf.xlsx_with_entities, "hf.xlsx_dtd"),
    ("wide.csv", lambda: hf.wide_csv(100_000), "hf.too_many_columns"),
    ("field.csv", hf.long_field_csv, "hf.line_too_long"),
    ("letter.txt", lambda: hf.PROSE.encode(), "hf.no_delimiter"),
]


@pytest.mark.parametrize("name, build, code", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_file_is_refused_and_nothing_is_written(db_url: str, name: str, build: Callable[[], bytes],
                                                          code: str) -> None:
    before = counts()
    started = time.process_time()  # CPU time: a busy machine cannot fail the ceiling
    with pytest.raises(ImportFileError) as caught:
        run("orders", Source(name, build()))
    assert time.process_time() - started < 10
    assert caught.value.code == code
    assert counts() == before
    with db.transaction() as s:
        batch = s.execute(select(ImportBatch)).scalar_one()  # only the record of the failed attempt
        assert (batch.status, batch.stats["code"], batch.rows) == ("failed", code, 0)


def test_a_whitespace_aligned_pos_export_imports(db_url: str) -> None:
    """A POS "print to file" report, aligned with spaces, goes through the generic profile."""
    make_product("TEA-1", "25.00", {"SH": 50})
    report_text = (
        "external_ref  placed_at            status     customer_name  phone        sku     qty  unit_price\n"
        "P-1           2026-11-01 10:00:00  completed  王芳           13800138000  TEA-1     2       25.00\n"
        "P-2           2026-11-01 11:30:00  completed  Li Lei         13900139000  TEA-1     1       25.00\n"
    )
    report = run("orders", Source("pos.txt", report_text.encode("utf-8")))
    assert report.accepted == 2, report.issues.to_dict("records")


def test_cli_refuses_a_hostile_file_with_one_line(db_url: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(hf.wide_csv(100_000))
    assert main(["import", "orders", str(path), "--channel", "WECHAT"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "wide.csv: row 1 has 100000 columns, more than the limit of 1000" in err


def test_cli_report_neutralises_formulas_in_failing_values(db_url: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A failing value such as ``=1+1`` (here the quantity) is written to the report (one line
    per cause, the values as examples) as text that cannot run."""
    make_product("TEA-1", "25.00", {"SH": 50})
    bad = tmp_path / "bad.csv"
    row = 'E1,2026-11-01 10:00:00,completed,"张三\r=cmd|\' /C calc\'!A0",13800138000,上海市,上海市,浦东新区,世纪大道1号,' \
          'TEA-1,"=1+1",25.00'
    bad.write_bytes((GENERIC_HEADER + "\n" + row + "\n").encode("utf-8"))
    report = tmp_path / "report.csv"
    assert main(["import", "orders", str(bad), "--channel", "WECHAT", "--report", str(report)]) == 1
    capsys.readouterr()
    data = report.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    qty = next(r for r in rows if r["field"] == "qty")
    assert qty["code"] == "not_a_number" and "=1+1" in qty["examples"], qty
    for r in rows:
        for cell in r.values():
            assert not (cell or "").lstrip(" \t\r\n").startswith(("=", "+", "-", "@")) or cell.startswith("'"), r


def test_cli_refuses_a_huge_file_before_reading_it(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OMS_IMPORT_MAX_MB", "1")
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:  # sparse: 5 GB on paper, nothing on disk
        fh.truncate(5 * 1024**3)
    assert main(["import", "orders", str(path), "--channel", "WECHAT"]) == 2
    assert "huge.csv: file too large (5120.0 MB, limit 1 MB)" in capsys.readouterr().err
