"""``/stock`` and ``/products``: what is available where, the active catalogue (paged), and
product upserts through the product master the editor page uses."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api import values
from api.auth import caller
from api.schemas import ProductIn
from core.errors import NotFound
from core.services import catalog, product_master
from core.services.api_tokens import Caller

router = APIRouter(tags=["stock", "products"])
Who = Annotated[Caller, Depends(caller)]
MAX_PAGE = 200


@router.get("/stock")
def stock(who: Who, sku: Annotated[list[Annotated[str, Query(max_length=64)]], Query(min_length=1, max_length=200)],
          warehouse: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, Any]:
    """On hand, reserved and available per SKU and active warehouse holding it."""
    frame = catalog.availability(sku, who.actor)
    if warehouse:
        frame = frame[frame["warehouse"] == warehouse]
    return {"items": values.records(frame)}


@router.get("/products")
def products(who: Who, q: Annotated[str, Query(max_length=100)] = "",
             category: Annotated[str | None, Query(max_length=100)] = None,
             limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
             cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    """Active products in SKU order, optionally matching ``q`` (SKU, name or barcode) and in
    ``category``; ``next_cursor`` continues after the last one (null on the last page)."""
    frame = catalog.product_page(who.actor, query=q, category=category, limit=limit + 1,
                                 after_sku=values.decode_key(cursor) if cursor else None)
    more = len(frame) > limit
    frame = frame.head(limit)
    return {"items": values.records(frame),
            "next_cursor": values.encode_key(str(frame.iloc[-1]["sku"])) if more else None}


@router.get("/products/{sku}")
def product(sku: str, who: Who) -> dict[str, Any]:
    frame = catalog.products_by_sku([sku], who.actor)
    if frame.empty:
        raise NotFound.coded("api.no_product", sku=sku)
    return values.records(frame)[0]


def product_record(record: product_master.ProductRecord) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data["attributes"] = dict(record.attributes)
    data["barcodes"] = list(record.barcodes)
    return values.record(data)


@router.put("/products/{sku}", status_code=200, responses={201: {"description": "created"}})
def upsert(sku: str, body: ProductIn, who: Who, response: Response) -> dict[str, Any]:
    """Create the product or replace its fields (201 when created, 200 when updated)."""
    draft = product_master.ProductDraft(sku=sku, **body.model_dump())
    done = product_master.upsert_product(draft, who.actor)
    if done.created:
        response.status_code = 201
    return product_record(done.record)
