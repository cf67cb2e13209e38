"""What a customer's message says: one outbox row → the e-mail (subject, plain text, HTML) and
the SMS text, in the shop's language, from the message catalogs (``mail.*``, ``sms.*`` in
:mod:`core.locales.jobs`).

Three events have their own template; every other event gets the generic mail (the event's
headline, the order or request number, status, carrier and tracking number):

- **order confirmation** (``order.created``, ``order.confirmed``): the lines (name, SKU,
  quantity, amount), the total and the city the parcel goes to;
- **shipment** (``order.shipped``): carrier, tracking number and the carrier's tracking page —
  the ``tracking_url`` of the carrier whose name (or code) the order holds, with the tracking
  number filled in (Master data → Carriers);
- **refund** (``rma.refunded``): the amount refunded and the RMA number.

The outbox row carries what the change knew (number, status, carrier, tracking number, refund
amount); the order's lines, customer name and city, and the carrier's tracking page are read
when the message is written, so a carrier's page added after the shipment still makes the link.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import config, i18n
from core.db import read_only
from core.models import Carrier, Order, OrderLine, Product
from core.refdata import shop_profile

CONFIRMATION_EVENTS = frozenset({"order.created", "order.confirmed"})
SHIPMENT_EVENT, REFUND_EVENT = "order.shipped", "rma.refunded"
TRACKING_PLACEHOLDER = "{tracking_no}"
MAX_LINES = 50  # an order's lines listed in a confirmation; more are summed up as "… and N more"


@dataclass(frozen=True)
class Line:
    name: str
    sku: str
    qty: int
    amount: Decimal


@dataclass(frozen=True)
class OrderFacts:
    """What the templates read from the database for one order (empty when there is none)."""

    customer: str = ""
    city: str = ""
    total: Decimal | None = None
    lines: tuple[Line, ...] = ()
    more_lines: int = 0
    tracking_url: str | None = None  # the carrier's page with this parcel's number filled in


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # the e-mail's plain text
    html: str  # the same as HTML
    sms: str  # short: headline and the one detail that matters (tracking link, refund amount)


@dataclass
class _Body:
    """A message being written: paragraphs of text, some of them with a link."""

    paragraphs: list[str] = field(default_factory=list)
    links: dict[int, str] = field(default_factory=dict)  # paragraph index → URL shown as a link

    def add(self, text: str, link: str | None = None) -> None:
        if link:
            self.links[len(self.paragraphs)] = link
        self.paragraphs.append(text)


def tracking_link(template: str | None, tracking_no: str | None) -> str | None:
    """The carrier's tracking page for one parcel: ``{tracking_no}`` replaced by the number
    (URL-quoted); None without a template or a number."""
    if not template or not tracking_no or TRACKING_PLACEHOLDER not in template:
        return None
    return template.replace(TRACKING_PLACEHOLDER, quote(tracking_no.strip(), safe=""))


@read_only
def order_facts(session: Session, order_id: int | None, carrier: str | None, tracking_no: str | None) -> OrderFacts:
    """The order's customer, city, total and lines, and the carrier's tracking link."""
    tracking_url = None
    if carrier and tracking_no:
        name = carrier.strip()
        template = session.execute(select(Carrier.tracking_url).where(
            Carrier.active, or_(Carrier.name == name, Carrier.code == name.upper()))).scalar()
        tracking_url = tracking_link(template, tracking_no)
    if order_id is None:
        return OrderFacts(tracking_url=tracking_url)
    order = session.execute(select(Order.ship_name, Order.ship_city, Order.total).where(Order.id == order_id)).first()
    if order is None:
        return OrderFacts(tracking_url=tracking_url)
    rows = session.execute(select(Product.name, Product.sku, OrderLine.qty, OrderLine.line_total)
                           .join(Product, Product.id == OrderLine.product_id).where(OrderLine.order_id == order_id)
                           .order_by(OrderLine.line_no).limit(MAX_LINES)).all()
    count = session.execute(select(func.count()).where(OrderLine.order_id == order_id)).scalar_one()
    return OrderFacts(order.ship_name or "", order.ship_city or "", order.total,
                      tuple(Line(r.name, r.sku, r.qty, r.line_total) for r in rows), max(0, count - len(rows)),
                      tracking_url)


def render(event: str, payload: dict[str, Any], order_id: int | None, language: str) -> Message:
    """The message for one outbox row in ``language`` (see the module docstring)."""
    facts = order_facts(order_id, payload.get("carrier"), payload.get("tracking_no"))
    return compose(event, payload, facts, language, str(shop_profile().get("name") or ""), config.currency())


def compose(event: str, payload: dict[str, Any], facts: OrderFacts, language: str, shop: str,
            currency: str) -> Message:
    """The message from what :func:`render` gathered (no database: the templates alone)."""
    def t(key: str, **params: Any) -> str:
        return i18n.translate(key, language, **params)

    def money(value: Any) -> str:
        return i18n.format_money(value if value not in (None, "") else None, currency, language)

    params = {k: "" if v is None else v for k, v in payload.items()}
    key = f"mail.event.{event}"
    headline = t(key, **params) if i18n.has_key(key, language) else t("mail.event.generic", event=event, **params)
    shop_name = shop or t("app.title")
    body = _Body()
    body.add(t("mail.greeting", name=facts.customer) if facts.customer else t("mail.greeting_anon"))
    body.add(headline)
    sms_detail = ""
    if event in CONFIRMATION_EVENTS:
        _confirmation(body, payload, facts, t, money)
    elif event == SHIPMENT_EVENT:
        sms_detail = _shipment(body, payload, facts, t)
    elif event == REFUND_EVENT:
        sms_detail = t("mail.refund.amount", amount=money(payload.get("amount")))
        body.add(t("mail.refund.intro", rma=params.get("rma", ""), order=params.get("order", ""),
                   amount=money(payload.get("amount"))))
        body.add(t("mail.refund.when"))
    else:
        _generic(body, event, payload, t, language)
    body.add(t("mail.footer", shop=shop_name))
    subject = f"{shop} · {headline}" if shop else headline
    sms = t("sms.signed", shop=shop_name, text=" ".join(filter(None, (headline, sms_detail))))
    return Message(subject, "\n\n".join(body.paragraphs) + "\n", _html(subject, body, language), sms)


def _confirmation(body: _Body, payload: dict[str, Any], facts: OrderFacts, t: Callable[..., str],
                  money: Callable[[Any], str]) -> None:
    if facts.lines:
        items = [t("mail.line.item", name=ln.name, sku=ln.sku, qty=ln.qty, amount=money(ln.amount))
                 for ln in facts.lines]
        if facts.more_lines:
            items.append(t("mail.line.more", n=facts.more_lines))
        body.add("\n".join([t("mail.confirm.intro"), *items]))
    body.add(t("mail.line.total", value=money(facts.total if facts.total is not None else payload.get("total"))))
    if facts.city:
        body.add(t("mail.line.ship_to", city=facts.city))


def _shipment(body: _Body, payload: dict[str, Any], facts: OrderFacts, t: Callable[..., str]) -> str:
    """Carrier, tracking number and link; the SMS's detail."""
    carrier, tracking = payload.get("carrier") or "", payload.get("tracking_no") or ""
    if tracking:
        body.add(t("mail.ship.intro", carrier=carrier or "—", tracking_no=tracking))
    if facts.tracking_url:
        body.add(t("mail.ship.track", url=facts.tracking_url), link=facts.tracking_url)
    detail = t("sms.ship", carrier=carrier, tracking_no=tracking) if tracking else ""
    return " ".join(filter(None, (detail, facts.tracking_url or "")))


