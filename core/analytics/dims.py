"""Names for the ids the summary tables are keyed by (channels, warehouses, products).

Summaries store ids only; dashboards show names. These small reference tables are read once
per query and joined in pandas after aggregation (a handful of rows each).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Channel, Product, Warehouse

NO_WAREHOUSE = 0  # warehouse key of orders not allocated to any warehouse


def channels(s: Session) -> pd.DataFrame:
    """``[channel_id, channel_code, channel]`` for every channel (active or not)."""
    rows = s.execute(select(Channel.id, Channel.code, Channel.name).order_by(Channel.id)).all()
    return pd.DataFrame(rows, columns=["channel_id", "channel_code", "channel"]).astype({"channel_id": "int64"})


def warehouses(s: Session) -> pd.DataFrame:
    """``[warehouse_id, warehouse_code, warehouse]``, including the "no warehouse" key 0."""
    rows = s.execute(select(Warehouse.id, Warehouse.code, Warehouse.name).order_by(Warehouse.id)).all()
    frame = pd.DataFrame([(NO_WAREHOUSE, "", ""), *rows], columns=["warehouse_id", "warehouse_code", "warehouse"])
    return frame.astype({"warehouse_id": "int64"})


def products(s: Session, ids: list[int] | None = None) -> pd.DataFrame:
    """``[product_id, sku, name, category, unit_price, unit_cost, active]`` (all, or ``ids``)."""
    stmt = select(Product.id, Product.sku, Product.name, Product.category, Product.unit_price, Product.unit_cost,
                  Product.active)
    if ids is not None:
        stmt = stmt.where(Product.id.in_(ids))
    rows = s.execute(stmt.order_by(Product.id)).all()
    return pd.DataFrame(rows, columns=["product_id", "sku", "name", "category", "unit_price", "unit_cost",
                                       "active"]).astype({"product_id": "int64"})
