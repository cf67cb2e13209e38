"""Every UI string in Chinese and English, plus locale formatting of money and times.

One function, :func:`translate`, turns a key into text; a missing key comes back as the key
itself so a gap is visible on screen but never crashes a page. A unit test keeps the zh and
en catalogs on the same key set and checks every literal key the pages use.

Service errors carry English messages for the CLI and logs; :func:`translate_reason` maps the
recurring field-issue reasons to catalog keys and leaves anything else as it came.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.timeutil import to_local

LANGUAGES = ("zh", "en")
TIME_FORMAT = "%Y-%m-%d %H:%M"
CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$", "JPY": "¥"}


class _Params(dict[str, Any]):
    """Format parameters that leave an unknown ``{name}`` visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(key: str, lang: str, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``params`` filled in; the key itself if unknown."""
    catalog = CATALOGS.get(lang) or CATALOGS["zh"]
    text = catalog.get(key)
    if text is None:
        return key
    return text.format_map(_Params(params)) if params else text


def has_key(key: str, lang: str) -> bool:
    return key in CATALOGS.get(lang, {})


def label(prefix: str, value: object, lang: str) -> str:
    """Display name of a code such as ``status.confirmed``; the raw code when not catalogued
    (data-driven codes — a new channel kind — must still show something meaningful); empty
    for a missing value."""
    if value is None:
        return ""
    key = f"{prefix}.{value}"
    return translate(key, lang) if has_key(key, lang) else str(value)


# (pattern of a service's English reason, catalog key); named groups become parameters.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key) for pattern, key in (
        (r"required", "issue.required"),
        (r"required for delivery.*", "issue.address_incomplete"),
        (r"required to ship", "issue.required"),
        (r"an order needs at least one line|a template needs at least one line", "issue.no_lines"),
        (r"a phone number or e-mail is required", "issue.phone_or_email"),
        (r"not a valid phone number", "issue.bad_phone"),
        (r"must be a whole number", "issue.whole_number"),
        (r"must be greater than 0", "issue.positive"),
        (r"not a number", "issue.not_a_number"),
        (r"must not be negative", "issue.negative"),
        (r"larger than the line amount", "issue.discount_too_large"),
        (r"order discount is larger than the order amount", "issue.discount_too_large"),
        (r"unknown SKU (?P<sku>.+)", "issue.unknown_sku"),
        (r"SKU (?P<sku>.+) is discontinued", "issue.discontinued"),
        (r"unknown channel (?P<value>.*)", "issue.unknown_value"),
        (r"unknown or inactive warehouse (?P<value>.*)", "issue.unknown_value"),
        (r"must be one of (?P<choices>.+)", "issue.one_of"),
        (r"totals do not add up: .*", "issue.totals"),
        (r"at most (?P<n>\d+) characters", "issue.too_long"),
    )
)


def translate_reason(message: str, lang: str) -> str:
    """A FieldIssue's reason in ``lang`` when it is a known one, else the message unchanged."""
    for pattern, key in _REASONS:
        match = pattern.fullmatch(message)
        if match:
            return translate(key, lang, **match.groupdict())
    return message


def format_money(amount: Decimal | float | int | str | None, currency: str) -> str:
    """``¥1,234.50`` (``-¥5.00`` for negatives); empty for a missing amount."""
    if amount is None:
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(amount)
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


def format_time(ts: dt.datetime | None, fmt: str = TIME_FORMAT) -> str:
    """A stored (naive UTC) timestamp as shop-local wall time; empty for None/NaT."""
    if ts is None or ts != ts:  # NaT compares unequal to itself
        return ""
    local = to_local(ts)
    return local.strftime(fmt) if local else ""


# --- catalogs --------------------------------------------------------------------------------
# Keys are grouped by screen; code names (status.*, payment.*, delivery.*, kind.*, role.*) use
# the exact codes stored in the database so ``label(prefix, code)`` can look them up.

ZH: dict[str, str] = {
    # app shell and login
    "app.title": "零售订单管理",
    "app.language": "语言",
    "app.logout": "退出登录",
    "app.signed_in_as": "{user}（{role}）",
    "login.title": "登录",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.invalid": "用户名或密码不正确。",
    "login.locked": "登录失败次数过多，账户已暂时锁定，请 {minutes} 分钟后再试或联系管理员。",
    "login.required": "请先登录。",
    "page.dashboard": "销售看板",
    "page.order_entry": "录入订单",
    "page.orders": "订单查询",
    # common
    "common.download_csv": "下载 CSV",
    "common.download_xlsx": "下载 Excel",
    "common.slip": "下载订单小票（可打印）",
    "common.all": "全部",
    # roles
    "role.admin": "管理员",
    "role.manager": "店长",
    "role.buyer": "采购",
    "role.warehouse": "仓库",
    "role.service": "客服",
    "role.clerk": "店员",
    # order statuses
    "status.pending_review": "待审核",
    "status.confirmed": "已确认",
    "status.picking": "拣货中",
    "status.packed": "已打包",
    "status.shipped": "已发货",
    "status.delivered": "已签收",
    "status.completed": "已完成",
    "status.on_hold": "已挂起",
    "status.backordered": "缺货待补",
    "status.cancelled": "已取消",
    # payment methods and statuses
    "payment.cash": "现金",
    "payment.wechat_pay": "微信支付",
    "payment.alipay": "支付宝",
    "payment.card": "银行卡",
    "payment.bank_transfer": "银行转账",
    "payment.cod": "货到付款",
    "payment.platform": "平台代收",
    "payment_status.unpaid": "未付款",
    "payment_status.paid": "已付款",
    "payment_status.partially_refunded": "部分退款",
    "payment_status.refunded": "已退款",
    "preset.wechat_paid": "微信已付",
    "preset.alipay_paid": "支付宝已付",
    "preset.cash_paid": "现金已付",
    "preset.card_paid": "刷卡已付",
    "preset.transfer_unpaid": "转账（未到账）",
    "preset.cod": "货到付款",
    # delivery methods
    "delivery.express": "快递",
    "delivery.same_day": "同城当日达",
    "delivery.pickup": "到店自提",
    "delivery.freight": "物流/大件",
    # channel kinds
    "kind.store": "门店",
    "kind.marketplace": "电商平台",
    "kind.social": "社交/直播",
    "kind.mini_program": "小程序",
    "kind.group_buy": "社区团购",
    "kind.b2b": "批发/电话",
    # field and column names
    "field.actor": "操作人",
    "field.address": "详细地址",
    "field.aov": "客单价",
    "field.at": "时间",
    "field.available": "可用",
    "field.barcode": "条码",
    "field.carrier": "承运商",
    "field.category": "品类",
    "field.channel": "渠道",
    "field.city": "城市",
    "field.customer": "客户",
    "field.customer_id": "客户编号",
    "field.customer_name": "客户姓名",
    "field.day": "日期",
    "field.days": "天数",
    "field.delivery_method": "配送方式",
    "field.discount": "优惠",
    "field.district": "区/县",
    "field.email": "邮箱",
    "field.end": "结束",
    "field.external_ref": "外部单号",
    "field.from_status": "原状态",
    "field.id": "ID",
    "field.line_no": "行号",
    "field.line_total": "小计",
    "field.lines": "商品行",
    "field.name": "名称",
    "field.note": "备注",
    "field.number": "订单号",
    "field.on_hand": "在库",
    "field.orders": "订单数",
    "field.password": "密码",
    "field.payment": "付款",
    "field.payment_method": "付款方式",
    "field.payment_status": "付款状态",
    "field.period": "期间",
    "field.phone": "手机号",
    "field.placed_at": "下单时间",
    "field.priority": "优先级",
    "field.province": "省份",
    "field.qty": "数量",
    "field.qty_reserved": "已预留",
    "field.qty_returned": "已退货",
    "field.qty_shipped": "已发货",
    "field.reserved": "已预留",
    "field.revenue": "销售额",
    "field.role": "角色",
    "field.share": "占比",
    "field.ship_phone": "收货电话",
    "field.shipping_fee": "运费",
    "field.sku": "SKU",
    "field.start": "开始",
    "field.status": "状态",
    "field.subtotal": "商品金额",
    "field.to_status": "新状态",
    "field.total": "应付总额",
    "field.tracking_no": "运单号",
    "field.unit_price": "单价",
    "field.username": "用户名",
    "field.warehouse": "仓库",
    # errors
    "error.validation": "输入有误，订单未保存：",
    "error.insufficient_stock": "库存不足，订单未保存：",
    "error.not_found": "找不到该记录。",
    "error.permission": "您的角色无权执行此操作。",
    "error.transition": "当前状态不允许此操作。",
    "error.stale": "该订单刚被其他人修改过，请刷新后重试。",
    "error.conflict": "记录已存在（重复）。",
    "error.busy": "系统繁忙，请稍后重试。",
    "error.generic": "操作失败。",
    "error.line": "第 {row} 行",
    "error.shortage": "{sku} @ {warehouse}：需要 {requested}，可用 {available}",
    # field-issue reasons
    "issue.required": "必填",
    "issue.address_incomplete": "配送需完整地址（至区/县）",
    "issue.no_lines": "至少需要一行商品",
    "issue.phone_or_email": "请填写手机号或邮箱",
    "issue.bad_phone": "手机号格式不正确",
    "issue.whole_number": "必须是整数",
    "issue.positive": "必须大于 0",
    "issue.not_a_number": "不是有效数字",
    "issue.negative": "不能为负数",
    "issue.discount_too_large": "优惠超过金额",
    "issue.unknown_sku": "未知 SKU {sku}",
    "issue.discontinued": "SKU {sku} 已停售",
    "issue.unknown_value": "未知或已停用：{value}",
    "issue.one_of": "必须是以下之一：{choices}",
    "issue.totals": "金额合计不一致",
    "issue.too_long": "最多 {n} 个字符",
    # order entry
    "entry.customer": "客户",
    "entry.customer_search": "查找客户（手机号 / 姓名）",
    "entry.customer_search_hint": "输入手机号后回车",
    "entry.pick_customer": "选择客户",
    "entry.pick_customer_hint": "找到多个客户，请选择",
    "entry.no_customer": "没有找到，按新客户填写。",
    "entry.linked_customer": "已关联客户 {code}",
    "entry.new_customer": "改为新客户",
    "entry.products": "商品",
    "entry.barcode": "扫码",
    "entry.barcode_hint": "扫描条码，自动加 1 件",
    "entry.barcode_added": "已加入：{name}（{sku}）",
    "entry.barcode_unknown": "条码 {code} 没有对应的在售商品。",
    "entry.product_search": "搜索商品（名称 / SKU）",
    "entry.product_search_hint": "输入名称或 SKU",
    "entry.pick_product": "选择商品",
    "entry.available_n": "可用 {n}",
    "entry.no_products": "没有匹配的在售商品。",
    "entry.add": "加入",
    "entry.basket": "购物篮",
    "entry.basket_empty": "购物篮是空的：扫码或搜索商品加入。",
    "entry.basket_hint": "可直接修改数量；勾选行后按删除键移除。",
    "entry.unknown_product": "（未知或已停售商品）",
    "entry.avail_at": "可用·{warehouse}",
    "entry.templates": "常用购物篮",
    "entry.template": "模板",
    "entry.template_option": "{name}（{lines} 行）",
    "entry.template_load": "载入",
    "entry.template_delete": "删除",
    "entry.template_name": "将当前购物篮保存为",
    "entry.template_save": "保存",
    "entry.template_saved": "已保存模板「{name}」。",
    "entry.template_loaded": "已载入模板「{name}」。",
    "entry.template_deleted": "已删除模板「{name}」。",
    "entry.options": "付款与配送",
    "entry.auto_warehouse": "自动分配",
    "entry.order_discount": "整单优惠",
    "entry.allow_backorder": "允许缺货下单",
    "entry.allow_backorder_help": "库存不足时仍保存订单（缺货待补，不预留库存）",
    "entry.submit": "提交订单",
    "entry.created": "订单 {number} 已创建：{total}，状态：{status}。",
    "entry.backordered_note": "库存不足，订单已按缺货待补保存，到货后自动分配。",
    # orders
    "orders.search": "查找订单（订单号 / 手机号 / 姓名 / 外部单号）",
    "orders.search_hint": "例如 SO20261122-000123 或 13800138000",
    "orders.date_range": "下单日期",
    "orders.none_found": "没有符合条件的订单。",
    "orders.found": "找到 {n} 个订单",
    "orders.pick": "查看订单",
    "orders.detail": "订单 {number}",
    "orders.lines": "商品明细",
    "orders.timeline": "处理记录",
    "orders.actions": "操作",
    "orders.no_actions": "当前没有您可执行的操作。",
    "orders.to_status": "改为：{status}",
    "orders.confirm_cancel": "确认取消（将释放库存，无法撤销）",
    "orders.transition_done": "订单已更新为：{status}。",
    # dashboard
    "dash.today": "今日",
    "dash.last_7": "近 7 天",
    "dash.last_30": "近 30 天",
    "dash.revenue": "销售额",
    "dash.orders": "订单数",
    "dash.aov": "客单价",
    "dash.delta_help": "与前 {days} 天同一时段相比（不含已取消订单）",
    "dash.trend": "每日销售额（按渠道）",
    "dash.trend_days": "时间范围",
    "dash.n_days": "{n} 天",
    "dash.no_sales": "所选期间没有销售。",
    "dash.takeaway": "近 {days} 天销售额 {total}，{channel} 贡献最多：{revenue}，占 {share}。",
    "dash.tables": "数据表",
    "dash.by_channel": "渠道汇总",
    "dash.daily": "每日明细",
    "dash.kpis": "指标",
    "period.current": "本期",
    "period.previous": "上期（同时段）",
    # slip
    "slip.title": "订单小票",
    "slip.thanks": "感谢惠顾！如有问题请凭订单号联系我们。",
    "slip.print": "打印",
}

EN: dict[str, str] = {
    # app shell and login
    "app.title": "Retail OMS",
    "app.language": "Language",
    "app.logout": "Log out",
    "app.signed_in_as": "{user} ({role})",
    "login.title": "Log in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Log in",
    "login.invalid": "Wrong username or password.",
    "login.locked": "Too many failed attempts: the account is locked. Try again in {minutes} minutes or ask an admin.",
    "login.required": "Please log in first.",
    "page.dashboard": "Sales dashboard",
    "page.order_entry": "Order entry",
    "page.orders": "Orders",
    # common
    "common.download_csv": "Download CSV",
    "common.download_xlsx": "Download Excel",
    "common.slip": "Download order slip (printable)",
    "common.all": "All",
    # roles
    "role.admin": "Admin",
    "role.manager": "Manager",
    "role.buyer": "Buyer",
    "role.warehouse": "Warehouse",
    "role.service": "Customer service",
    "role.clerk": "Clerk",
    # order statuses
    "status.pending_review": "Pending review",
    "status.confirmed": "Confirmed",
    "status.picking": "Picking",
    "status.packed": "Packed",
    "status.shipped": "Shipped",
    "status.delivered": "Delivered",
    "status.completed": "Completed",
    "status.on_hold": "On hold",
    "status.backordered": "Backordered",
    "status.cancelled": "Cancelled",
    # payment methods and statuses
    "payment.cash": "Cash",
    "payment.wechat_pay": "WeChat Pay",
    "payment.alipay": "Alipay",
    "payment.card": "Card",
    "payment.bank_transfer": "Bank transfer",
    "payment.cod": "Cash on delivery",
    "payment.platform": "Platform",
    "payment_status.unpaid": "Unpaid",
    "payment_status.paid": "Paid",
    "payment_status.partially_refunded": "Partially refunded",
    "payment_status.refunded": "Refunded",
    "preset.wechat_paid": "WeChat, paid",
    "preset.alipay_paid": "Alipay, paid",
    "preset.cash_paid": "Cash, paid",
    "preset.card_paid": "Card, paid",
    "preset.transfer_unpaid": "Bank transfer (pending)",
    "preset.cod": "Cash on delivery",
    # delivery methods
    "delivery.express": "Express",
    "delivery.same_day": "Same day",
    "delivery.pickup": "Store pickup",
    "delivery.freight": "Freight",
    # channel kinds
    "kind.store": "Store",
    "kind.marketplace": "Marketplace",
    "kind.social": "Social / live",
    "kind.mini_program": "Mini program",
    "kind.group_buy": "Group buy",
    "kind.b2b": "Wholesale / phone",
    # field and column names
    "field.actor": "By",
    "field.address": "Street address",
    "field.aov": "Avg. order value",
    "field.at": "Time",
    "field.available": "Available",
    "field.barcode": "Barcode",
    "field.carrier": "Carrier",
    "field.category": "Category",
    "field.channel": "Channel",
    "field.city": "City",
    "field.customer": "Customer",
    "field.customer_id": "Customer id",
    "field.customer_name": "Customer name",
    "field.day": "Day",
    "field.days": "Days",
    "field.delivery_method": "Delivery",
    "field.discount": "Discount",
    "field.district": "District",
    "field.email": "E-mail",
    "field.end": "End",
    "field.external_ref": "External ref",
    "field.from_status": "From",
    "field.id": "ID",
    "field.line_no": "Line",
    "field.line_total": "Line total",
    "field.lines": "Lines",
    "field.name": "Name",
    "field.note": "Note",
    "field.number": "Order number",
    "field.on_hand": "On hand",
    "field.orders": "Orders",
    "field.password": "Password",
    "field.payment": "Payment",
    "field.payment_method": "Payment method",
    "field.payment_status": "Payment status",
    "field.period": "Period",
    "field.phone": "Phone",
    "field.placed_at": "Placed at",
    "field.priority": "Priority",
    "field.province": "Province",
    "field.qty": "Qty",
    "field.qty_reserved": "Reserved",
    "field.qty_returned": "Returned",
    "field.qty_shipped": "Shipped",
    "field.reserved": "Reserved",
    "field.revenue": "Revenue",
    "field.role": "Role",
    "field.share": "Share",
    "field.ship_phone": "Ship-to phone",
    "field.shipping_fee": "Shipping fee",
    "field.sku": "SKU",
    "field.start": "Start",
    "field.status": "Status",
    "field.subtotal": "Subtotal",
    "field.to_status": "To",
    "field.total": "Total",
    "field.tracking_no": "Tracking number",
    "field.unit_price": "Unit price",
    "field.username": "Username",
    "field.warehouse": "Warehouse",
    # errors
    "error.validation": "Some input is wrong; nothing was saved:",
    "error.insufficient_stock": "Not enough stock; nothing was saved:",
    "error.not_found": "Not found.",
    "error.permission": "Your role may not do this.",
    "error.transition": "This is not allowed in the order's current status.",
    "error.stale": "This order was just changed by someone else. Reload and try again.",
    "error.conflict": "This already exists (duplicate).",
    "error.busy": "The system is busy, please try again.",
    "error.generic": "The action failed.",
    "error.line": "Line {row}",
    "error.shortage": "{sku} @ {warehouse}: requested {requested}, available {available}",
    # field-issue reasons
    "issue.required": "required",
    "issue.address_incomplete": "delivery needs the full address (down to the district)",
    "issue.no_lines": "at least one line is needed",
    "issue.phone_or_email": "a phone number or e-mail is required",
    "issue.bad_phone": "not a valid phone number",
    "issue.whole_number": "must be a whole number",
    "issue.positive": "must be greater than 0",
    "issue.not_a_number": "not a number",
    "issue.negative": "must not be negative",
    "issue.discount_too_large": "discount is larger than the amount",
    "issue.unknown_sku": "unknown SKU {sku}",
    "issue.discontinued": "SKU {sku} is discontinued",
    "issue.unknown_value": "unknown or inactive: {value}",
    "issue.one_of": "must be one of: {choices}",
    "issue.totals": "the totals do not add up",
    "issue.too_long": "at most {n} characters",
    # order entry
    "entry.customer": "Customer",
    "entry.customer_search": "Find customer (phone / name)",
    "entry.customer_search_hint": "Type the phone number and press Enter",
    "entry.pick_customer": "Choose customer",
    "entry.pick_customer_hint": "Several customers match; choose one",
    "entry.no_customer": "No match: fill in a new customer.",
    "entry.linked_customer": "Linked to customer {code}",
    "entry.new_customer": "New customer instead",
    "entry.products": "Products",
    "entry.barcode": "Scan",
    "entry.barcode_hint": "Scan a barcode to add one unit",
    "entry.barcode_added": "Added: {name} ({sku})",
    "entry.barcode_unknown": "No active product has barcode {code}.",
    "entry.product_search": "Search products (name / SKU)",
    "entry.product_search_hint": "Type a name or SKU",
    "entry.pick_product": "Product",
    "entry.available_n": "{n} available",
    "entry.no_products": "No active product matches.",
    "entry.add": "Add",
    "entry.basket": "Basket",
    "entry.basket_empty": "The basket is empty: scan or search products to add them.",
    "entry.basket_hint": "Edit quantities in place; select rows and press Delete to remove them.",
    "entry.unknown_product": "(unknown or discontinued product)",
    "entry.avail_at": "Avail. {warehouse}",
    "entry.templates": "Saved baskets",
    "entry.template": "Template",
    "entry.template_option": "{name} ({lines} lines)",
    "entry.template_load": "Load",
    "entry.template_delete": "Delete",
    "entry.template_name": "Save the current basket as",
    "entry.template_save": "Save",
    "entry.template_saved": "Template “{name}” saved.",
    "entry.template_loaded": "Template “{name}” loaded.",
    "entry.template_deleted": "Template “{name}” deleted.",
    "entry.options": "Payment and delivery",
    "entry.auto_warehouse": "Automatic",
    "entry.order_discount": "Order discount",
    "entry.allow_backorder": "Allow backorder",
    "entry.allow_backorder_help": "Save the order even without stock (backordered, nothing reserved)",
    "entry.submit": "Submit order",
    "entry.created": "Order {number} created: {total}, status: {status}.",
    "entry.backordered_note": "Not enough stock: the order was saved as backordered and will be allocated on receipt.",
    # orders
    "orders.search": "Find orders (number / phone / name / external ref)",
    "orders.search_hint": "e.g. SO20261122-000123 or 13800138000",
    "orders.date_range": "Order date",
    "orders.none_found": "No orders match.",
    "orders.found": "{n} orders found",
    "orders.pick": "Open order",
    "orders.detail": "Order {number}",
    "orders.lines": "Lines",
    "orders.timeline": "Timeline",
    "orders.actions": "Actions",
    "orders.no_actions": "Nothing you can do with this order now.",
    "orders.to_status": "Set to: {status}",
    "orders.confirm_cancel": "Confirm cancel (releases stock, cannot be undone)",
    "orders.transition_done": "The order is now: {status}.",
    # dashboard
    "dash.today": "Today",
    "dash.last_7": "Last 7 days",
    "dash.last_30": "Last 30 days",
    "dash.revenue": "Revenue",
    "dash.orders": "Orders",
    "dash.aov": "Avg. order value",
    "dash.delta_help": "Compared with the previous {days} days up to the same time of day (cancelled orders excluded)",
    "dash.trend": "Daily revenue by channel",
    "dash.trend_days": "Range",
    "dash.n_days": "{n} days",
    "dash.no_sales": "No sales in this period.",
    "dash.takeaway": "Last {days} days: revenue {total}; {channel} sold most with {revenue} ({share}).",
    "dash.tables": "Tables",
    "dash.by_channel": "By channel",
    "dash.daily": "Daily",
    "dash.kpis": "Key figures",
    "period.current": "This period",
    "period.previous": "Previous period (same time)",
    # slip
    "slip.title": "Order slip",
    "slip.thanks": "Thank you! Quote the order number if you need to contact us.",
    "slip.print": "Print",
}

CATALOGS: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}
