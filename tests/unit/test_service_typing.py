"""mypy sees a service's ``session=`` keyword and checks it like any other argument.

``mypy_plugins/service_session.py`` adds the keyword to ``core.db.Service``; without it mypy
would either reject every ``session=outer`` or (with a looser annotation) let ``session=1``
through. This runs mypy with the project's settings on a small file of calls, right and wrong.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CALLS = textwrap.dedent("""\
    from sqlalchemy.orm import Session

    from core.db import read_only, unit_of_work


    @unit_of_work
    def transition(session: Session, order_id: int, to: str, *, note: str | None = None) -> str:
        return to


    @read_only
    def count(session: Session) -> int:
        return 0


    def caller(outer: Session) -> None:
        transition(1, "confirmed", note="ok")
        transition(1, "confirmed", note="ok", session=outer)
        count(session=outer)
        count(session=None)
        transition(1, "confirmed", session=1)  # line 21
        transition(1, "confirmed", sesion=outer)  # line 22
        transition("1", "confirmed")  # line 23
        count(outer)  # line 24
""")


def test_session_keyword_is_checked_like_any_argument(tmp_path: Path) -> None:
    calls = tmp_path / "calls.py"
    calls.write_text(CALLS, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", str(calls)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    errors = [line.removeprefix(f"{calls}:") for line in run.stdout.splitlines() if ": error: " in line]
    assert errors == [
        '21: error: Argument "session" to "__call__" of "Service" has incompatible type "int"; '
        'expected "Session | None"  [arg-type]',
        '22: error: Unexpected keyword argument "sesion" for "__call__" of "Service"; did you mean "session"?  '
        '[call-arg]',
        '23: error: Argument 1 to "__call__" of "Service" has incompatible type "str"; expected "int"  [arg-type]',
        '24: error: Too many positional arguments for "__call__" of "Service"  [call-arg]',
    ], run.stdout + run.stderr
