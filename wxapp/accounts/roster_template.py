"""Writing a unit's roster in the notice's 附件2 layout (学员注册名单): the blank template a
unit fills in for the centre (GET /api/register/roster-template.xlsx), and rosters for tests
and benchmarks. `wxapp.accounts.roster` reads the same layout."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from wxapp.infra.xlsx import text_row


def write_roster(
    path: Path,
    district: str,
    unit_name: str,
    rows: Iterable[dict[str, Any]],
    *,
    top: int = 1,
    left: int = 1,
    footnotes: Iterable[str] = (),
) -> None:
    """Write a roster in the 附件2 layout (the template units fill in, or test data).

    `rows` are dicts with keys of COLUMNS (序号 is numbered when absent); `top`/`left` place
    the title cell, as a unit's own copy of the template may be shifted; `footnotes` go
    under the table in the 序号 column, where the reader passes them over.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("学员注册名单")
    pad = [None] * (left - 1)
    for _ in range(top - 1):
        sheet.append([])
    sheet.append([*pad, "重庆市专业技术人员继续教育培训学员注册名单"])
    sheet.append([*pad, "区 县：", district, None, "联系人：", None])
    sheet.append([*pad, "单位全称：", unit_name, None, "联系电话：", None])
    sheet.append(
        [
            *pad,
            "序号",
            "姓名\n（姓名中间不能有空格和符号）",
            "身份证号码\n（身份证号码含 X，必须大写）",
            "手机号码",
            "性别",
            "备注",
        ]
    )
    for number, row in enumerate(rows, start=1):
        values = [row.get(key, "") for key in ("name", "id_number", "phone", "gender", "note")]
        sheet.append(text_row(sheet, [*pad, row.get("serial", number), *values]))
    for line in footnotes:
        sheet.append([*pad, line])
    workbook.save(path)


TEMPLATE_ROWS = 10


@cache
def roster_template_xlsx(email: str) -> bytes:
    """`roster_template` as the bytes of an .xlsx, made once per process."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "学员注册名单.xlsx"
        roster_template(path, email)
        return path.read_bytes()


def roster_template(path: Path, email: str) -> None:
    """The blank 学员注册名单 (附件2) a unit fills in for the centre, its notes under it."""
    write_roster(
        path,
        "",
        "",
        [{"serial": n} for n in range(1, TEMPLATE_ROWS + 1)],
        footnotes=(
            "注意：",
            "1.文件格式要求为 Excel 电子格式，注册信息将作为培训合格证书的重要数据，事关职称评审等"
            "相关工作，请认真填写，确保信息的真实准确；",
            f"2.各单位指定专人将未注册的参训学员报名名单（电子件）发送至 {email} 邮箱，在收到邮件后"
            " 2 个工作日内，由市人服中心工作人员统一为参训学员注册账号，注册完毕会回复邮件，请注意"
            "查收邮件（用户名统一为身份证号码，初始密码为 edu@身份证号码后六位）。",
        ),
    )
