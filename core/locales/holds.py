"""Catalog of interceptions (拦截; core.services.orders.holds): refusals, reasons, the order page."""

ZH: dict[str, str] = {
    "hold.stopped.refund_requested": "订单 {number} 已拦截：客户申请了退款。请先处理退款并解除拦截，再拣货、打包或发货。",
    "hold.stopped.address_changed": "订单 {number} 已拦截：拣货开始后改了收货地址，包裹上可能还是旧地址。核对后解除拦截。",
    "hold.stopped.customer_request": "订单 {number} 已拦截：客户要求暂缓发货。解除拦截后才能继续。",
    "hold.stopped.other": "订单 {number} 已拦截，解除拦截后才能拣货、打包或发货。",
    "hold.no_order": "没有订单 {number}",
    "hold.too_late": "订单 {number} 当前状态为 {status}，已不能拦截",
    "hold.none_open": "订单 {number} 没有未解除的拦截",
    "hold_reason.refund_requested": "客户申请退款",
    "hold_reason.address_changed": "地址已修改",
    "hold_reason.customer_request": "客户要求暂缓",
    "hold_reason.other": "其他",
    "hold.title": "拦截",
    "hold.banner": "已拦截：{reasons}。拣货、打包和发货都会被拒绝，直到解除拦截。",
    "hold.reason": "拦截原因",
    "hold.intercept": "拦截订单",
    "hold.intercepted": "订单 {number} 已拦截",
    "hold.release": "解除拦截",
    "hold.released": "订单 {number} 已解除 {n} 个拦截",
}

EN: dict[str, str] = {
    "hold.stopped.refund_requested": "Order {number} is intercepted: the customer asked for a refund. Settle the refund "
                                     "and release the order before picking, packing or shipping it.",
    "hold.stopped.address_changed": "Order {number} is intercepted: its address changed after picking started, so the "
                                    "parcel may carry the old one. Check it, then release the order.",
    "hold.stopped.customer_request": "Order {number} is intercepted: the customer asked to wait. Release it to go on.",
    "hold.stopped.other": "Order {number} is intercepted: release it before picking, packing or shipping.",
    "hold.no_order": "no order {number}",
    "hold.too_late": "order {number} is {status}: too late to intercept",
    "hold.none_open": "order {number} has no open interception",
    "hold_reason.refund_requested": "Refund requested",
    "hold_reason.address_changed": "Address changed",
    "hold_reason.customer_request": "Customer asked to wait",
    "hold_reason.other": "Other",
    "hold.title": "Interception",
    "hold.banner": "Intercepted: {reasons}. Picking, packing and shipping are refused until it is released.",
    "hold.reason": "Reason",
    "hold.intercept": "Intercept order",
    "hold.intercepted": "Order {number} intercepted",
    "hold.release": "Release",
    "hold.released": "Order {number}: {n} interceptions released",
}
