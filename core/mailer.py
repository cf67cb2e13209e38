"""Sending e-mail by SMTP: one connection per delivery pass, STARTTLS or implicit TLS and a
login when configured (``OMS_SMTP_*``, :mod:`core.environment`), and every failure sorted into *permanent* (the server
refused this address or this message: 5xx to RCPT or DATA) or *temporary* (no connection, 4xx,
a refused sender, TLS or login — the installation's settings, which can be fixed): the outbox
gives up on the first and tries the second again later. The server's certificate is checked
against the system's CAs (``SSL_CERT_FILE`` names another bundle).

The text of a message is the outbox's business (:mod:`core.services.outbox_delivery`); this
module only talks to the server.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from core import environment

TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str  # plain text: every client shows it
    html: str | None = None  # an HTML alternative of the same text, when the template has one


class MailFailed(Exception):
    """The server did not take a message; ``permanent`` when trying again cannot help."""

    def __init__(self, reply: str, *, permanent: bool) -> None:
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


class Connection:
    """An open SMTP session; :meth:`send` raises :class:`MailFailed` for one message without
    closing the session for the next."""

    def __init__(self, smtp: smtplib.SMTP, sender: str) -> None:
        self._smtp, self._sender = smtp, sender

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, mail.to, mail.subject
        message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="oms.local")
        message.set_content(mail.body)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:  # this address: 5xx no such mailbox
            code, text = next(iter(exc.recipients.values()))
            raise MailFailed(_reply(code, text), permanent=code >= 500) from exc
        except smtplib.SMTPDataError as exc:  # this message: 5xx rejected content
            raise MailFailed(_reply(exc.smtp_code, exc.smtp_error), permanent=exc.smtp_code >= 500) from exc
        except smtplib.SMTPResponseException as exc:  # the sender or the session (TLS, login): our settings
            raise MailFailed(_reply(exc.smtp_code, exc.smtp_error), permanent=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise MailFailed(_reply(code, text), permanent=code >= 500)


@contextmanager
def connect() -> Iterator[Connection]:
    """A session with the configured server (``MailFailed``, temporary, when there is none)."""
    host = environment.smtp_host()
    if host is None:
        raise MailFailed("OMS_SMTP_HOST is not set", permanent=False)
    security = environment.smtp_security()
    try:
        if security == "tls":  # implicit TLS: the handshake comes first (SMTPS, port 465)
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, environment.smtp_port(), timeout=TIMEOUT_SECONDS,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, environment.smtp_port(), timeout=TIMEOUT_SECONDS)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    try:
        smtp.ehlo()
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        login = environment.smtp_login()
        if login is not None:
            smtp.login(*login)
    except smtplib.SMTPResponseException as exc:
        smtp.close()
        raise MailFailed(_reply(exc.smtp_code, exc.smtp_error), permanent=False) from exc
    except (smtplib.SMTPException, OSError) as exc:
        smtp.close()
        raise MailFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    try:
        yield Connection(smtp, environment.smtp_sender())
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
