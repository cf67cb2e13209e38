"""Personal data at rest: the encrypted column types, the blind-index columns beside them, and
the register of which columns of which tables hold what (docs/security.md, "Protecting data").

The register is the one list ``oms keys init``/``rotate`` walk, the migration widens and the
tests check: a new column holding a phone, an e-mail or an address goes here (``ENCRYPTED``),
one encrypted only when the shop says so — customers' names — in ``BY_SETTING``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import DateTime, LargeBinary, String, Text, TypeDecorator, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.operators import OperatorType

from core import datakeys
from core.domain.contacts import normalise_name
from core.domain.merging import normalise_address
from core.errors import Refused
from core.models.base import Base

# What SQL may do with an encrypted column: test for NULL and nothing else. Comparing, matching
# or sorting ciphertext would silently find nothing (every value has a fresh nonce), so it
# fails loudly instead; searches go through the blind-index columns.
_NULL_TESTS: frozenset[OperatorType] = frozenset({operators.is_, operators.is_not})


class Encrypted(TypeDecorator[str]):
    """Personal data: ``str`` in Python, AES-256-GCM ciphertext naming its key id in a TEXT
    column (:mod:`core.datakeys`). Every write encrypts with the process's active key; every
    read decrypts with whichever key id the value names. A value without the ciphertext prefix
    is a row ``oms keys init`` has not reached yet, and reads as it is.

    Only ``IS [NOT] NULL`` is allowed in SQL: compare through the blind-index column instead.
    ``length`` is the plain text's limit (validation reads it, :func:`core.product_rules.column_length`).
    """

    impl = Text
    cache_ok = True

    def __init__(self, length: int | None = None) -> None:
        super().__init__()
        self.length = length  # the longest plain text the column takes (the ciphertext is longer)

    class Comparator(TypeDecorator.Comparator[str]):
        def operate(self, op: OperatorType, *other: Any, **kwargs: Any) -> ColumnElement[Any]:
            # IS [NOT] NULL, and column against column (SQLAlchemy matches columns that way)
            if op in _NULL_TESTS or (op in (operators.eq, operators.ne) and len(other) == 1
                                     and (other[0] is None or isinstance(other[0], ColumnElement))):
                return super().operate(op, *other, **kwargs)
            raise TypeError(f"{getattr(op, '__name__', op)} on an encrypted column: use its blind index")

        def reverse_operate(self, op: OperatorType, other: Any, **kwargs: Any) -> ColumnElement[Any]:
            raise TypeError(f"{getattr(op, '__name__', op)} on an encrypted column: use its blind index")

    comparator_factory = Comparator

    @property
    def python_type(self) -> type[str]:
        return str

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else datakeys.seal(str(value))

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        raise TypeError("personal data is never rendered into SQL text")

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return reveal(value)


def reveal(value: str | None) -> str | None:
    """A stored value as it reads: decrypted when it is ciphertext, else as it is. Also for a
    value selected raw (:func:`plain`) to decrypt it only when it is used."""
    if value is None or not datakeys.is_ciphertext(value):
        return value
    try:
        return datakeys.current().decrypt(value)
    except Refused as exc:
        if exc.key != "keys.unknown_id":
            raise
        datakeys.forget()  # a rotation in another process may just have added this key id
        return datakeys.current().decrypt(value)


# Whether names are written encrypted: the shop's setting, read by core.refdata (which this
# layer may not import), which installs its reader here when it is imported. Until then — a
# process that never imported core.refdata writes no names — names are written as they are.
_name_policy: list[Callable[[], bool]] = []


def seal_names_when(policy: Callable[[], bool]) -> None:
    """Make ``policy()`` decide whether a name written from now on is encrypted."""
    _name_policy[:] = [policy]


def names_sealed() -> bool:
    return bool(_name_policy) and _name_policy[0]()


class EncryptedBySetting(Encrypted):
    """A customer's name: encrypted like :class:`Encrypted` while the shop's setting
    ``customer_names.encrypt`` is on, written as it is while it is off. Reads take either, so a
    table half-way through the conversion job (``core.services.customer_names``) reads whole;
    SQL may only test it for NULL either way — a query that must work in both states matches
    the blind index (``name_bidx``) and, while names are plain, :func:`plain` of the column."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return datakeys.seal(str(value)) if names_sealed() else str(value)


def plain(column: Any) -> Any:
    """``column`` as text, for the SQL that works only on plain names (a partial-name LIKE while
    the setting is off); pair it with :func:`not_ciphertext` so a ciphertext never matches."""
    return type_coerce(column, Text())


