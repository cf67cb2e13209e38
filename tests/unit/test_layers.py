"""The layering rules that import-linter cannot state alone (its contracts are in pyproject.toml
and run by ``lint-imports`` in ``make lint``):

* no import cycle across the top-level packages, with ``core`` taken apart into its children —
  ``acyclic_siblings`` only compares siblings, and ``core.services → expectations →
  core.domain`` is the design, so ``core`` as one node would always be "in a cycle";
* every child of ``core`` is classified for the pages: allowed, or in the pages contract's
  forbidden list (so a new module cannot slip past the contract by being new);
* ``app.py``, a module import-linter cannot analyse, keeps the pages' contract.
"""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LINTER = CONFIG["tool"]["importlinter"]
PAGES_MAY_IMPORT: list[str] = CONFIG["tool"]["oms"]["layering"]["pages_may_import"]
PAGES_FORBIDDEN: list[str] = next(c for c in LINTER["contracts"] if c.get("source_modules") == ["pages"])[
    "forbidden_modules"]


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*LINTER["root_packages"], cache_dir=None)


def _node(module: str) -> str:
    """The unit a cycle is looked for between: ``core.<child>``, or a top-level package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "core" and len(parts) > 1 else parts[0]


def _cycles(edges: dict[tuple[str, str], list[tuple[str, str]]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    successors: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        successors[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted({n for edge in edges for n in edge}):
        if start in index:
            continue
        work = [(start, iter(sorted(successors[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(successors[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def package_cycles(graph: grimp.ImportGraph) -> list[str]:
    """Each cycle between the units of :func:`_node`, with the imports that close it."""
    edges: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = _node(importer), _node(imported)
            if a != b:
                edges[(a, b)].append((importer, imported))
    report = []
    for component in _cycles(edges):
        inside = [f"  {a} -> {b}: {', '.join(f'{i} -> {j}' for i, j in sorted(edges[(a, b)])[:3])}"
                  for a in component for b in component if (a, b) in edges]
        report.append("cycle " + " / ".join(component) + "\n" + "\n".join(inside))
    return report


def test_no_cycle_between_packages_or_the_children_of_core() -> None:
    assert package_cycles(_graph()) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    """The check itself: one import from core.domain back up to core.services is a cycle."""
    graph = _graph()
    graph.add_import(importer="core.domain.rulebook", imported="core.services.orders")
    assert any("core.domain" in c and "core.services" in c for c in package_cycles(graph))


def test_every_child_of_core_is_classified_for_the_pages() -> None:
    children = _graph().find_children("core")
    allowed, forbidden = set(PAGES_MAY_IMPORT), {m for m in PAGES_FORBIDDEN if m.startswith("core.")}
    assert allowed & forbidden == set()
    assert children - allowed - forbidden == set(), "add each new module to one of the two lists in pyproject.toml"
    assert (allowed | forbidden) - children == set(), "a listed module no longer exists"


def _imported_modules(source: str) -> set[str]:
    """Absolute modules a file imports (``from core import config`` counts as ``core.config``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if node.module == "core"}
    return found


def _breaks_pages_rules(module: str) -> bool:
    def under(prefixes: list[str]) -> bool:
        return any(module == p or module.startswith(p + ".") for p in prefixes)

    return under(PAGES_FORBIDDEN) or (module.startswith("core.") and not under(PAGES_MAY_IMPORT))


def test_app_keeps_the_pages_contract() -> None:
    imported = _imported_modules((ROOT / "app.py").read_text(encoding="utf-8"))
    assert "core.services.users" in imported  # the parse sees app.py's imports at all
    assert sorted(m for m in imported if _breaks_pages_rules(m)) == []
    assert _breaks_pages_rules("core.db") and _breaks_pages_rules("sqlalchemy.orm")
