"""Why an import profile (YAML) is refused: core.importing.profile."""

ZH = {
    "prof.issue_mapping": "必须是“名称: 值”的映射",
    "prof.issue_list": "必须是列表",
    "prof.issue_files": "必须是包含 main 和 join 的映射",
    "prof.issue_join": "需要 match（文件名模式）和 on（关联列）",
    "prof.issue_two_line_files": "最多只能有一个关联文件包含订单行",
    "prof.issue_not_mapping": "必须是映射（YAML 的“键: 值”）",
    "prof.issue_unknown_key": "未知的配置项 {key}",
    "prof.issue_encoding": "未知的编码 {value}",
    "prof.issue_unknown_field": "未知的字段 {name}",
    "prof.issue_decimal": "小数点必须是 . 或 , ，且不能与千位分隔符相同",
    "prof.issue_sum_money": "只有金额字段可以按行求和：{name}",
    "prof.issue_yaml": "不是有效的 YAML：{reason}",
}

EN = {
    "prof.issue_mapping": "must be a mapping of names to values",
    "prof.issue_list": "must be a list",
    "prof.issue_files": "must be a mapping with main and join",
    "prof.issue_join": "needs match (file-name pattern) and on (key columns)",
    "prof.issue_two_line_files": "at most one joined file can hold the order lines",
    "prof.issue_not_mapping": "must be a mapping (YAML key: value pairs)",
    "prof.issue_unknown_key": "unknown key {key}",
    "prof.issue_encoding": "unknown encoding {value}",
    "prof.issue_unknown_field": "unknown field {name}",
    "prof.issue_decimal": "the decimal mark must be . or , and differ from the thousands separator",
    "prof.issue_sum_money": "only money fields can be summed: {name}",
    "prof.issue_yaml": "not valid YAML: {reason}",
}
