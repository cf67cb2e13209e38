"""Sending text messages: a gateway is an adapter with one method, ``send(phone, text)``, that
says what became of the message (:class:`SmsOutcome`); ``OMS_SMS_BACKEND`` picks the one this
installation uses (:func:`gateway`).

Only one adapter ships: ``log`` writes each message to the ``oms.sms`` logger, the number
masked (``138****8000``, :func:`core.pii.mask_phone`) so a log never holds a customer's full
phone number. A real gateway (Aliyun SMS, Tencent Cloud SMS …) is another class with the same
``send`` added to :data:`BACKENDS`; the outbox's bookkeeping (retries, ``failed``) is the same
for every adapter (:mod:`core.services.outbox_delivery`).

The text of a message is the outbox's business; this module only hands it over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core import environment, pii

log = logging.getLogger("oms.sms")


@dataclass(frozen=True)
class SmsOutcome:
    """What the gateway did with one message: taken (``error`` None), or not — ``permanent``
    when trying again cannot help (an invalid number), else it is tried again later."""

    error: str | None = None
    permanent: bool = False


SENT = SmsOutcome()


class SmsGateway(Protocol):
    """An SMS adapter. ``send`` never raises for a message the gateway did not take: it says so."""

    def send(self, phone: str, text: str) -> SmsOutcome: ...


class LoggingGateway:
    """Writes the message to the ``oms.sms`` log (INFO) instead of a phone: the number masked,
    the text in full (it holds no more than the customer's own order details)."""

    def send(self, phone: str, text: str) -> SmsOutcome:
        log.info("SMS to %s: %s", pii.mask_phone(phone), text)
        return SENT


BACKENDS: dict[str, Callable[[], SmsGateway]] = {"log": LoggingGateway}


def gateway() -> SmsGateway | None:
    """The configured adapter; None when ``OMS_SMS_BACKEND`` is unset or names none of
    :data:`BACKENDS` (SMS rows then wait in the outbox, and a warning names the setting)."""
    name = environment.sms_backend()
    if name is None:
        return None
    factory = BACKENDS.get(name)
    if factory is None:
        log.warning("OMS_SMS_BACKEND=%s is not one of %s: SMS messages wait", name, ", ".join(sorted(BACKENDS)))
        return None
    return factory()
