"""Pure domain rules: limits, enums, state machines and checks that need no database — the
order rulebook (``rulebook``), stock quantities (``quantities``), the order state machine
(``order_flow``), warehouse choice and split (``allocation``), the configurable rules'
conditions (``rules``) and after-sales (``returns``). docs/domain.md describes them.

Nothing here imports SQLAlchemy, opens a session or does I/O; every function takes plain
values (dicts, numbers, datetimes, pandas columns for bulk screens — "now" is passed in,
never read) and returns results or :class:`core.errors.FieldIssue` lists, or raises the
refusal (:mod:`core.errors`). So the rules can be unit-tested alone and shared by every
entry point (order entry, imports, the API, the GX suites) without restating them.
"""
