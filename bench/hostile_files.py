"""How fast, and in how much memory, hostile uploads are refused by the import reader.

Each case runs in its own child process (so its peak memory is its own): the file is built in
memory (``tests/hostile_files.py``), then ``read_table`` is timed until it refuses. Figures per
case: ``seconds`` (wall time of the read), ``peak_rss_mb`` (the child's peak resident memory,
file and interpreter included), ``growth_mb`` (peak minus the memory before the read) and the
message ``code``. ``--repo PATH`` reads with another checkout's ``core`` (e.g. the code before
the limits), each case cut off after ``--timeout`` seconds. Prints one JSON line.

    python bench/hostile_files.py [--repo PATH] [--timeout 120] [--cases bomb_5mb,wide_100k]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cases() -> dict[str, tuple[str, Callable[[], bytes]]]:
    from tests import hostile_files as hf

    return {
        "bomb_5mb": ("bomb.xlsx", lambda: hf.zip_bomb(2000)),          # ~5 MB → ~2 GB of rows
        "bomb_1mb": ("bomb.xlsx", lambda: hf.zip_bomb(500)),           # ~1.3 MB → 500 MB of rows
        "bomb_150kb": ("bomb.xlsx", lambda: hf.zip_bomb(60)),          # 60 MB of rows
        "xlsx_entities": ("entities.xlsx", hf.xlsx_with_entities),
        "wide_100k": ("wide.csv", lambda: hf.wide_csv(100_000)),
        "wide_1m": ("wide.csv", lambda: hf.wide_csv(1_000_000)),
        "field_5mb": ("field.csv", hf.long_field_csv),
        "field_5mb_lines": ("field.csv", lambda: hf.long_field_csv(quoted_lines=True)),
        "no_delimiter": ("letter.txt", lambda: hf.PROSE.encode()),
    }


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1048576


def _child(case: str, repo: Path) -> None:
    """Run one case in this process and print its figures (one JSON line)."""
    sys.path.insert(0, str(ROOT))
    name, build = _cases()[case]
    data = build()
    sys.path.insert(0, str(repo))  # the checkout whose reader is measured
    from core.importing.reader import SourceFile, read_table

    before = _rss_mb()
    started = time.perf_counter()
    try:
        read_table(SourceFile(name, data))
        code = "read"
    except Exception as exc:  # noqa: BLE001 - the figure is what happened, whatever it was
        code = getattr(exc, "code", type(exc).__name__)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"file_mb": round(len(data) / 1048576, 2), "seconds": round(seconds, 3),
                      "peak_rss_mb": round(peak), "growth_mb": round(max(peak - before, 0)), "code": code}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(ROOT), help="checkout whose core.importing.reader is measured")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a case is cut off")
    parser.add_argument("--cases", help="comma-separated subset of the cases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, Path(args.repo))
        return
    sys.path.insert(0, str(ROOT))
    names = args.cases.split(",") if args.cases else list(_cases())
    figures: dict[str, object] = {"repo": args.repo}
    for case in names:
        try:
            done = subprocess.run([sys.executable, __file__, "--child", case, "--repo", args.repo],
                                  capture_output=True, text=True, timeout=args.timeout, cwd=ROOT)
            lines = done.stdout.strip().splitlines()
            figures[case] = json.loads(lines[-1]) if lines else {"error": done.stderr.strip()[-300:]}
        except subprocess.TimeoutExpired:
            figures[case] = {"seconds": f">{args.timeout:g}", "code": "still running: killed"}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
