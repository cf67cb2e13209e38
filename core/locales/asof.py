"""Catalog of as-of dates: forecasting, replenishment and customer scores seen from a chosen
day (default today), where the history ends, and why a run had nothing to do."""

ZH = {
    "field.as_of": "截至日期",
    "asof.issue_future": "不能晚于今天（{today}）",
    "asof.issue_not_a_date": "应为 YYYY-MM-DD 格式的日期",
    "asof.label": "截至日期",
    "asof.help": "按这一天看数据：之后的订单不计入。默认今天。",
    "asof.forecast_help": "预测从这一天开始，读取这一天之前的完整日期（当天的销售不计入，和今天一样）。"
                          "历史在 8 月 31 日结束，就选 9 月 1 日。默认今天。",
    # forecast runs
    "asof.no_history": "{as_of} 之前没有任何销售：没有可预测的内容。",
    "asof.history_too_old": "历史在 {last_sale} 结束，早于本次读取的 {days} 天历史（从 {first} 起）；"
                            "请改为从最后一笔销售的次日开始预测。",
    "asof.no_series": "{first} 至 {last} 之间没有任何商品×仓库的需求（没有仓库的订单不计入）：没有可预测的序列。",
    "asof.history_ends": "历史在 {last_sale} 结束（最后一天有销售），距截至日期 {as_of} 相隔 {gap} 天无销售。",
    "asof.gap_warning": "历史在 {last_sale} 结束，比截至日期 {as_of} 早 {gap} 天：这些天会被当作零需求，"
                        "预测会偏低。可以改为从最后一笔销售的次日（{first}）开始预测。",
    "asof.gap_warning_cli": "历史在 {last_sale} 结束，比截至日期 {as_of} 早 {gap} 天：这些天按零需求计算；"
                            "加 --from-last-sale 可从 {first} 开始预测。",
    "asof.from_last_sale": "从最后一笔销售的次日开始预测",
    "asof.from_last_sale_help": "不把最后一笔销售之后没有数据的日子当作零需求。",
    "asof.run_dates": "截至 {as_of}；历史结束于 {history_end}；预测自 {first} 开始。",
    "asof.run_caption": "截至 {as_of}，历史结束于 {history_end}，预测自 {first} 开始。",
    "asof.run_failed": "预测 #{run} 失败：{reason}",
    # replenishment
    "asof.no_run": "还没有成功的预测：请先运行一次预测。",
    "asof.no_such_run": "预测 #{run} 不存在或没有成功。",
    "asof.run_empty": "预测 #{run} 没有任何预测值，无法生成补货建议。",
    "asof.run_too_old": "预测 #{run} 覆盖 {first} 至 {last}，在截至日期 {as_of} 之前已结束："
                        "请按 {as_of} 重新运行预测，或把截至日期设为 {first}。",
    "asof.run_after_as_of": "最近的预测 #{run} 从 {first} 开始，晚于截至日期 {as_of}；请按 {as_of} 运行一次预测。",
    "asof.nothing_below_reorder": "已检查 {checked} 个商品×仓库：库存都在再订货点之上，无需补货。",
    "asof.no_active_series": "预测中没有在售商品：没有可补货的内容。",
    "asof.stock_is_current": "库存始终按当前数量计算；截至日期决定需求从哪一天开始计。",
    "asof.suggest_done": "截至 {as_of}：生成 {n} 条建议（{units} 件，{value}）；{superseded} 条旧的待处理建议已被取代。",
    # customers
    "asof.customers_scope": "按首次购买日期、获客渠道和客户所在区域筛选客户；每位客户按截至 {as_of} 的购买记录计算"
                            "（之后的订单不计入，流失/风险按该日判断）。",
    "asof.customers_history_end": "最后一笔订单在 {last}：可把截至日期设为该日，查看历史结束时的客户状态。",
    "asof.range_after": "首次购买日期范围从 {start} 开始，晚于截至日期 {as_of}：那时这些客户还不存在。请把日期范围提前。",
}

EN = {
    "field.as_of": "As of",
    "asof.issue_future": "must not be after today ({today})",
    "asof.issue_not_a_date": "expected a date as YYYY-MM-DD",
    "asof.label": "As of",
    "asof.help": "See the data as of this day: later orders do not count. Default: today.",
    "asof.forecast_help": "The forecast starts on this day and reads the complete days before it (this day's "
                          "sales do not count, as for today). For a history that ends on 31 August, pick 1 September. "
                          "Default: today.",
    # forecast runs
    "asof.no_history": "No sales before {as_of}: nothing to forecast.",
    "asof.history_too_old": "The history ends on {last_sale}, before the {days} days of history the run reads "
                            "(from {first}); forecast from the day after the last sale instead.",
    "asof.no_series": "No product × warehouse has demand between {first} and {last} (orders without a warehouse "
                      "do not count): nothing to forecast.",
    "asof.history_ends": "The history ends on {last_sale} (the last day with a sale), {gap} days without sales "
                         "before the as-of date {as_of}.",
    "asof.gap_warning": "The history ends on {last_sale}, {gap} days before the as-of date {as_of}: those days "
                        "count as zero demand and the forecast reads low. You can forecast from the day after "
                        "the last sale ({first}) instead.",
    "asof.gap_warning_cli": "the history ends on {last_sale}, {gap} days before the as-of date {as_of}: those days "
                            "count as zero demand; add --from-last-sale to forecast from {first}",
    "asof.from_last_sale": "Forecast from the day after the last sale",
    "asof.from_last_sale_help": "Do not count the days after the last sale, which have no data, as zero demand.",
    "asof.run_dates": "as of {as_of}; history ends {history_end}; forecast from {first}",
    "asof.run_caption": "As of {as_of}, history ending {history_end}, forecast from {first}.",
    "asof.run_failed": "Forecast #{run} failed: {reason}",
    # replenishment
    "asof.no_run": "No successful forecast yet: run a forecast first.",
    "asof.no_such_run": "Forecast #{run} does not exist or did not succeed.",
    "asof.run_empty": "Forecast #{run} holds no forecasts: no suggestions can be computed from it.",
    "asof.run_too_old": "Forecast #{run} covers {first} to {last}, which ended before the as-of date {as_of}: "
                        "run a forecast as of {as_of}, or set the as-of date to {first}.",
    "asof.run_after_as_of": "The newest forecast #{run} starts on {first}, after the as-of date {as_of}; run a "
                            "forecast as of {as_of}.",
    "asof.nothing_below_reorder": "Checked {checked} product × warehouse series: every one is above its reorder "
                                  "point, nothing to order.",
    "asof.no_active_series": "The forecast holds no active product: nothing to replenish.",
    "asof.stock_is_current": "Stock is always the current stock; the as-of date sets the day demand counts from.",
    "asof.suggest_done": "As of {as_of}: {n} suggestions ({units} units, {value}); {superseded} older open "
                         "suggestions superseded.",
    # customers
    "asof.customers_scope": "Customers are selected by first purchase date, acquisition channel and where they "
                            "live; each is measured over their purchases up to {as_of} (later orders do not count; "
                            "lost and at-risk are judged on that day).",
    "asof.customers_history_end": "The last order was on {last}: set the as-of date to that day to see the "
                                  "customers as of the end of the history.",
    "asof.range_after": "The first-purchase range starts on {start}, after the as-of date {as_of}: none of those "
                        "customers existed then. Move the range back.",
}
