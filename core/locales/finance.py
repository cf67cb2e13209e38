"""Catalog of payments, settlement reconciliation and the finance views (issue 21)."""

ZH: dict[str, str] = {
    "payment_status.partially_paid": "部分付款",
    "fin.order_cancelled": "订单 {value} 已取消，不能再收款",
    "fin.overpaid": "超过订单尚欠金额（尚欠 ¥{owed}）",
    "entry.payment_ref": "支付流水号",
    "entry.payment_ref_help": "微信/支付宝/刷卡小票上的交易单号；对账时用它匹配到账记录。",
}

EN: dict[str, str] = {
    "payment_status.partially_paid": "Partially paid",
    "fin.order_cancelled": "order {value} is cancelled; no payment can be recorded",
    "fin.overpaid": "more than the order still owes (¥{owed} owed)",
    "entry.payment_ref": "Payment reference",
    "entry.payment_ref_help": "The transaction number on the WeChat/Alipay/card slip; reconciliation matches payouts by it.",
}
