"""Messages of the concurrency guards: write conflicts retried until they gave up, and
documents someone else finished a moment earlier (``cc.`` keys)."""

from __future__ import annotations

ZH: dict[str, str] = {
    "cc.contention": "其他人正在同时修改相同的库存或单据，已重试 {attempts} 次仍未成功；未保存任何内容，请稍后重试。",
    "cc.po_not_receivable": "采购单 {number} 状态为 {status}（可能刚被他人收货）；只有已发出的采购单可以收货。",
    "cc.transfer_not_receivable": "调拨单 {number} 状态为 {status}（可能刚被他人收货）；只有已发运的调拨单可以收货。",
    "cc.transfer_not_shippable": "调拨单 {number} 状态为 {status}（可能刚被他人发运）；只有草稿可以发运。",
    "cc.duplicate_phones": "有 {count} 个手机号属于多个客户，无法建立“一个手机号一个客户”的唯一索引：{phones}。"
                           "请先在“客户档案”页面用“合并档案”把每组合并为一个客户，"
                           "然后重新运行 `oms init`。数据库未做任何修改。",
}

EN: dict[str, str] = {
    "cc.contention": "Other users were changing the same stock or document at the same moment; tried {attempts} "
                     "times without success. Nothing was saved, please try again.",
    "cc.po_not_receivable": "Purchase order {number} is {status} (perhaps someone received it a moment ago); only "
                            "sent purchase orders can be received.",
    "cc.transfer_not_receivable": "Transfer {number} is {status} (perhaps someone received it a moment ago); only "
                                  "shipped transfers can be received.",
    "cc.transfer_not_shippable": "Transfer {number} is {status} (perhaps someone shipped it a moment ago); only a "
                                 "draft can be shipped.",
    "cc.duplicate_phones": "{count} phone number(s) belong to more than one customer, so the one-customer-per-phone "
                           "index cannot be created: {phones}. Merge each group into one customer (Customer profiles "
                           "page, Merge profiles), then run `oms init` again. Nothing was changed.",
}
