"""The outbox's e-mails go out through a real SMTP server (aiosmtpd on 127.0.0.1): sent and
marked; a refused address fails at once; a server that says "later" or does not answer is
tried again after a backoff and given up after a few tries; STARTTLS when configured; SMS rows
— and e-mails without a mail server — wait with a reason (webhooks: test_webhooks.py)."""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from core import db
from core.models import Notification
from core.services import outbox_delivery
from core.services.orders import create_order
from core.timeutil import pin, utcnow
from core.worker import periodic
from tests.factories import CLERK, make_product, order_input
from tests.smtp_support import Inbox, free_port, start, text_of


def _order(email: str, sku: str = "TEA") -> str:
    make_product(sku, "10.00", {"SH": 50})
    return create_order(order_input((sku, 1), email=email), CLERK).number


def _rows() -> dict[str, Notification]:
    """The outbox by recipient."""
    with db.transaction(readonly=True) as s:
        return {n.recipient or "": n for n in s.execute(select(Notification).order_by(Notification.id)).scalars()}


def test_an_email_is_sent_and_marked_sent(smtp: Inbox) -> None:
    number = _order("li.si@example.com")
    periodic.deliver_outbox()  # the worker's task of every minute
    result = outbox_delivery.deliver_due()  # a second pass finds nothing left to do
    rows = _rows()
    mail, sms = rows["li.si@example.com"], rows["13800138000"]
    assert (mail.status, mail.attempts, mail.status_reason, mail.last_error) == ("sent", 1, None, None)
    assert mail.sent_at is not None and mail.next_attempt_at is None
    assert (sms.status, sms.status_reason) == ("pending", "outbox.reason.no_sms_gateway")  # no SMS gateway here
    assert result == outbox_delivery.DeliveryResult()
    [message] = smtp.messages
    assert message["To"] == "li.si@example.com" and message["From"] == "shop@example.com"
    assert number in message["Subject"] and number in text_of(message)


def test_a_refused_address_fails_at_once_and_a_busy_server_is_tried_again_later(smtp: Inbox) -> None:
    smtp.replies = {"nobody@example.com": "550 5.1.1 <nobody@example.com>: no such mailbox",
                    "later@example.com": "451 4.3.0 try later"}
    _order("nobody@example.com", "TEA")
    _order("later@example.com", "CUP")
    now = utcnow()
    assert outbox_delivery.deliver_due() == outbox_delivery.DeliveryResult(sent=0, retrying=1, failed=1, waiting=2)
    refused, later = _rows()["nobody@example.com"], _rows()["later@example.com"]
    assert (refused.status, refused.status_reason) == ("failed", "outbox.reason.refused")
    # the server's echo of the (encrypted) recipient is stored masked
    assert refused.last_error == "550 5.1.1 <n****@example.com>: no such mailbox"
    assert (later.status, later.status_reason, later.attempts) == ("pending", "outbox.reason.retrying", 1)
    assert later.last_error == "451 4.3.0 try later" and later.next_attempt_at is not None
    assert dt.timedelta(seconds=55) <= later.next_attempt_at - now <= dt.timedelta(seconds=65)  # 1 minute
    assert outbox_delivery.deliver_due().retrying == 0  # not due yet
    smtp.replies = {}
    with pin(utcnow() + dt.timedelta(minutes=1, seconds=5)):
        assert outbox_delivery.deliver_due().sent == 1
    later = _rows()["later@example.com"]
    assert (later.status, later.attempts, later.last_error) == ("sent", 2, None)
    assert [m["To"] for m in smtp.messages] == ["later@example.com"]


def test_no_server_is_tried_with_a_growing_pause_then_given_up(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OMS_SMTP_PORT", str(free_port()))  # nothing listens there
    _order("li.si@example.com")
    pauses, clock = [], utcnow()
    for attempt in range(1, outbox_delivery.MAX_ATTEMPTS + 1):
        with pin(clock):
            result = outbox_delivery.deliver_due()
        row = _rows()["li.si@example.com"]
        assert row.attempts == attempt and "ConnectionRefusedError" in (row.last_error or "")
        if attempt < outbox_delivery.MAX_ATTEMPTS:
            assert result.retrying == 1 and row.next_attempt_at is not None
            pauses.append(round((row.next_attempt_at - clock).total_seconds() / 60))
            clock = row.next_attempt_at
    assert pauses == [1, 2, 4, 8, 16]
    assert (row.status, row.status_reason) == ("failed", "outbox.reason.gave_up")


def test_without_a_mail_server_emails_wait_with_a_reason(db_url: str) -> None:
    _order("li.si@example.com")
    assert outbox_delivery.deliver_due().waiting == 2
    rows = _rows()
    assert [(r.status, r.status_reason, r.attempts) for r in rows.values()] == [
        ("pending", "outbox.reason.no_sms_gateway", 0), ("pending", "outbox.reason.no_smtp", 0)]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test's certificate")
def test_starttls_when_configured(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = start(inbox, port, tls_context=context, require_starttls=True)
    monkeypatch.setenv("OMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OMS_SMTP_PORT", str(port))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's certificate
    try:
        _order("li.si@example.com")
        result = outbox_delivery.deliver_due()
        assert (result.sent, result.retrying) == (0, 1)  # the server wants TLS: our setting, not the address
        assert "530" in (_rows()["li.si@example.com"].last_error or "")
        monkeypatch.setenv("OMS_SMTP_STARTTLS", "1")
        with pin(utcnow() + dt.timedelta(minutes=2)):
            assert outbox_delivery.deliver_due().sent == 1
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == ["li.si@example.com"]
