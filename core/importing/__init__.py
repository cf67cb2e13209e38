"""The parts of an import, composed by :mod:`core.services.imports` (the one import service).

Reading and meaning (no database):

- :mod:`~core.importing.issues` — one problem with one row/field, grouped by root cause for
  the report, and the file-level error;
- :mod:`~core.importing.reader` — bytes → a table of strings (encoding, delimiter, XLSX);
- :mod:`~core.importing.fields` — the OMS fields a profile can map, per import kind;
- :mod:`~core.importing.guess` — which column holds which field, by header *and* values;
- :mod:`~core.importing.profile` — mapping profiles (YAML files or saved rows);
- :mod:`~core.importing.parse` — strict, vectorised parsing of dates, money, phones, addresses;
- :mod:`~core.importing.stage` — profile + files → one typed frame with source row numbers;
- :mod:`~core.importing.orders` — lines grouped into orders (identical lines summed or kept),
  priced, derived facts to validate.

Deciding, and the tools of writing (in the caller's transaction):

- :mod:`~core.importing.prepare` — look-ups and the validation suite → issues and failed units;
- :mod:`~core.importing.identity` — one customer per person across channels, set-wise;
- :mod:`~core.importing.bulk` — column-wise ``executemany`` with Core's own value conversion.

The writers themselves are services, because they call other services in the import's
transaction (``create_order``, ``reserve_backorders``): :mod:`core.services.import_orders`
(history in bulk, open orders through ``create_order``) and :mod:`core.services.import_master`
(products, stock counts through the ledger, customers). Nothing in this package imports
:mod:`core.services` (an import-linter contract in ``pyproject.toml``).
"""
