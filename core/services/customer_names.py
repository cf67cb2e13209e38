"""Customers' names encrypted at rest, by a shop setting (docs/security.md, "Protecting data").

The setting ``customer_names.encrypt`` (Settings, admin: ``keys.manage``) decides how a name is
*written* (:class:`core.models.personal.EncryptedBySetting`); a name is *read* in either state,
so a screen never breaks half-way. Switching it is one transaction — the setting, its audit
row and a ``names.convert`` job — and the job (:func:`convert_names`, run by the worker) brings
the existing rows to the new state:

* in batches by id, one transaction each, recording its position in the ``customer_names_pass``
  settings row (not part of the reference snapshot: nothing reads it but this job), so a killed
  job resumes where it stopped when the worker runs it again;
* each batch reads the setting again and converts towards it, so a job never fights the
  setting it was started for;
* a batch's UPDATE names the value it read: a name the app rewrote meanwhile is the app's;
* then every name is read back: when encrypting, each must be ciphertext that decrypts and
  whose blind index matches it; when decrypting, none may be ciphertext. A name another process
  wrote in the seconds before it noticed the switch sends the job round again (at most
  :data:`MAX_PASSES`, then ``names.pass_incomplete``);
* an audit row ``names.convert`` with the counts ends it.

``name_bidx`` (the digest of the normalised name) is kept in both states, so the exact-name
search works throughout; partial-name search works only on plain names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, datakeys, db, refdata
from core.db import read_only, unit_of_work
from core.errors import FieldIssue, Refused, ValidationError
from core.jobs import kinds, records
from core.jobs.records import JobView
from core.models import Customer, Job, Setting
from core.models.personal import digest, plain
from core.permissions import Actor, require
from core.services import data_keys
from core.timeutil import utcnow

PERMISSION = "keys.manage"
PASS_KEY = "customer_names_pass"  # the conversion's position: {"encrypt": bool, "after": last id}
BATCH = 500
MAX_PASSES = 3

Progress = Callable[[int, int], None]
_C = Customer.__table__


@dataclass(frozen=True)
class NamesState:
    """What the Settings page shows: the setting, how many names are in which state, the job."""

    encrypt: bool
    plain: int
    sealed: int
    job: JobView | None


@dataclass(frozen=True)
class NamesResult:
    encrypt: bool
    rewritten: int  # names converted by this job
    verified: int  # names read back (decrypted when encrypting)


def _encrypting(session: Session) -> bool:
    return bool(refdata.snapshot(session).setting(refdata.NAMES_KEY, refdata.NAMES_ENCRYPT, False))


@read_only
def names_state(session: Session, actor: Actor) -> NamesState:
    require(actor, PERMISSION)
    sealed_names = plain(_C.c.name).startswith(datakeys.PREFIX, autoescape=True)
    total, sealed = session.execute(select(func.count(), func.count().filter(sealed_names)).select_from(_C)).one()
    job = session.execute(select(Job).where(Job.kind == kinds.NAMES).order_by(Job.id.desc()).limit(1)).scalar()
    return NamesState(_encrypting(session), int(total) - int(sealed), int(sealed),
                      None if job is None else records.view(job))


def switch_names(encrypt: bool, actor: Actor) -> int | None:
    """Turn the encryption of names on or off and start the job that converts the stored ones;
    the job's id (None when the setting already was so)."""
    job_id = _switch(encrypt, actor)
    if job_id is not None:
        records.enqueue(job_id)
    return job_id


