"""Reports as Excel files (openpyxl write-only mode: rows stream out, 20,000 fit in little memory).

Every row goes through `text_row`: names, units and reasons are people's text, and none of
it may become a formula in the unit's spreadsheet (wxapp/infra/xlsx.py).
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from wxapp.infra.xlsx import text_row

UNIT_HEADER = (
    "姓名",
    "身份证号码",
    "手机号码",
    "公需科目已完成学时",
    "公需科目要求学时",
    "专业科目已完成学时",
    "专业科目要求学时",
    "是否达标",
    "年度计入学时",
    "还差",
)
MOVEMENT_HEADER = ("变动", "姓名", "身份证号码", "日期", "原单位 / 新单位", "办理人")
STAFF_HEADER = (
    "姓名",
    "身份证号码",
    "公需科目已完成学时",
    "公需科目要求学时",
    "专业科目已完成学时",
    "专业科目要求学时",
    "年度计入学时",
    "状态",
    "还差",
    "最近提醒",
    "本年度购买",
    "账号",
)
DISTRICT_HEADER = ("区县", "单位数", "未达标单位数", "学员数", "未达标学员数")


def write_unit_report(report: dict[str, Any], path: Path) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=f"{report['year']}年度应训未训")
    unit = report["unit"]
    ws.append(
        text_row(ws, [f"{unit['name']}（{unit['district']}）{report['year']}年度继续教育学时统计"])
    )
    summary = report["summary"]
    ws.append(
        [f"学员 {summary['trainees']} 人，达标 {summary['met']} 人，未达标 {summary['unmet']} 人"]
    )
    ws.append(list(UNIT_HEADER))
    for row in report["trainees"]:
        ws.append(
            text_row(
                ws,
                [
                    row["name"],
                    row["id_number_masked"],
                    row["phone"],
                    row["public_done"],
                    row["public_required"],
                    row["specialist_done"],
                    row["specialist_required"],
                    row["verdict"],
                    row["counted"],
                    row["shortfall"],
                ],
            )
        )
    _movements_sheet(wb, unit, report["year"], report.get("movements"))
    wb.save(path)


def _movements_sheet(
    wb: Workbook, unit: dict[str, Any], year: int, movements: dict[str, Any] | None
) -> None:
    """Who joined and who left the unit during the year (wxapp/reports/unit.py)."""
    movements = movements or {"joined": [], "left": []}
    moved = wb.create_sheet(title=f"{year}年度人员变动")
    moved.append(text_row(moved, [f"{unit['name']} {year}年度调入、调出本单位的学员"]))
    moved.append(list(MOVEMENT_HEADER))
    for row in movements["joined"]:
        moved.append(text_row(moved,
            ["调入", row["name"], row["id_number_masked"], row["date"],
             f"原单位：{row['from_unit'] or '未选择单位'}", row["by"]]
        ))  # fmt: skip
    for row in movements["left"]:
        moved.append(text_row(moved,
            ["调出", row["name"], row["id_number_masked"], row["date"],
             f"新单位：{row['to_unit'] or '未选择单位'}", row["by"]]
        ))  # fmt: skip


def write_district_summary(year: int, rows: list[dict[str, Any]], path: Path) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=f"{year}年度各区县")
    ws.append(list(DISTRICT_HEADER))
    for row in rows:
        ws.append(
            text_row(
                ws,
                [
                    row["district"],
                    row["units"],
                    row["units_unmet"],
                    row["trainees"],
                    row["trainees_unmet"],
                ],
            )
        )
    wb.save(path)


def summary_text(summary: dict[str, int]) -> str:
    """Who holds the year's plans and whose account is not activated, over the whole unit."""
    return (
        f"本年度已购买公需科目 {summary['bought_public']} 人，已购买专业科目 "
        f"{summary['bought_specialist']} 人，均未购买 {summary['bought_none']} 人；"
        f"账号未激活（尚未首次登录）{summary['not_activated']} 人"
    )


def staff_xlsx(listing: dict[str, Any]) -> bytes:
    """The unit page's list as shown, filters included (wxapp/reports/staff.py)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=f"{listing['year']}年度应训未训")
    unit = listing["unit"]
    ws.append(text_row(ws, [f"{unit['name']}（{unit['district']}）继续教育学时统计"]))
    ws.append(text_row(ws, [f"筛选：{listing['filter_text']}"]))
    c = listing["counts"]
    ws.append(
        [
            f"共 {c['all']} 人：未开始 {c['not_started']} 人，学习中 {c['learning']} 人，"
            f"未达标 {c['unmet']} 人，已达标 {c['met']} 人；本表 {len(listing['items'])} 人"
        ]
    )
    ws.append([summary_text(listing["summary"])])
    ws.append(list(STAFF_HEADER))
    for row in listing["items"]:
        ws.append(text_row(ws, [
            row["name"], row["id_number_masked"],
            row["public"]["done"], row["public"]["required"],
            row["specialist"]["done"], row["specialist"]["required"], row["counted"],
            row["state_label"], row["shortfall"], row["reminded_text"],
            row["bought_label"], row["account_label"],
        ]))  # fmt: skip
    # Someone who left the unit is no longer on the list above: the clerk sees where they went.
    _movements_sheet(wb, unit, listing["year"], listing.get("movements"))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
