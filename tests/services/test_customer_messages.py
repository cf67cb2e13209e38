"""What the customer receives, read back from a real SMTP server (aiosmtpd on 127.0.0.1) and from
the SMS log: the order confirmation (lines, quantities, total, city), the shipment (carrier,
tracking number, the carrier's tracking link) and the refund (amount, RMA number), in the shop's
language; texts through the logging adapter with the number masked, and the same retry and
failure bookkeeping as e-mails; implicit TLS."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core import db, sms
from core.models import Notification
from core.services import aftersales as rma
from core.services import master_data as md
from core.services import outbox_delivery
from core.services.aftersales import RMALine, RMARequest
from core.services.orders import create_order, transition
from core.timeutil import pin, utcnow
from tests.aftersales_data import delivered_order
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, make_product, order_input, pack_by_scan
from tests.smtp_support import Inbox, free_port, html_of, start, text_of

EMAIL = "li.si@example.com"
KUAIDI100_SF = "https://www.kuaidi100.com/chaxun?com=shunfeng&nu=SF1234567890"  # the demo's 顺丰速运


def _confirmed_order(**kw: object) -> str:
    make_product("TEA", "12.50", {"SH": 50})
    make_product("CUP", "30.00", {"SH": 50})
    return create_order(order_input(("TEA", 2), ("CUP", 1), email=EMAIL, **kw), CLERK).number


def _shipped_order(carrier: str, tracking: str, sku: str = "TEA") -> str:
    make_product(sku, "12.50", {"SH": 50})
    order = create_order(order_input((sku, 1), email=EMAIL), CLERK)
    pack_by_scan(order.id, ADMIN)
    transition(order.id, "shipped", ADMIN, carrier=carrier, tracking_no=tracking)
    return order.number


def _mail(inbox: Inbox, subject_part: str) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the one message whose subject holds ``subject_part``."""
    [message] = [m for m in inbox.messages if subject_part in m["Subject"]]
    return message["Subject"], text_of(message), html_of(message)


def _rows(channel: str) -> list[Notification]:
    with db.transaction(readonly=True) as s:
        return list(s.execute(select(Notification).where(Notification.channel == channel)
                              .order_by(Notification.id)).scalars())


# --- e-mail templates -------------------------------------------------------------------------


def test_the_order_confirmation_lists_lines_total_and_city_in_chinese(smtp: Inbox) -> None:
    number = _confirmed_order()
    assert outbox_delivery.deliver_due().sent == 1
    subject, text, html = _mail(smtp, number)
    assert subject == f"我们已收到您的订单 {number}"
    assert text.startswith("张三，您好：")
    assert "· 商品 TEA（TEA）× 2　¥25.00" in text and "· 商品 CUP（CUP）× 1　¥30.00" in text
    assert "金额：¥55.00" in text and "寄往：上海市" in text
    assert "<p>张三，您好：</p>" in html and "商品 TEA（TEA）× 2" in html