@unit_of_work
def _switch(session: Session, encrypt: bool, actor: Actor) -> int | None:
    require(actor, PERMISSION)
    if not isinstance(encrypt, bool):
        raise ValidationError([FieldIssue(f"{refdata.NAMES_KEY}.{refdata.NAMES_ENCRYPT}", "issue.yes_no",
                                          value=encrypt)])
    running = records.active_job(session, kinds.NAMES)
    if running is not None:  # one conversion at a time: a second would only chase the first
        raise Refused("job.already_active", job=running.id)
    before = _encrypting(session)
    if before == encrypt:
        return None
    row = session.get(Setting, refdata.NAMES_KEY)
    now = utcnow()
    if row is None:
        session.add(Setting(key=refdata.NAMES_KEY, value={refdata.NAMES_ENCRYPT: encrypt}, updated_at=now,
                            updated_by=actor.username))
    else:
        row.value = {**row.value, refdata.NAMES_ENCRYPT: encrypt}
        row.updated_at, row.updated_by = now, actor.username
    session.flush()
    refdata.bump(session)
    audit.record(session, actor, "names.encryption", "settings", refdata.NAMES_KEY,
                 before={"encrypt": before}, after={"encrypt": encrypt})
    job_id = records.create(session, kinds.NAMES, {"encrypt": encrypt, "permission": PERMISSION}, actor)
    audit.record(session, actor, "job.start", "job", job_id, after={"kind": kinds.NAMES, "encrypt": encrypt})
    return job_id


def _towards(kid: str | None) -> data_keys.Target:
    """Every name sealed under ``kid``, or plain (None)."""
    return lambda _column, _stored: kid


def _pass(batch: int, progress: Progress | None) -> tuple[bool, int]:
    """One resumable pass over the customers towards the setting; (encrypting, names written)."""
    written, encrypt = 0, False
    while True:
        with db.transaction() as s:
            encrypt = _encrypting(s)
            row = s.get(Setting, PASS_KEY, with_for_update=True)
            position = dict(row.value) if row is not None else {}
            after = int(position.get("after", 0)) if position.get("encrypt") is encrypt else 0
            ring = datakeys.current()
            last, n = data_keys.rewrite_batch(s, _C, ("name",), _towards(ring.active if encrypt else None), after,
                                              batch, ring)
            if last < 0:
                break
            written += n
            _save_position(s, row, {"encrypt": encrypt, "after": last})
            top = int(s.execute(select(func.max(_C.c.id))).scalar() or last)
        if progress:
            progress(last, top)
    return encrypt, written


def _save_position(session: Session, row: Setting | None, position: dict[str, object]) -> None:
    if row is None:
        session.add(Setting(key=PASS_KEY, value=position, updated_at=utcnow(), updated_by="system"))
    else:
        row.value, row.updated_at = position, utcnow()


def _verify(encrypt: bool, batch: int) -> tuple[int, int]:
    """Every name read back: (names checked, names not in the setting's state). Encrypted: a
    ciphertext that decrypts and whose blind index is the name's; a value that does not
    decrypt raises ``keys.undecryptable``."""
    ring, checked, stale, after = datakeys.current(), 0, 0, 0
    while True:
        with db.transaction(readonly=True) as s:
            rows = s.execute(select(_C.c.id, plain(_C.c.name).label("name"), _C.c.name_bidx)
                             .where(_C.c.id > after).order_by(_C.c.id).limit(batch * 4)).all()
        if not rows:
            return checked, stale
        for row in rows:
            sealed = datakeys.is_ciphertext(row.name)
            if sealed is not encrypt:
                stale += 1
            elif sealed and row.name_bidx != digest("name", ring.decrypt(row.name)):
                stale += 1  # encrypted but not findable (written without its index): reported
            else:
                checked += 1
        after = rows[-1].id


def convert_names(actor: Actor, *, batch: int = BATCH, progress: Progress | None = None) -> NamesResult:
    """Bring every stored name to the setting's state (the ``names.convert`` job), resumably;
    read every name back; audit the counts."""
    require(actor, PERMISSION)
    written = 0
    for _ in range(MAX_PASSES):
        encrypt, n = _pass(batch, progress)
        written += n
        checked, stale = _verify(encrypt, batch)
        if not stale:
            break
        with db.transaction() as s:  # names written in the old state meanwhile: once more from the start
            _save_position(s, s.get(Setting, PASS_KEY, with_for_update=True), {})
    else:
        raise Refused("names.pass_incomplete", rows=stale)
    with db.transaction() as s:
        _save_position(s, s.get(Setting, PASS_KEY, with_for_update=True), {})
        audit.record(s, actor, "names.convert", "settings", refdata.NAMES_KEY, None,
                     {"encrypt": encrypt, "rows_rewritten": written, "names_verified": checked})
    return NamesResult(encrypt, written, checked)
