"""Request bodies. Unknown fields are refused (``extra="forbid"``): a misspelt field must not be
silently dropped. Amounts are decimal strings or numbers, read as ``Decimal`` (never float)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineIn(Strict):
    sku: str = Field(max_length=64)
    qty: int
    unit_price: Decimal | None = None
    discount: Decimal = Decimal("0")


class OrderIn(Strict):
    channel: str = Field(max_length=32)
    lines: list[LineIn] = Field(max_length=500)
    customer_name: str = Field(default="", max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    walk_in: bool = False
    province: str | None = Field(default=None, max_length=50)
    city: str | None = Field(default=None, max_length=50)
    district: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=300)
    payment_method: str | None = None
    payment_status: str = "unpaid"
    delivery_method: str = "express"
    shipping_fee: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")
    expected_total: Decimal | None = None
    warehouse: str | None = None
    external_ref: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=500)
    priority: int = 0
    allow_backorder: bool = False
    placed_at: dt.datetime | None = None


class TransitionIn(Strict):
    expected_version: int | None = None
    note: str | None = Field(default=None, max_length=500)


class ShipIn(TransitionIn):
    carrier: str | None = Field(default=None, max_length=32)
    tracking_no: str | None = Field(default=None, max_length=64)


class ProductIn(Strict):
    """``PUT /products/{sku}``: the product's fields (the SKU is the path). A PUT replaces the
    whole product: a field left out takes its default (no barcodes, no supplier …)."""

    name: str = Field(max_length=200)
    unit_price: Decimal | None = None
    category: str = Field(default="", max_length=100)
    brand: str = Field(default="", max_length=100)
    barcodes: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=50)
    attributes: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=200)]] = Field(
        default={}, max_length=50)
    unit_cost: Decimal | None = None
    supplier: str | None = Field(default=None, max_length=100)
    pack_size: int | None = 1
    lead_time_days: int | None = None
    weight_kg: Decimal | None = None
    active: bool = True


class ReturnLineIn(Strict):
    line_no: int
    qty: int
    replacement_sku: str | None = Field(default=None, max_length=64)


class ReturnIn(Strict):
    """``POST /returns``: which order, what kind, why, and which of its lines (numbered from 1
    as ``GET /orders/{number}`` lists them)."""

    order_number: str = Field(max_length=40)
    kind: str = Field(max_length=20)
    reason_code: str = Field(max_length=40)
    lines: list[ReturnLineIn] = Field(max_length=500)
    note: str | None = Field(default=None, max_length=2000)
    override: bool = False


class ReceiveIn(Strict):
    """``POST /purchase-orders/{number}/receive``: units arriving now per PO line id (the
    ``line_id`` of ``GET /purchase-orders/{number}``), e.g. ``{"lines": {"12": 5}}``."""

    lines: dict[int, int] = Field(max_length=500)
    note: str | None = Field(default=None, max_length=200)


class FieldError(BaseModel):
    field: str
    row: int | None
    reason: str


class ErrorOut(BaseModel):
    """Every refusal (docs/api.md): the message code, its text in the caller's language, and
    the fields at fault."""

    code: str
    message: str
    fields: list[FieldError]
