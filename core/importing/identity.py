"""One customer per person across channels: resolve the people of an import in bulk.

A person in a file is recognised, in this order, by their channel account
(``customer_identities``: channel + buyer id), their normalised phone, their e-mail. The same
rules apply between rows of the file (two Tmall rows with one phone are one person) and
against the database (a JD buyer whose phone a POS customer already has *is* that customer).
Every match made by phone or e-mail — a merge a human may want to check — is reported.

This is :func:`core.services.customers.find_or_create` done set-wise: one look-up per kind of
key (:func:`core.importing.bulk.one_of`, whatever the number of values) and one bulk insert
instead of two queries per row, which is what lets a 100k-line history import stay within seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.geo import normalise_province
from core.importing.bulk import Same, digests, insert_columns, one_of, reserve_ids
from core.models import Customer, CustomerIdentity
from core.numbering import reserve_values
from core.timeutil import utcnow

CHUNK = 5000
MERGE_COLUMNS = ["row", "name", "channel", "buyer_id", "phone", "email", "customer", "customer_name", "matched_by"]
_C, _I = Customer.__table__, CustomerIdentity.__table__
T = TypeVar("T")


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for v in values:
        batch.append(v)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(slots=True)
class _Person:
    name: str | None
    phone: str | None
    email: str | None
    accounts: set[tuple[int, str]]
    address: tuple[str | None, str | None, str | None, str | None]
    first_row: int
    customer_id: int | None = None
    code: str | None = None
    matched_by: str | None = None  # identity | phone | email | None (new)


@dataclass(frozen=True)
class Resolution:
    customer_ids: list[int]  # aligned with the input rows
    created: int
    matched: int
    merges: pd.DataFrame  # MERGE_COLUMNS: people matched by phone/e-mail, or joined inside the file


def _group(people: pd.DataFrame) -> tuple[list[int], list[_Person]]:
    """Assign each input row to a person, joining rows that share an account, phone or e-mail
    (tried in that order). One dict per kind of key: this loop runs once per order of a file."""
    by_account: dict[tuple[int, str], int] = {}
    by_phone: dict[str, int] = {}
    by_email: dict[str, int] = {}
    persons: list[_Person] = []
    owner: list[int] = []
    cols = [people[c].tolist() for c in ("row", "name", "phone", "email", "buyer_id", "channel_id", "province",
                                         "city", "district", "address")]
    for row, name, phone, email, buyer, channel, province, city, district, address in zip(*cols, strict=True):
        account = (int(channel), str(buyer)) if buyer and channel is not None else None
        pid = by_account.get(account) if account else None
        if pid is None and phone:
            pid = by_phone.get(phone)
        if pid is None and email:
            pid = by_email.get(email)
        if pid is None:
            pid = len(persons)
            persons.append(_Person(name, phone, email, set(), (province, city, district, address), int(row)))
        else:
            p = persons[pid]
            p.phone, p.email, p.name = p.phone or phone, p.email or email, p.name or name
        if account:
            persons[pid].accounts.add(account)
            by_account.setdefault(account, pid)
        if phone:
            by_phone.setdefault(phone, pid)
        if email:
            by_email.setdefault(email, pid)
        owner.append(pid)
    return owner, persons


def _lookup(session: Session, persons: list[_Person]) -> None:
    """Find each person's existing customer: account, then phone, then e-mail."""
    accounts = _known_accounts(session, {a for p in persons for a in p.accounts}, _I.c.customer_id)
    phones = _first_ids(session, _C.c.phone_bidx, "phone", {p.phone for p in persons if p.phone})
    emails = _first_ids(session, _C.c.email_bidx, "email", {p.email for p in persons if p.email})
    for p in persons:
        hit = next((accounts[a] for a in sorted(p.accounts) if a in accounts), None)
        if hit is not None:
            p.customer_id, p.matched_by = hit, "identity"
        elif p.phone and p.phone in phones:
            p.customer_id, p.matched_by = phones[p.phone], "phone"
        elif p.email and p.email in emails:
            p.customer_id, p.matched_by = emails[p.email], "email"


def _known_accounts(session: Session, wanted: set[tuple[int, str]], value: ColumnElement[Any]) -> dict[tuple[int, str], Any]:
    """(channel, buyer id) → ``value`` of the stored identity, for those of ``wanted`` stored."""
    conn = session.connection()
    found: dict[tuple[int, str], Any] = {}
    for ch in sorted({c for c, _ in wanted}):
        ids = sorted(ext for c, ext in wanted if c == ch)
        found.update({(r[0], r[1]): r[2] for r in conn.execute(
            select(_I.c.channel_id, _I.c.external_id, value).where(_I.c.channel_id == ch,
                                                                   one_of(conn, _I.c.external_id, ids)))})
    return found


