"""Orders, one module per job: ``entry`` (create), ``lifecycle`` (transitions and edits),
``queries`` (search and detail) and ``backorders`` (arrivals release waiting orders).

The public names are re-exported here, so callers write ``orders.create_order`` or
``from core.services.orders import OrderInput`` without knowing the split; so are the state
machine's tables (``orders.TRANSITIONS`` …), which live in :mod:`core.domain.order_flow`.
"""

from core.domain.order_flow import EDITABLE_FIELDS, PERMISSION_FOR_TARGET, TIMESTAMP_FOR_TARGET, TRANSITIONS
from core.domain.rulebook import (
    DELIVERY_METHODS,
    OPEN_STATUSES,
    ORDER_PAYMENT_STATUSES,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    STATUSES,
)
from core.services.orders.backorders import lock_for_arrival, lock_orders_and_stock, reserve_backorders
from core.services.orders.entry import LineInput, OrderInput, OrderResult, create_order
from core.services.orders.lifecycle import packing_requires_scan, transition, update_order
from core.services.orders.queries import (
    SEARCH_COLUMNS,
    OrderDetail,
    count_orders,
    export_orders,
    order_detail,
    order_id_by_number,
    order_id_for,
    search_orders,
)

__all__ = [
    "DELIVERY_METHODS", "EDITABLE_FIELDS", "OPEN_STATUSES", "ORDER_PAYMENT_STATUSES", "PAYMENT_METHODS", "PAYMENT_STATUSES",
    "PERMISSION_FOR_TARGET", "SEARCH_COLUMNS", "STATUSES", "TIMESTAMP_FOR_TARGET", "TRANSITIONS",
    "LineInput", "OrderDetail", "OrderInput", "OrderResult", "create_order", "lock_for_arrival",
    "count_orders", "export_orders", "lock_orders_and_stock", "order_detail", "order_id_by_number", "order_id_for",
    "packing_requires_scan", "reserve_backorders", "search_orders", "transition", "update_order",
]
