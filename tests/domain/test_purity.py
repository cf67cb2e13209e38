"""The domain and its tests stay pure: what importing them loads — followed through every
first-party module they import at load time — includes no SQLAlchemy, no database module, no
service and no UI. That is why these tests need no database (and CI's import-linter contract
says the same for ``core.domain``; this test also covers the tests themselves).

Read from the source, not by importing, so it costs milliseconds: imports inside functions
(``core.errors.english`` reaching the catalogs lazily) run only when called, and are skipped.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("sqlalchemy", "core.db", "core.models", "core.services", "core.refdata", "core.analytics",
             "streamlit", "pages")


def _source(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _imported_at_load(path: Path) -> set[str]:
    """Modules a file imports when it is loaded (module level, including under if/try/with),
    with their parent packages; ``from a import b`` also names ``a.b`` in case b is a module."""
    found: set[str] = set()
    pending: list[ast.stmt] = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.If | ast.Try | ast.With):
            pending += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
            pending += [s for handler in getattr(node, "handlers", []) for s in handler.body]
    return {".".join(name.split(".")[:i]) for name in found for i in range(1, name.count(".") + 2)}


def _loaded_by(files: list[Path]) -> set[str]:
    seen: set[str] = set()
    todo = [name for path in files for name in _imported_at_load(path)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = _source(name)
        if source is not None:
            todo += _imported_at_load(source)
    return seen


def test_the_domain_and_its_tests_load_no_database_service_or_ui_module() -> None:
    files = sorted((ROOT / "core" / "domain").glob("*.py")) + sorted(Path(__file__).parent.glob("*.py"))
    loaded = _loaded_by(files)
    assert {"core.domain.order_flow", "core.domain.returns", "core.errors", "pytest"} <= loaded  # it looks
    assert sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)) == []