def _generic(body: _Body, event: str, payload: dict[str, Any], t: Callable[..., str], language: str) -> None:
    lines = []
    for name, line_key in (("number", "mail.line.order"), ("order", "mail.line.order"), ("rma", "mail.line.rma"),
                           ("total", "mail.line.total"), ("carrier", "mail.line.carrier"),
                           ("tracking_no", "mail.line.tracking")):
        if payload.get(name):
            lines.append(t(line_key, value=payload[name]))
    if payload.get("status") and event.startswith("order."):
        lines.append(t("mail.line.status", value=i18n.label("status", payload["status"], language)))
    if lines:
        body.add("\n".join(lines))


def _html(subject: str, body: _Body, language: str) -> str:
    """The plain text as simple HTML: one paragraph each, line breaks kept, links clickable."""
    parts = []
    for i, text in enumerate(body.paragraphs):
        escaped = "<br>".join(html.escape(line) for line in text.split("\n"))
        link = body.links.get(i)
        if link:
            url = html.escape(link, quote=True)
            escaped = escaped.replace(html.escape(link), f'<a href="{url}">{html.escape(link)}</a>')
        parts.append(f"<p>{escaped}</p>")
    lang = "zh-CN" if language == "zh" else "en"
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(subject)}</title>'
            f"</head><body>{''.join(parts)}</body></html>")
