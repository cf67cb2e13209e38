"""Catalog of refusals for hostile or careless input: files beyond a read limit
(``core.importing.limits``), XLSX zip bombs and XML entities, text without a delimiter, and
out-of-range values typed into forms and search boxes.

Parameters: ``{file}`` the file name, ``{row}`` the record (header = 1), ``{limit}`` the limit
that was reached, the rest named after what they count.
"""

ZH: dict[str, str] = {
    "hf.too_many_columns": "第 {row} 行有 {columns} 列，超过上限 {limit} 列",
    "hf.too_many_rows": "行数超过上限 {limit} 行：请拆分后导入",
    "hf.too_many_cells": "单元格总数超过上限 {limit}（读到第 {row} 行）：请拆分后导入",
    "hf.cell_too_long": "第 {row} 行第 {column} 列有 {chars} 个字符，超过单元格上限 {limit} 个字符",
    "hf.field_too_long": "第 {row} 行有一个单元格超过上限 {limit} 个字符",
    "hf.line_too_long": "第 {row} 行有 {chars} 个字符，超过每行上限 {limit} 个字符",
    "hf.too_slow": "读取超过 {limit} 秒（读到第 {row} 行），已停止：请拆分后导入",
    "hf.no_delimiter": "无法识别分隔符：文件既不是用逗号、制表符、分号或竖线分隔的表格，"
                       "也不是每行都用至少两个空格对齐的列。请另存为 CSV 或 Excel 后导入",
    "hf.xlsx_bomb": "Excel 文件中的 {member} 解压后是压缩大小的 {ratio} 倍（上限 {limit} 倍），疑似压缩炸弹，已拒绝",
    "hf.xlsx_unzipped": "Excel 文件解压后有 {size_mb} MB，超过上限 {limit_mb} MB：请拆分后导入",
    "hf.xlsx_strings": "Excel 文件的文字表解压后有 {size_mb} MB，超过上限 {limit_mb} MB：请拆分后导入",
    "hf.xlsx_members": "Excel 文件内含 {members} 个部件，超过上限 {limit} 个",
    "hf.xlsx_dtd": "Excel 文件的 {member} 含有 DTD 或 XML 实体声明（可能是攻击），已拒绝：请在 Excel 中另存后再导入",
    "hf.search_too_long": "搜索内容太长（{length} 个字符，最多 {limit} 个）",
    "hf.amount_out_of_range": "金额超出范围（最多 {limit}）",
}

EN: dict[str, str] = {
    "hf.too_many_columns": "row {row} has {columns} columns, more than the limit of {limit}",
    "hf.too_many_rows": "more than {limit} rows: split the file",
    "hf.too_many_cells": "more than {limit} cells (reached at row {row}): split the file",
    "hf.cell_too_long": "row {row}, column {column} holds {chars} characters, more than the cell limit of {limit}",
    "hf.field_too_long": "row {row} holds a cell longer than the cell limit of {limit} characters",
    "hf.line_too_long": "line {row} holds {chars} characters, more than the line limit of {limit}",
    "hf.too_slow": "reading took longer than {limit} s (stopped at row {row}): split the file",
    "hf.no_delimiter": "delimiter not detected: the file is neither a table separated by commas, tabs, semicolons "
                       "or bars, nor columns aligned with at least two spaces on every line. Save it as CSV or "
                       "Excel and import that",
    "hf.xlsx_bomb": "{member} in the Excel file inflates to {ratio}× its compressed size (limit {limit}×): "
                    "refused as a likely zip bomb",
    "hf.xlsx_unzipped": "the Excel file unpacks to {size_mb} MB, more than the limit of {limit_mb} MB: split it",
    "hf.xlsx_strings": "the Excel file's table of texts unpacks to {size_mb} MB, more than the limit of {limit_mb} MB: "
                       "split it",
    "hf.xlsx_members": "the Excel file holds {members} parts, more than the limit of {limit}",
    "hf.xlsx_dtd": "{member} in the Excel file declares a DTD or XML entities (a known attack): refused. "
                   "Save the file again from Excel and import that",
    "hf.search_too_long": "search text too long ({length} characters, at most {limit})",
    "hf.amount_out_of_range": "amount out of range (at most {limit})",
}
