"""Writing spreadsheets people open in Excel or WPS: user text never becomes a formula.

openpyxl stores a string that starts with `=` as a formula, so a trainee named
`=HYPERLINK("http://evil.example/x","点击查看详情")` became a live link in the unit
report, and a pasted `=cmd|' /C calc'!A0` a DDE call in an error file. Every writer
appends its rows through `text_row`: a string that a spreadsheet would read as a formula
(leading `=`, `+`, `-`, `@`, or a tab or carriage return before one) is written as a text
cell with Excel's quote prefix, which keeps it text even when someone edits the cell. The
value itself is kept as typed, so the file still shows what was wrong with a line, except
for control characters a spreadsheet cannot hold (openpyxl refuses to write them, and the
whole file with them): each shows as �.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from flask import Response
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(content: bytes, filename: str) -> Response:
    """A spreadsheet to save: `filename` (Chinese, a unit's own name) percent-encoded, so
    no quote or line break in it can end the header or add another."""
    return Response(
        content,
        mimetype=MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


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
    """`values` ready for `sheet.append`: strings a spreadsheet would evaluate made text,
    characters it cannot hold replaced."""
    row = []
    for value in values:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
            if looks_like_formula(value):
                value = text_cell(sheet, value)
        row.append(value)
    return row
