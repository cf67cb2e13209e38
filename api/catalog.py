"""``/stock`` and ``/products``: what is available where, and the active catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api import values
from api.auth import caller
from core.errors import NotFound
from core.services import catalog
from core.services.api_tokens import Caller

router = APIRouter(tags=["stock", "products"])
Who = Annotated[Caller, Depends(caller)]


@router.get("/stock")
def stock(who: Who, sku: Annotated[list[str], Query(min_length=1, max_length=200)],
          warehouse: str | None = None) -> dict[str, Any]:
    """On hand, reserved and available per SKU and active warehouse holding it."""
    frame = catalog.availability(sku, who.actor)
    if warehouse:
        frame = frame[frame["warehouse"] == warehouse]
    return {"items": values.records(frame)}


@router.get("/products")
def products(who: Who, q: Annotated[str, Query(min_length=1, max_length=100)],
             limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """Active products whose SKU, name or barcode matches ``q`` (exact code first)."""
    return {"items": values.records(catalog.search_products(q, who.actor, limit=limit))}


@router.get("/products/{sku}")
def product(sku: str, who: Who) -> dict[str, Any]:
    frame = catalog.products_by_sku([sku], who.actor)
    if frame.empty:
        raise NotFound.coded("api.no_product", sku=sku)
    return values.record(values.records(frame)[0])
