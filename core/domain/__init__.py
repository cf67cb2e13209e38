"""Pure domain rules: limits, enums and checks that need no database.

Nothing here imports SQLAlchemy, opens a session or does I/O; every function takes plain
values (dicts, numbers, datetimes, pandas columns for bulk screens — "now" is passed in,
never read) and returns results or :class:`core.errors.FieldIssue` lists. So the rules can be unit-tested alone and shared by
every entry point (order entry, imports, the API, the GX suites) without restating them.
"""