def not_ciphertext(column: Any) -> ColumnElement[bool]:
    """``column`` holds no ciphertext (a row the conversion job has not decrypted yet)."""
    return ~plain(column).startswith(datakeys.PREFIX, autoescape=True)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document that may quote personal data (an import's merges and rejected rows, a
    failed job's field issues): its JSON text sealed like :class:`Encrypted`. Read in Python
    only — SQL never looks inside it."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else datakeys.current().encrypt(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):  # a JSON column's value before 0021 (PostgreSQL decoded it)
            return value
        return json.loads(Encrypted().process_result_value(value, dialect) or "null")


class EncryptedBytes(TypeDecorator[bytes]):
    """A file kept for a job (an uploaded import holds phones and addresses), sealed with the
    data key like :class:`Encrypted`; a value without the prefix (written before 0021) reads as
    it is."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else datakeys.current().encrypt_bytes(bytes(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        blob = bytes(value)
        return datakeys.current().decrypt_bytes(blob) if blob.startswith(datakeys.PREFIX.encode()) else blob


# --- blind indexes ---------------------------------------------------------------------------

def digest(kind: str, value: str | None) -> str | None:
    """The blind index of a normalised value: ``kind`` phone|email, last4 (of a phone), or
    name (normalised here: :func:`core.domain.contacts.normalise_name`)."""
    if kind == "name":
        return datakeys.blind(kind, normalise_name(value))
    return datakeys.last4(value) if kind == "last4" else datakeys.blind(kind, value)


def address_key(province: str | None, city: str | None, district: str | None, address: str | None) -> str | None:
    """The blind index of a normalised ship-to address (:func:`core.domain.merging.normalise_address`):
    two orders to the same door have the same key, and the key reveals nothing of the address."""
    return datakeys.blind("address", normalise_address(province, city, district, address))


ADDRESS_PARTS = ("ship_province", "ship_city", "ship_district", "ship_address")


def _address_key_default(context: DefaultExecutionContext) -> str | None:
    values = context.get_current_parameters()
    return address_key(*(values.get(part) for part in ADDRESS_PARTS))


def address_key_column() -> Mapped[str | None]:
    """The orders' merge key, filled on insert from the four ship-to parts of the same row; an
    UPDATE of the address sets it through :func:`with_indexes`, given all four parts."""
    return mapped_column(String(64), default=_address_key_default)


def _insert_default(source: str, kind: str) -> Callable[[DefaultExecutionContext], str | None]:
    def compute(context: DefaultExecutionContext) -> str | None:
        return digest(kind, context.get_current_parameters().get(source))

    return compute


def index_column(source: str, kind: str) -> Mapped[str | None]:
    """A blind-index column filled on insert from ``source`` in the same row (Core inserts,
    executemany and the ORM alike); an UPDATE that changes ``source`` sets it through
    :func:`with_indexes`."""
    return mapped_column(String(64), default=_insert_default(source, kind))


# table → encrypted column → the blind indexes computed from it (index column, kind)
INDEXES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "customers": {"phone": (("phone_bidx", "phone"), ("phone_last4_bidx", "last4")),
                  "email": (("email_bidx", "email"),), "name": (("name_bidx", "name"),)},
    "orders": {"ship_phone": (("ship_phone_bidx", "phone"), ("ship_phone_last4_bidx", "last4"))},
}

# table → its encrypted columns (what init and rotation walk); job_files are transient and
# keep the key they were written with until the job is done
ENCRYPTED: dict[str, tuple[str, ...]] = {
    "customers": ("phone", "email", "address"),
    "orders": ("ship_name", "ship_phone", "ship_address"),
    "notifications": ("recipient",),
    "import_batches": ("stats",),
    "import_errors": ("value", "raw"),
    "jobs": ("error_params",),
}

# table → columns encrypted only while the shop's setting is on (EncryptedBySetting): the
# conversion job moves them between plain and ciphertext, a rotation re-encrypts those that
# are ciphertext and leaves plain ones plain
BY_SETTING: dict[str, tuple[str, ...]] = {"customers": ("name",)}


def with_indexes(table: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` of an UPDATE plus the blind indexes of the encrypted columns it changes."""
    extra = {index: digest(kind, values[source])
             for source, pairs in INDEXES.get(table, {}).items() if source in values
             for index, kind in pairs}
    if table == "orders" and all(part in values for part in ADDRESS_PARTS):
        # the merge key needs the whole address (an edit passes all four parts); re-encrypting
        # only the street under a new data key leaves it as it is (the index key never rotates)
        extra["merge_key"] = address_key(*(values[part] for part in ADDRESS_PARTS))
    return {**values, **extra}


# --- the keys a database was encrypted with --------------------------------------------------


class DataKey(Base):
    """A data key id this database's ciphertext may name, with a check value (an HMAC of a
    constant — never the key) so a process can tell a missing or wrong key before it shows
    anything. ``state``: active (new values), retiring (being re-encrypted away), retired.
    ``progress`` holds the resumable position of the encryption pass that moves rows to it."""

    __tablename__ = "data_keys"
    kid: Mapped[str] = mapped_column(String(16), primary_key=True)
    check_value: Mapped[str] = mapped_column(String(64))
    index_check: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    progress: Mapped[str | None] = mapped_column(Text)