def test_the_order_confirmation_in_english_when_the_shop_speaks_english(smtp: Inbox,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_LANG", "en")
    number = _confirmed_order()
    outbox_delivery.deliver_due()
    subject, text, html = _mail(smtp, number)
    assert subject == f"We have received your order {number}"
    assert text.startswith("Dear 张三,")
    assert "· 商品 TEA (TEA) × 2  CN¥25.00" in text and "Total: CN¥55.00" in text and "Ships to: 上海市" in text
    assert '<html lang="en">' in html
    assert "您好" not in text


def test_the_shipment_mail_carries_carrier_tracking_number_and_link(smtp: Inbox) -> None:
    number = _shipped_order("顺丰速运", "SF1234567890")
    outbox_delivery.deliver_due()
    subject, text, html = _mail(smtp, "已发货")
    assert subject == f"您的订单 {number} 已发货"
    assert "您的包裹已交由顺丰速运承运，运单号 SF1234567890。" in text
    assert f"查询物流：{KUAIDI100_SF}" in text
    assert f'<a href="{KUAIDI100_SF.replace("&", "&amp;")}">' in html


def test_the_tracking_link_follows_the_carrier_kept_in_master_data(smtp: Inbox) -> None:
    md.create_carrier(md.CarrierInput("EMS", "中国邮政 EMS", "https://track.example.com/ems/{tracking_no}?x=1"),
                      MANAGER)
    _shipped_order("中国邮政 EMS", "E 12/3")  # a number that needs quoting in a URL
    md.create_carrier(md.CarrierInput("NOLINK", "同城跑腿"), MANAGER)
    _shipped_order("同城跑腿", "PT-1", sku="CUP")
    outbox_delivery.deliver_due()
    shipped = [text_of(m) for m in smtp.messages if "已发货" in m["Subject"]]
    assert "查询物流：https://track.example.com/ems/E%2012%2F3?x=1" in shipped[0]
    assert "运单号 PT-1" in shipped[1] and "查询物流" not in shipped[1]  # no tracking page kept: no link


def test_the_refund_mail_names_the_amount_and_the_rma(smtp: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_LANG", "en")
    make_product("A", "50.00", {"SH": 10})
    order = delivered_order(("A", 1), email=EMAIL)
    opened = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(opened.id, "approved", MANAGER)
    rma.refund_rma(opened.id, SERVICE, amount="20.5")
    outbox_delivery.deliver_due()
    subject, text, _ = _mail(smtp, "refunded")
    assert subject == f"Your request {opened.number} has been refunded"
    assert f"We have refunded CN¥20.50 for request {opened.number} (order {order.number})." in text


def test_other_events_keep_the_generic_mail(smtp: Inbox) -> None:
    make_product("TEA", "12.50", {"SH": 50})
    order = create_order(order_input(("TEA", 1), email=EMAIL), CLERK)
    transition(order.id, "cancelled", ADMIN)
    outbox_delivery.deliver_due()
    _, text, _ = _mail(smtp, "已取消")
    assert f"订单：{order.number}" in text and "状态：已取消" in text


# --- SMS ----------------------------------------------------------------------------------------


def test_texts_go_out_through_the_logging_adapter_with_the_number_masked(
        db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OMS_SMS_BACKEND", "log")
    number = _shipped_order("顺丰速运", "SF1234567890")
    with caplog.at_level(logging.INFO, logger="oms.sms"):
        result = outbox_delivery.deliver_due()
    assert result.sent == 2  # created, shipped (e-mails wait: no mail server here)
    texts = [r.getMessage() for r in caplog.records if r.name == "oms.sms"]
    assert texts[1] == (f"SMS to 138****8000: 【零售订单管理】您的订单 {number} 已发货 顺丰速运 运单号 SF1234567890 "
                        f"{KUAIDI100_SF}")
    assert not any("13800138000" in r.getMessage() for r in caplog.records)
    assert [(r.status, r.attempts) for r in _rows("sms")] == [("sent", 1), ("sent", 1)]
    assert {r.status_reason for r in _rows("email")} == {"outbox.reason.no_smtp"}


class _Scripted:
    """An SMS gateway that answers from a script (an outcome per message, the last one repeats)."""

    def __init__(self, *outcomes: sms.SmsOutcome) -> None:
        self.outcomes, self.calls = list(outcomes), 0

    def send(self, phone: str, text: str) -> sms.SmsOutcome:
        self.calls += 1
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]


@pytest.fixture
def gateway(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Scripted]:
    scripted = _Scripted(sms.SENT)
    monkeypatch.setitem(sms.BACKENDS, "scripted", lambda: scripted)
    monkeypatch.setenv("OMS_SMS_BACKEND", "scripted")
    yield scripted


def test_a_text_the_gateway_refuses_for_good_fails_and_a_busy_one_is_retried(gateway: _Scripted) -> None:
    gateway.outcomes = [sms.SmsOutcome("invalid number", permanent=True), sms.SmsOutcome("throttled")]
    make_product("TEA", "12.50", {"SH": 50})
    create_order(order_input(("TEA", 1), phone="13800138001"), CLERK)
    create_order(order_input(("TEA", 1), phone="13800138002"), CLERK)
    assert outbox_delivery.deliver_due() == outbox_delivery.DeliveryResult(sent=0, retrying=1, failed=1, waiting=0)
    refused, busy = _rows("sms")
    assert (refused.status, refused.status_reason, refused.last_error) == ("failed", "outbox.reason.refused",
                                                                           "invalid number")
    assert (busy.status, busy.status_reason, busy.attempts) == ("pending", "outbox.reason.retrying", 1)
    assert busy.next_attempt_at is not None and busy.next_attempt_at - utcnow() <= dt.timedelta(minutes=1)
    gateway.outcomes = [sms.SENT]
    with pin(utcnow() + dt.timedelta(minutes=1, seconds=5)):
        assert outbox_delivery.deliver_due().sent == 1
    assert [(r.status, r.attempts) for r in _rows("sms")] == [("failed", 1), ("sent", 2)]
    assert gateway.calls == 3


def test_a_text_that_keeps_failing_is_given_up_after_the_last_try(gateway: _Scripted) -> None:
    gateway.outcomes = [sms.SmsOutcome("gateway timeout")]
    make_product("TEA", "12.50", {"SH": 50})
    create_order(order_input(("TEA", 1)), CLERK)
    clock = utcnow()
    for _ in range(outbox_delivery.MAX_ATTEMPTS):
        with pin(clock):
            outbox_delivery.deliver_due()
        [row] = _rows("sms")
        clock = row.next_attempt_at or clock
    assert (row.status, row.status_reason, row.attempts) == ("failed", "outbox.reason.gave_up",
                                                             outbox_delivery.MAX_ATTEMPTS)
    assert gateway.calls == outbox_delivery.MAX_ATTEMPTS


def test_an_unknown_sms_backend_leaves_texts_waiting(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_SMS_BACKEND", "carrier-pigeon")
    make_product("TEA", "12.50", {"SH": 50})
    create_order(order_input(("TEA", 1)), CLERK)
    outbox_delivery.deliver_due()
    assert [(r.status, r.status_reason) for r in _rows("sms")] == [("pending", "outbox.reason.no_sms_gateway")]


# --- implicit TLS -------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test's certificate")
def test_implicit_tls_when_configured(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = start(inbox, port, ssl_context=context)
    monkeypatch.setenv("OMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OMS_SMTP_PORT", str(port))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's certificate
    try:
        number = _confirmed_order()
        assert outbox_delivery.deliver_due().retrying == 1  # plain SMTP to a TLS port: no conversation
        monkeypatch.setenv("OMS_SMTP_TLS", "tls")
        with pin(utcnow() + dt.timedelta(minutes=2)):
            assert outbox_delivery.deliver_due().sent == 1
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == [EMAIL] and number in inbox.messages[0]["Subject"]
