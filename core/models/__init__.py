"""SQLAlchemy 2.x typed models for the whole OMS data model, one module per area (see docs/architecture.md).

Conventions that every service relies on:
- money columns are :class:`Money`: whole cents (BIGINT) in the database, ``Decimal`` in Python
  (docs/money.md);
- timestamps are naive ``DateTime`` values holding **UTC** (``core.timeutil.utcnow()``), so
  SQLite and PostgreSQL store and compare them the same way;
- quantities are integers; the stock invariants live in CHECK constraints so that even a
  buggy caller cannot leave ``reserved > on_hand`` behind.

Every model is re-exported here so callers keep ``from core.models import Order``.
"""

from core.models.admin import (
    Alert,
    ApiIdempotencyKey,
    ApiToken,
    AuditLog,
    DQRun,
    ImportBatch,
    ImportError_,
    ImportProfile,
    LoginAttempt,
    Notification,
    Rule,
    Sequence,
    Setting,
    User,
    WebhookSubscription,
)
from core.models.aftersales import LookupAttempt, Refund, Return, ReturnLine, RMAEvent
from core.models.base import NAMING, Base, Money, as_money, cents
from core.models.carriers import ANY_PROVINCE, CarrierRate, TrackingRange
from core.models.channel_stock import ChannelStockOverride, ChannelStockPolicy, ChannelStockPublished
from core.models.customers import Customer, CustomerIdentity
from core.models.finance import (
    AccountMapping,
    JournalExport,
    JournalFile,
    Payment,
    SettlementDifference,
    SettlementLine,
)
from core.models.floor import (
    BIN_ZONES,
    Bin,
    MovementBin,
    OrderHold,
    PackScan,
    PickList,
    PickListOrder,
    ProductBin,
    SortScan,
    StockAdjustment,
)
from core.models.jobs import JOB_STATUSES, Job, JobFile
from core.models.kits import KitComponent, OrderKitLine
from core.models.orders import MergeGroup, Order, OrderEvent, OrderLine
from core.models.personal import DataKey
from core.models.planning import (
    Forecast,
    ForecastRun,
    ForecastSeries,
    PlanningEvent,
    POLine,
    PurchaseOrder,
    ReplenishmentSuggestion,
)
from core.models.reference import Carrier, Channel, Product, ProductBarcode, Supplier, Warehouse
from core.models.stock import MOVEMENT_KINDS, StockLevel, StockMovement, Transfer, TransferLine
from core.models.summary import (
    AggBasketPairDaily,
    AggCohort,
    AggCustomer,
    AggCustomerMonth,
    AggCustomerQuintile,
    AggCustomerScore,
    AggFulfillmentDaily,
    AggProductDaily,
    AggSalesDaily,
    AggSalesHourly,
    AggState,
    AggStockDaily,
)

__all__ = [
    "KitComponent", "OrderKitLine",
    "ANY_PROVINCE",
    "CarrierRate",
    "TrackingRange",
    "AccountMapping",
    "AggBasketPairDaily",
    "AggCohort",
    "AggCustomer",
    "AggCustomerMonth",
    "AggCustomerQuintile",
    "AggCustomerScore",
    "AggFulfillmentDaily",
    "AggProductDaily",
    "AggSalesDaily",
    "AggSalesHourly",
    "AggState",
    "AggStockDaily",
    "Alert",
    "AuditLog",
    "ApiIdempotencyKey",
    "ApiToken",
    "BIN_ZONES",
    "Base",
    "Bin",
    "Carrier",
    "DataKey",
    "Channel",
    "ChannelStockOverride",
    "ChannelStockPolicy",
    "ChannelStockPublished",
    "Customer",
    "CustomerIdentity",
    "DQRun",
    "Forecast",
    "ForecastRun",
    "ForecastSeries",
    "ImportBatch",
    "ImportError_",
    "ImportProfile",
    "JOB_STATUSES",
    "Job",
    "JobFile",
    "JournalExport",
    "JournalFile",
    "LoginAttempt",
    "LookupAttempt",
    "MOVEMENT_KINDS",
    "Money",
    "MovementBin",
    "OrderHold",
    "ProductBin",
    "as_money",
    "cents",
    "NAMING",
    "Notification",
    "MergeGroup",
    "Order",
    "OrderEvent",
    "OrderLine",
    "POLine",
    "PackScan",
    "Payment",
    "PickList",
    "PickListOrder",
    "PlanningEvent",
    "Product",
    "ProductBarcode",
    "PurchaseOrder",
    "RMAEvent",
    "Refund",
    "ReplenishmentSuggestion",
    "Return",
    "ReturnLine",
    "Rule",
    "Sequence",
    "Setting",
    "SettlementDifference",
    "SettlementLine",
    "SortScan",
    "StockAdjustment",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "Transfer",
    "TransferLine",
    "User",
    "Warehouse",
    "WebhookSubscription",
]
