"""Catalog of bringing in a shop's history: grouped import errors, dry runs, profile files on
the Import page, constants, repeated lines, walk-in sales and unknown costs (prefix ``imh.``)."""

ZH: dict[str, str] = {
    "imh.group.rows": "{n} 行（第 {rows} 行）",
    "imh.group.file": "文件 {file}",
    "imh.groups": "问题（按原因归并）",
    "imh.groups_caption": "同一原因只列一次，附受影响的行数和前几行；逐行明细在下方，可下载。",
    "imh.rows_detail": "逐行明细",
    "imh.col.count": "行数",
    "imh.col.first_rows": "前几行",
    "imh.col.examples": "示例值",
    "imh.dry_run": "试运行：将导入 {orders} 个订单（{lines} 行），拒绝 {refused} 个；未写入任何数据。",
    "imh.dry_run_rows": "试运行：将导入 {rows} 行，拒绝 {refused} 行；未写入任何数据。",
    "imh.repeated": "同一订单中完全相同的行",
    "imh.repeated.sum": "合并为一行（数量相加）",
    "imh.repeated.number": "保留为多行（逐行编号）",
    "imh.repeated.profile": "按方案设置（{value}）",
    "imh.profile_kind": "方案 {name} 用于导入{kind}，与当前选择不符",
    "imp.count.walk_in": "散客订单（无客户）",
    "imh.repeated_help": "文件没有“行号”列时，同一订单里两行完全相同（例如两份同样的披萨）的处理方式。"
                         "有行号列时，同一订单同一行号出现两次是真正的重复，会被拒绝。",
    "imh.constants": "固定值（文件中没有的字段）",
    "imh.constants_caption": "为文件中没有的字段填一个对所有行都适用的值，例如状态“completed”、渠道、仓库。"
                             "固定值与文件中的值一样经过校验。",
    "imh.constant_for": "{field} 的固定值",
    "imh.profile_file": "从 YAML 文件载入方案",
    "imh.profile_file_help": "与命令行 --profile 使用的是同一种 YAML 文件。",
    "imh.profile_loaded": "已载入方案文件 {name}，可在下方修改后保存。",
    "imh.overwrite": "覆盖已保存的方案 {name}",
    "imh.overwrite_needed": "已有名为 {name} 的方案：勾选“覆盖”后再保存，或换一个名称。",
    "imh.profile_name_help": "字母、数字、_ . -，不含空格；命令行用 --profile 名称 找到它。",
    "imh.walk_in": "散客",
    "imh.walk_in_entry": "散客销售（不记录客户）",
    "imh.walk_in_entry_help": "门店柜台的匿名销售：订单不关联客户，不计入客户分析（复购、RFM、会员规则），"
                              "在销售分析中计为散客订单。",
    "imh.cost_unknown": "成本未知",
    "imh.cost_unknown_left_out": "{n} 个商品成本未知，未计入毛利。",
    "imh.cost_unknown_lines": "毛利未计入成本未知的销售额 {amount}。",
    "imh.issue.cost_needed": "该商品成本未知：请填写采购单价",
    "imh.issue.profile_name": "方案名称只能包含字母、数字和 _ . -（不含空格或斜杠）：{name}",
    "imh.walk_in_orders": "其中 {n} 个订单是散客（无客户）销售。",
    "acol.uncosted_sales": "成本未知的销售额",
    "acol.cost_note": "成本状态",
    "field.cost_note": "成本状态",
    "imh.stock_cost_unknown": "{n} 个商品×仓库成本未知，未计入库存金额和周转。",
    "acol.walk_in_orders": "散客订单",
}

EN: dict[str, str] = {
    "imh.group.rows": "{n} rows (rows {rows})",
    "imh.group.file": "file {file}",
    "imh.groups": "Problems, one line per cause",
    "imh.groups_caption": "Each cause is listed once with the number of rows it hits and the first rows; "
                          "the per-row detail is below and can be downloaded.",
    "imh.rows_detail": "Per-row detail",
    "imh.col.count": "Rows",
    "imh.col.first_rows": "First rows",
    "imh.col.examples": "Example values",
    "imh.dry_run": "Dry run: would import {orders} orders ({lines} lines), {refused} refused; nothing was written.",
    "imh.dry_run_rows": "Dry run: would import {rows} rows, {refused} refused; nothing was written.",
    "imh.repeated": "Identical lines in one order",
    "imh.repeated.sum": "Sum into one line (add up the quantities)",
    "imh.repeated.number": "Keep as separate numbered lines",
    "imh.repeated.profile": "As the profile says ({value})",
    "imh.profile_kind": "Profile {name} is for importing {kind}, not what is selected",
    "imp.count.walk_in": "Walk-in orders (no customer)",
    "imh.repeated_help": "For files without a line-number column: what to do when one order has two identical "
                         "lines (two of the same pizza). With a line-number column, the same order and line "
                         "number twice is a real duplicate and is refused.",
    "imh.constants": "Constants (fields the file lacks)",
    "imh.constants_caption": "Give a field the file does not have one value for every row — status "
                             "“completed”, a channel, a warehouse. Constants are validated like values "
                             "from the file.",
    "imh.constant_for": "Constant for {field}",
    "imh.profile_file": "Load a profile from a YAML file",
    "imh.profile_file_help": "The same YAML files the command line's --profile uses.",
    "imh.profile_loaded": "Profile file {name} loaded: edit it below and save it.",
    "imh.overwrite": "Overwrite the saved profile {name}",
    "imh.overwrite_needed": "A profile named {name} exists: tick “overwrite” to replace it, or choose another name.",
    "imh.profile_name_help": "Letters, digits, _ . - and no spaces; the command line finds it with --profile NAME.",
    "imh.walk_in": "Walk-in",
    "imh.walk_in_entry": "Walk-in sale (no customer recorded)",
    "imh.walk_in_entry_help": "An anonymous sale at the store counter: the order has no customer, stays out of "
                              "customer analytics (repeat rate, RFM, VIP rules) and counts as a walk-in order in "
                              "sales analytics.",
    "imh.cost_unknown": "cost unknown",
    "imh.cost_unknown_left_out": "{n} products have no known cost and are left out of the margin.",
    "imh.cost_unknown_lines": "The margin leaves out {amount} of sales whose cost is unknown.",
    "imh.issue.cost_needed": "the product's cost is unknown: enter the purchase price",
    "imh.issue.profile_name": "a profile name holds letters, digits and _ . - only (no spaces or slashes): {name}",
    "imh.walk_in_orders": "{n} of these orders are walk-in sales (no customer).",
    "acol.uncosted_sales": "Sales with cost unknown",
    "acol.cost_note": "Cost status",
    "field.cost_note": "Cost status",
    "imh.stock_cost_unknown": "{n} product × warehouse rows have no known cost and are left out of the stock "
                              "value and turnover.",
    "acol.walk_in_orders": "Walk-in orders",
}
