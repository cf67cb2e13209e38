"""Catalog of the shop settings page and of the packing rule it controls."""

ZH: dict[str, str] = {
    "page.settings": "店铺设置",
    "shop_settings.intro": "这些设置对所有用户立即生效；每次修改都会记录在操作日志中。",
    "shop_settings.fulfilment": "履约",
    "shop_settings.sla_hours": "发货时限（小时）",
    "shop_settings.sla_hours_help": "订单确认后超过这个时间仍未发货，会产生“超时未发货”提醒。",
    "shop_settings.due_hours": "新订单应发货时间（小时）",
    "shop_settings.due_hours_help": "新订单的应发货时间 = 下单时间 + 这个小时数；用于排队顺序和“即将到期”提醒。",
    "shop_settings.overdue_days": "签收超时（天）",
    "shop_settings.overdue_days_help": "发货后超过这个天数仍未签收，会产生“签收超时”提醒。",
    "shop_settings.require_scan": "打包必须逐件扫码验货",
    "shop_settings.require_scan_help": "开启时，订单只能在履约页面的打包台逐件扫码后变为“已打包”；没有扫码枪的店铺可以关闭。",
    "shop_settings.stock": "库存",
    "shop_settings.approval_amount": "库存调整审批金额",
    "shop_settings.approval_amount_help": "单次调整的金额（数量 × 成本）超过这个值时，需要店长审批后才入账。",
    "shop_settings.save": "保存设置",
    "shop_settings.saved": "已保存 {n} 项修改。",
    "shop_settings.unchanged": "没有修改。",
    "error.pack_unverified": "订单 {number} 只扫码验货了 {scanned}/{units} 件，请在履约页面的打包台扫完剩余商品。",
    "orders.pack_at_bench": "打包需要逐件扫码：请到履约页面的打包台完成。",
    "field.fulfilment_sla.hours": "发货时限（小时）",
    "field.order_due.hours": "应发货时间（小时）",
    "field.delivery_overdue.days": "签收超时（天）",
    "field.adjustment_approval.amount": "调整审批金额",
    "field.packing.require_scan": "打包扫码验货",
    "issue.yes_no": "只能是“是”或“否”",
    "issue.unknown_setting": "没有这个设置项",
}

EN: dict[str, str] = {
    "page.settings": "Shop settings",
    "shop_settings.intro": "These settings apply to every user at once; each change is recorded in the audit log.",
    "shop_settings.fulfilment": "Fulfilment",
    "shop_settings.sla_hours": "Shipping SLA (hours)",
    "shop_settings.sla_hours_help": "A confirmed order not shipped within this time raises an SLA alert.",
    "shop_settings.due_hours": "New orders due within (hours)",
    "shop_settings.due_hours_help": "A new order is due this many hours after it was placed; this orders the queue "
                               "and drives the 'due soon' alert.",
    "shop_settings.overdue_days": "Delivery overdue after (days)",
    "shop_settings.overdue_days_help": "A shipped order not delivered after this many days raises an alert.",
    "shop_settings.require_scan": "Packing must be verified by scanning every item",
    "shop_settings.require_scan_help": "When on, an order becomes packed only at the Fulfilment page's pack bench, "
                                  "one scan per unit; shops without scanners can turn it off.",
    "shop_settings.stock": "Stock",
    "shop_settings.approval_amount": "Adjustments above this value need approval",
    "shop_settings.approval_amount_help": "A stock adjustment worth more than this (units × cost) waits for a "
                                     "manager's approval before it is posted.",
    "shop_settings.save": "Save settings",
    "shop_settings.saved": "Saved {n} change(s).",
    "shop_settings.unchanged": "Nothing changed.",
    "error.pack_unverified": "Order {number}: only {scanned} of {units} units were verified by scan; scan the "
                             "rest at the Fulfilment page's pack bench.",
    "orders.pack_at_bench": "Packing is verified item by item: finish it at the Fulfilment page's pack bench.",
    "field.fulfilment_sla.hours": "Shipping SLA (hours)",
    "field.order_due.hours": "Due within (hours)",
    "field.delivery_overdue.days": "Delivery overdue (days)",
    "field.adjustment_approval.amount": "Approval threshold",
    "field.packing.require_scan": "Scan to pack",
    "issue.yes_no": "must be yes or no",
    "issue.unknown_setting": "no such setting",
}

REASONS: tuple[tuple[str, str], ...] = (
    (r"must be yes or no", "issue.yes_no"),
    (r"unknown setting", "issue.unknown_setting"),
)
