"""Request bodies. Unknown fields are refused (``extra="forbid"``): a misspelt field must not be
silently dropped. Amounts are decimal strings or numbers, read as ``Decimal`` (never float)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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
