"""The ways a message leaves the building: one :class:`Sender` per outbox channel.

A sender knows how to hand one claimed outbox row (:class:`Due`) to the outside and reports
what happened as an :class:`Outcome`; the bookkeeping — claiming due rows under a lease,
``sent``, retries with backoff, ``failed`` — is :mod:`core.services.outbox_delivery`'s and the
same for every channel. A new channel (webhooks) is a class with the three members of
:class:`Sender`, listed in ``outbox_delivery.senders()``; it imports this module for the types,
never ``outbox_delivery`` (no cycle).

Here: e-mail by SMTP (:mod:`core.mailer`) and SMS through the configured adapter
(:mod:`core.sms`), both in the shop's language with the templates of
:mod:`core.services.notification_messages`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from core import config, environment, mailer, sms
from core.services import notification_messages

NO_SMTP = "outbox.reason.no_smtp"
NO_SMS_GATEWAY = "outbox.reason.no_sms_gateway"


@dataclass(frozen=True)
class Due:
    """A claimed outbox row: what a sender needs to deliver it."""

    id: int
    channel: str
    recipient: str
    event: str
    payload: dict[str, Any]
    order_id: int | None
    attempts: int  # this try included


@dataclass(frozen=True)
class Outcome:
    """Taken by the other side (``error`` None), or not: ``permanent`` when trying again cannot
    help (no such mailbox, an invalid number), else the row is tried again after a backoff."""

    error: str | None = None
    permanent: bool = False


SENT = Outcome()


class Unavailable(Exception):
    """The sender could not open its way out at all (no connection to the mail server): every
    row it claimed in this pass is tried again later."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


Send = Callable[[Due], Outcome]


class Sender(Protocol):
    """One outbox channel's way out."""

    channel: str  # the outbox's ``channel`` value this sender delivers

    def waiting_reason(self) -> str | None:
        """Why this channel's rows wait on this installation (a message code shown on the
        outbox page), or None when it is configured and delivers."""
        ...

    def open(self) -> AbstractContextManager[Send]:
        """One delivery pass's session (a connection, say): yields the function that delivers
        one row; raises :class:`Unavailable` when it cannot be opened."""
        ...


class EmailSender:
    """E-mail over SMTP: one connection per pass; the server's reply decides the outcome."""

    channel = "email"

    def waiting_reason(self) -> str | None:
        return None if environment.smtp_host() else NO_SMTP

    @contextmanager
    def open(self) -> Iterator[Send]:
        language = config.default_language()
        try:
            with mailer.connect() as connection:
                yield lambda row: _mail(connection, row, language)
        except mailer.MailFailed as exc:
            raise Unavailable(exc.reply) from exc


def _mail(connection: mailer.Connection, row: Due, language: str) -> Outcome:
    message = notification_messages.render(row.event, row.payload, row.order_id, language)
    try:
        connection.send(mailer.Mail(row.recipient, message.subject, message.text, message.html))
    except mailer.MailFailed as exc:
        return Outcome(exc.reply, exc.permanent)
    return SENT


class SmsSender:
    """Text messages through the adapter ``OMS_SMS_BACKEND`` names (:func:`core.sms.gateway`)."""

    channel = "sms"

    def __init__(self) -> None:
        self._gateway = sms.gateway()

    def waiting_reason(self) -> str | None:
        return None if self._gateway is not None else NO_SMS_GATEWAY

    @contextmanager
    def open(self) -> Iterator[Send]:
        gateway = self._gateway
        if gateway is None:  # deliver_due opens only configured senders
            raise Unavailable(NO_SMS_GATEWAY)
        language = config.default_language()

        def send(row: Due) -> Outcome:
            text = notification_messages.render(row.event, row.payload, row.order_id, language).sms
            outcome = gateway.send(row.recipient, text)
            return SENT if outcome.error is None else Outcome(outcome.error, outcome.permanent)

        yield send