def _first_ids(session: Session, column: ColumnElement[str | None], kind: str, values: set[str]) -> dict[str, int]:
    """value → the oldest customer id holding it, or the profile that one was merged into
    (find_or_create's rule). Matched on the blind index ``column`` (digests of ``kind``)."""
    if not values:
        return {}
    conn = session.connection()
    plain = sorted(values)
    by_digest = dict(zip(digests(kind, plain), plain, strict=True))
    stmt = select(column, func.coalesce(_C.c.merged_into_id, _C.c.id)).where(
        one_of(conn, column, sorted(d for d in by_digest if d is not None))).order_by(_C.c.id.desc())
    return {by_digest[r[0]]: r[1] for r in conn.execute(stmt)}


def _create(session: Session, persons: list[_Person]) -> int:
    new = [p for p in persons if p.customer_id is None]
    if not new:
        return 0
    now = utcnow()
    codes = [f"C{n:07d}" for n in reserve_values(session, "CUST", len(new))]
    provinces = {v: normalise_province(v) for v in {p.address[0] for p in new}}
    conn = session.connection()
    ids = reserve_ids(conn, _C, len(new))
    for p, code, cid in zip(new, codes, ids, strict=True):
        p.code, p.customer_id = code, cid
    insert_columns(conn, _C, {
        "id": ids, "code": codes,
        "name": [(p.name or (min(e for _, e in p.accounts) if p.accounts else None) or p.phone or p.email
                  or code)[:100] for p, code in zip(new, codes, strict=True)],
        "phone": [p.phone for p in new], "email": [p.email for p in new],
        "province": [provinces[p.address[0]] for p in new], "city": [p.address[1] for p in new],
        "district": [p.address[2] for p in new], "address": [p.address[3] for p in new],
        "tier": Same("normal"), "tags": Same([]), "created_at": Same(now),
    })
    return len(new)


def _link_accounts(session: Session, persons: list[_Person]) -> None:
    """Record every channel account against its customer (once)."""
    wanted = {(ch, ext): p.customer_id for p in persons for ch, ext in p.accounts}
    if not wanted:
        return
    have = _known_accounts(session, set(wanted), _I.c.id)
    rows = [dict(customer_id=cid, channel_id=ch, external_id=ext) for (ch, ext), cid in wanted.items()
            if (ch, ext) not in have]
    for start in range(0, len(rows), CHUNK):
        session.connection().execute(insert(_I), rows[start:start + CHUNK])


def _merges(session: Session, persons: list[_Person], channel_codes: dict[int, str]) -> pd.DataFrame:
    """People matched to an existing customer by phone/e-mail, or formed from several accounts."""
    picked = [p for p in persons if p.matched_by in ("phone", "email") or len(p.accounts) > 1]
    if not picked:
        return pd.DataFrame(columns=MERGE_COLUMNS)
    conn = session.connection()
    names = {r.id: (r.code, r.name) for r in conn.execute(select(_C.c.id, _C.c.code, _C.c.name).where(
        one_of(conn, _C.c.id, sorted({p.customer_id for p in picked if p.customer_id is not None}))))}
    rows = []
    for p in picked:
        code, name = names[p.customer_id]
        accounts = sorted(p.accounts)
        rows.append([p.first_row, p.name, ", ".join(channel_codes.get(c, str(c)) for c, _ in accounts),
                     ", ".join(ext for _, ext in accounts), p.phone, p.email, code, name,
                     p.matched_by or "file"])
    return pd.DataFrame(rows, columns=MERGE_COLUMNS)


def resolve(session: Session, people: pd.DataFrame, channel_codes: dict[int, str]) -> Resolution:
    """Customer id for every row of ``people`` (columns: row, name, phone, email, buyer_id,
    channel_id, province, city, district, address), creating the people not yet known and
    linking their channel accounts. Runs in the caller's transaction."""
    if people.empty:
        return Resolution([], 0, 0, pd.DataFrame(columns=MERGE_COLUMNS))
    owner, persons = _group(people)
    _lookup(session, persons)
    matched = sum(p.customer_id is not None for p in persons)
    created = _create(session, persons)
    _link_accounts(session, persons)
    ids = [int(persons[i].customer_id) for i in owner]  # type: ignore[arg-type]
    return Resolution(ids, created, matched, _merges(session, persons, channel_codes))
