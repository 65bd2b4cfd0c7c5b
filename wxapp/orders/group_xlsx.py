"""The group purchase error file (下载错误文件): one row per rejected line, as an .xlsx."""

from __future__ import annotations

import io

from openpyxl import Workbook

from wxapp.infra.xlsx import text_row
from wxapp.orders.group import Reject

HEADERS = ("行号", "身份证号码", "错误原因")


def rejects_xlsx(rejects: list[Reject]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("错误明细")
    sheet.append(list(HEADERS))
    for rej in rejects:
        # ID numbers stay text: Excel would otherwise round 18 digits as a number.
        sheet.append(text_row(sheet, [rej.line, str(rej.id_number), rej.reason]))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
