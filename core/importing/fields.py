"""The OMS fields an import can fill, per kind, with how to read them and how to recognise them.

A profile maps each of these to a source column (or a constant). ``synonyms`` are header names
seen in real exports (Chinese and English); the Import page pre-selects a column whose header
matches one, so building a profile for a new channel is mostly confirming guesses. The generic
OMS format (docs/import-format.md) uses exactly the field names as headers.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("orders", "products", "stock", "customers", "settlements")
# kind of value → parser in core.importing.parse
TYPES = ("text", "code", "date", "money", "qty", "int", "phone", "email", "bool")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool = False
    level: str = "order"  # orders: "order" (same on every line of an order) or "line"
    synonyms: tuple[str, ...] = ()


def _f(name: str, type_: str, *synonyms: str, required: bool = False, level: str = "order") -> FieldSpec:
    return FieldSpec(name, type_, required, level, synonyms)


ORDER_FIELDS: tuple[FieldSpec, ...] = (
    _f("external_ref", "text", "订单编号", "订单号", "小票号", "单号", "order_id", "order_ref", "order no", "order_no",
       "receipt", "receipt_no", required=True),
    _f("line_ref", "text", "子订单编号", "行号", "order_item_id", "line_ref", "line_no", "line", level="line"),
    _f("channel", "code", "渠道", "channel"),
    _f("placed_at", "date", "订单创建时间", "下单时间", "日期", "时间", "order_purchase_timestamp", "created_at", "date",
       "time", required=True),
    _f("approved_at", "date", "订单付款时间", "付款时间", "order_approved_at", "paid_at"),
    _f("shipped_at", "date", "发货时间", "出库时间", "order_delivered_carrier_date"),
    _f("delivered_at", "date", "确认收货时间", "签收时间", "order_delivered_customer_date"),
    _f("cancelled_at", "date", "关闭时间", "取消时间"),
    _f("status", "code", "订单状态", "order_status"),
    _f("customer_name", "text", "收货人姓名", "客户姓名", "收货人", "客户", "customer_name", "customer", "name"),
    _f("buyer_id", "text", "买家会员名", "下单帐号", "下单账号", "客户账号", "customer_unique_id", "buyer_id"),
    _f("phone", "phone", "联系手机", "联系电话", "手机", "手机号", "phone", "mobile"),
    _f("email", "email", "邮箱", "email", "e-mail"),
    _f("full_address", "text", "收货地址", "客户地址", "full_address"),
    _f("province", "text", "省", "省份", "customer_state", "province", "state"),
    _f("city", "text", "市", "城市", "customer_city", "city"),
    _f("district", "text", "区", "县", "区县", "district"),
    _f("address", "text", "详细地址", "街道地址", "address"),
    _f("sku", "text", "商品编码", "商家编码", "商品编号", "外部系统编号", "product_id", "sku", required=True,
       level="line"),
    _f("product_name", "text", "宝贝标题", "商品名称", "品名", "product_name", "item", "product", "name",
       level="line"),
    _f("category", "text", "商品类目", "product_category_name", "category", level="line"),
    _f("qty", "qty", "购买数量", "订购数量", "数量", "宝贝数量", "qty", "quantity", required=True, level="line"),
    _f("unit_price", "money", "单价", "价格", "京东价", "商品单价", "price", "unit_price", level="line"),
    _f("line_discount", "money", "优惠金额", "商品优惠", "line_discount", level="line"),
    _f("line_total", "money", "实付金额", "应付金额", "商品实付", "金额", "line_total", "amount", level="line"),
    _f("unit_cost", "money", "成本", "成本价", "进价", "unit_cost", "cost", level="line"),
    _f("shipping_fee", "money", "运费", "买家应付邮费", "运费金额", "freight_value", "shipping_fee"),
    _f("order_discount", "money", "订单优惠", "店铺优惠", "order_discount"),
    _f("order_total", "money", "订单金额", "总金额", "买家实际支付金额", "order_total", "total"),
    _f("payment_method", "code", "付款方式", "支付方式", "payment_type", "payment_method"),
    _f("payment_status", "code", "付款状态", "payment_status"),
    _f("delivery_method", "code", "配送方式", "运送方式", "delivery_method"),
    _f("warehouse", "code", "发货仓", "仓库", "warehouse"),
    _f("carrier", "text", "物流公司", "快递公司", "carrier"),
    _f("tracking_no", "text", "物流单号", "运单号", "快递单号", "tracking_no"),
    _f("note", "text", "买家留言", "订单备注", "备注", "note"),
)

PRODUCT_FIELDS: tuple[FieldSpec, ...] = (
    _f("sku", "text", "商品编码", "商家编码", "SKU", "sku", "product_id", required=True),
    _f("name", "text", "商品名称", "宝贝标题", "名称", "name", "product_name"),
    _f("category", "text", "类目", "商品类目", "分类", "category", "product_category_name"),
    _f("brand", "text", "品牌", "brand"),
    _f("barcode", "text", "条码", "条形码", "barcode", "ean"),
    _f("unit_price", "money", "售价", "价格", "单价", "unit_price", "price"),
    _f("unit_cost", "money", "成本", "进价", "unit_cost", "cost"),
    _f("pack_size", "int", "箱规", "包装数", "pack_size"),
    _f("lead_time_days", "int", "采购周期", "lead_time_days"),
    _f("supplier", "text", "供应商", "supplier"),
    _f("size", "text", "尺码", "size"),
    _f("color", "text", "颜色", "color", "colour"),
    _f("active", "bool", "在售", "上架", "active"),
)

STOCK_FIELDS: tuple[FieldSpec, ...] = (
    _f("sku", "text", "商品编码", "商家编码", "SKU", "sku", required=True),
    _f("warehouse", "code", "仓库", "仓库编码", "warehouse", required=True),
    _f("qty", "int", "数量", "盘点数量", "库存", "实盘数量", "qty", "on_hand", required=True),
    _f("reason", "text", "原因", "备注", "reason", "note"),
)

CUSTOMER_FIELDS: tuple[FieldSpec, ...] = (
    _f("customer_name", "text", "姓名", "客户姓名", "customer_name", "name", required=True),
    _f("phone", "phone", "手机", "手机号", "联系电话", "phone", "mobile"),
    _f("email", "email", "邮箱", "email"),
    _f("buyer_id", "text", "会员名", "买家会员名", "buyer_id", "customer_unique_id"),
    _f("channel", "code", "渠道", "channel"),
    _f("full_address", "text", "地址", "收货地址", "full_address"),
    _f("province", "text", "省", "省份", "province", "customer_state"),
    _f("city", "text", "市", "城市", "city", "customer_city"),
    _f("district", "text", "区", "县", "district"),
    _f("address", "text", "详细地址", "address"),
    _f("tier", "code", "会员等级", "tier"),
    _f("tags", "text", "标签", "tags"),
)

# Payout statements of payment providers and platforms (issue 21, docs/finance.md): one row per
# money movement. ``amount`` is the gross amount of the payment or refund (a refund may be
# given as a negative amount instead of a ``kind``); ``fee`` and ``commission`` are what the
# provider or platform kept; ``net`` what reached the shop (computed when absent).
SETTLEMENT_FIELDS: tuple[FieldSpec, ...] = (
    _f("settled_at", "date", "入账时间", "结算时间", "账务时间", "交易时间", "发生时间", "settled_at", "date",
       required=True),
    _f("amount", "money", "收入金额", "订单金额", "交易金额", "商品金额", "amount", "gross", required=True),
    _f("kind", "code", "收支类型", "业务类型", "账务类型", "交易类型", "kind", "type"),
    _f("provider_ref", "text", "支付宝交易号", "微信支付单号", "微信订单号", "交易号", "流水号", "provider_ref",
       "transaction_id"),
    _f("order_ref", "text", "商户订单号", "订单编号", "订单号", "店铺订单号", "order_ref", "order_id"),
    _f("fee", "money", "手续费", "服务费", "支付手续费", "fee"),
    _f("commission", "money", "佣金", "技术服务费", "平台佣金", "commission"),
    _f("net", "money", "结算金额", "实收金额", "入账金额", "net"),
    _f("channel", "code", "渠道", "店铺", "channel"),
    _f("note", "text", "备注", "note", "remark"),
)

FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "orders": ORDER_FIELDS, "products": PRODUCT_FIELDS, "stock": STOCK_FIELDS, "customers": CUSTOMER_FIELDS,
    "settlements": SETTLEMENT_FIELDS,
}
# settlements: what a statement row's ``kind`` may be after the profile's value mapping; rows
# mapped to "skip" (a withdrawal, a fee deduction row) are left out and reported as skipped
SETTLEMENT_KINDS = ("payment", "refund")
SETTLEMENT_SKIP = "skip"

# What each kind's status targets mean (orders): "open" goes through create_order (numbering,
# reservation or backorder, review rules); the others are history, stored as they were.
ORDER_TARGETS = ("open", "shipped", "delivered", "completed", "cancelled", "skip")
HISTORICAL = ("shipped", "delivered", "completed", "cancelled")
TIERS = ("normal", "vip")


def spec(kind: str, name: str) -> FieldSpec:
    for f in FIELDS[kind]:
        if f.name == name:
            return f
    raise KeyError(f"{kind} has no field {name!r}")


def guess_column(kind: str, field: str, columns: list[str]) -> str | None:
    """The source column whose header is the field's name or one of its synonyms (any case)."""
    wanted = [field, *spec(kind, field).synonyms]
    lowered = {c.strip().lower(): c for c in columns}
    for name in wanted:
        hit = lowered.get(name.lower())
        if hit is not None:
            return hit
    return None
