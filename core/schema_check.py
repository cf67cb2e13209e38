"""The schema a database really has, compared with the schema the migrations build.

A restore must not bring back a database whose append-only triggers were dropped, whose
tables were altered or that carries extra triggers: data checks cannot see any of that, and
the restored copy would replace the live schema. :func:`fingerprint` lists every table (with
its columns), index, constraint, trigger, view and function with its definition, as the
database reports it (SQLite: ``sqlite_master``; PostgreSQL: the catalogs' ``pg_get_*def``
functions, which print definitions canonically); :func:`differences` names what differs.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

from core.errors import FieldIssue

Fingerprint = dict[tuple[str, str], str]  # (kind, name) -> definition

_PG_QUERIES = {
    "column": """SELECT table_name || '.' || column_name,
                        concat_ws(' ', data_type, character_maximum_length, numeric_precision, numeric_scale,
                                  is_nullable, column_default)
                 FROM information_schema.columns WHERE table_schema = 'public'""",
    "table": """SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public'""",
    "index": """SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'""",
    "constraint": """SELECT c.conrelid::regclass || '.' || c.conname, pg_get_constraintdef(c.oid)
                     FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                     WHERE n.nspname = 'public'""",
    "trigger": """SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
                  JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
    "function": """SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
                   JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'""",
    "view": """SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'""",
}


def _normalise(sql: str | None) -> str:
    """One spelling per definition: whitespace collapsed, none around punctuation, no quotes."""
    collapsed = re.sub(r"\s+", " ", (sql or "").replace('"', "")).strip()
    return re.sub(r"\s*([(),=])\s*", r"\1", collapsed)


def _clauses(body: str) -> list[str]:
    """The comma-separated clauses of a CREATE TABLE body, split at parenthesis depth 0."""
    clauses, depth, start = [], 0, 0
    for i, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            clauses.append(body[start:i])
            start = i + 1
    return [*clauses, body[start:]]


def _sqlite_definition(kind: str, sql: str | None) -> str:
    """A table's columns and constraints as a sorted list: SQLite keeps the CREATE TABLE text
    as written, and the migration branches (batch mode rebuilds tables) may have run in any
    order, which reorders columns and constraints without changing the table."""
    text_ = _normalise(sql)
    head, paren, rest = text_.partition("(")
    if kind != "table" or not paren or not rest.endswith(")"):
        return text_
    return head + "(" + ",".join(sorted(_clauses(rest[:-1]))) + ")"


def fingerprint(conn: Connection) -> Fingerprint:
    """Every schema object of the database behind ``conn`` with its definition."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"))
        return {(kind, name): _sqlite_definition(kind, sql) for kind, name, sql in rows}
    return {(kind, str(name)): _normalise(str(definition))
            for kind, query in _PG_QUERIES.items() for name, definition in conn.execute(text(query))}


def differences(expected: Fingerprint, actual: Fingerprint, limit: int = 20) -> list[FieldIssue]:
    """One issue per object missing, extra or defined differently in ``actual`` (at most ``limit``)."""
    issues = []
    for kind, name in sorted(expected.keys() | actual.keys()):
        if (kind, name) not in actual:
            code = "sec.schema_missing"
        elif (kind, name) not in expected:
            code = "sec.schema_extra"
        elif expected[kind, name] != actual[kind, name]:
            code = "sec.schema_changed"
        else:
            continue
        issues.append(FieldIssue("file", code, params={"kind": kind, "name": name}))
    return issues[:limit]
