"""Writing spreadsheets people open in Excel or WPS: user text never becomes a formula.

openpyxl stores a string that starts with `=` as a formula, so a trainee named
`=HYPERLINK("http://evil.example/x","点击查看详情")` became a live link in the unit
report, and a pasted `=cmd|' /C calc'!A0` a DDE call in an error file. Every writer
appends its rows through `text_row`: a string that a spreadsheet would read as a formula
(leading `=`, `+`, `-`, `@`, or a tab or carriage return before one) is written as a text
cell with Excel's quote prefix, which keeps it text even when someone edits the cell. The
value itself is kept exactly as typed: the file still shows what was wrong with a line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def looks_like_formula(value: str) -> bool:
    return value.lstrip(" ").startswith(FORMULA_STARTS)


def text_cell(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    """A cell holding `value` as text, never as a formula."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl made it "f" for a leading "="
    cell.quotePrefix = True
    return cell


def text_row(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    """`values` ready for `sheet.append`: strings a spreadsheet would evaluate made text."""
    return [
        text_cell(sheet, value) if isinstance(value, str) and looks_like_formula(value) else value
        for value in values
    ]
