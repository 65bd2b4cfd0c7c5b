"""Reading and checking a unit's roster (学员注册名单, the notice's 附件2): pure functions.

The layout is found by its text, not by fixed cells: a header block holding 区县 and
单位全称 (the value in the same cell after the colon, or in the next cell of the row),
then a header row with 序号, 姓名, 身份证号码, 手机号码, 性别, 备注 (the template's
notes in brackets, such as "姓名（姓名中间不能有空格和符号）", are ignored), then one
trainee per row. `wxapp.accounts.roster_template` writes the same layout;
`wxapp.accounts.roster_import` does the database side.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wxapp.accounts.idnumbers import IdNumberError, validate_id_number, validate_phone

# Column key -> how the header cell starts (after whitespace and bracketed notes are removed).
COLUMNS = {
    "serial": "序号",
    "name": "姓名",
    "id_number": "身份证",
    "phone": "手机",
    "gender": "性别",
    "note": "备注",
}
REQUIRED_COLUMNS = ("name", "id_number", "phone", "gender")
HEADER_LABELS = {"district": "区县", "unit_name": "单位全称"}
# Other labels of the header block: a value cell never starts with one of them.
BLOCK_LABELS = ("区县", "单位全称", "联系人", "联系电话")

NAME_MAX, NOTE_MAX = 50, 200
# What a roster can hold, and what is read of a sheet, so that a small crafted file cannot
# cost minutes of CPU or gigabytes of memory: the columns read (the template has six; a
# sheet that claims 16,384 is read only this far), the cells of the header block looked at
# for 区县 and 单位全称, the rows the header row must come within, and a cell's length (a
# shared string of millions of characters, stored once, would otherwise be copied into
# every row that points to it).
READ_COLUMNS = 30
BLOCK_CELLS = 10
HEADER_WITHIN_ROWS = 50
CELL_MAX = 1000
# Han characters (with the extension planes rare names need), Latin letters, and the
# middle dot that resident ID cards print inside minority names (买买提·艾力).
_NAME = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134fA-Za-z·]+$")
_SPACE = re.compile(r"\s")
_BRACKETED = re.compile(r"[（(].*$")

Progress = Callable[[int, int], None]


class RosterFileError(Exception):
    """The file as a whole cannot be read as a roster; str() is Chinese for the operator."""


@dataclass(frozen=True)
class RosterRow:
    row: int  # the row number Excel shows
    serial: str
    name: str
    id_number: str
    phone: str
    gender: str
    note: str
    # The ID number was typed as a number: Excel keeps 15 digits, the last ones are lost.
    id_number_numeric: bool = False


@dataclass
class Roster:
    district: str
    unit_name: str
    rows: list[RosterRow]


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


@dataclass
class RowError:
    row: RosterRow
    problems: list[Problem] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "；".join(p.message for p in self.problems)

    @property
    def codes(self) -> str:
        return ",".join(p.code for p in self.problems)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _label(value: Any) -> str:
    """A cell's text as a label: no whitespace at all, bracketed notes dropped."""
    return _BRACKETED.sub("", _SPACE.sub("", _text(value)))


def _header_columns(cells: tuple[Any, ...]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        label = _label(cell)
        for key, start in COLUMNS.items():
            if key not in found and label.startswith(start) and len(label) <= len(start) + 2:
                found[key] = index
    return found if all(key in found for key in REQUIRED_COLUMNS) else None


def _block_values(rows: Iterable[tuple[Any, ...]]) -> dict[str, str]:
    """区县 and 单位全称 from the rows above the header row (their first BLOCK_CELLS cells)."""
    values: dict[str, str] = {}
    for row in rows:
        cells = row[:BLOCK_CELLS]
        for index, cell in enumerate(cells):
            text = _SPACE.sub("", _text(cell))
            for key, label in HEADER_LABELS.items():
                if key in values or not text.startswith(label):
                    continue
                rest = text[len(label) :].lstrip(":：")
                if not rest:
                    following = [_text(c) for c in cells[index + 1 :] if _text(c)]
                    candidate = following[0] if following else ""
                    if not _SPACE.sub("", candidate).startswith(BLOCK_LABELS):
                        rest = candidate
                if rest:
                    values[key] = rest
    return values


def parse_rows(
    cells_by_row: Iterable[tuple[Any, ...]], progress: Progress | None = None, total: int = 0
) -> Roster:
    """A roster from the sheet's rows (1-based, as Excel numbers them)."""
    above: list[tuple[Any, ...]] = []
    columns: dict[str, int] | None = None
    rows: list[RosterRow] = []
    for number, cells in enumerate(cells_by_row, start=1):
        if progress is not None and number % 500 == 0:
            progress(number, total)
        if any(isinstance(c, str) and len(c) > CELL_MAX for c in cells):
            raise RosterFileError(
                f"第 {number} 行有单元格超过 {CELL_MAX} 个字符，不像是学员名单，未读取"
            )
        if columns is None:
            columns = _header_columns(cells)
            if columns is None:
                if number >= HEADER_WITHIN_ROWS:
                    break
                above.append(cells)
            continue
        row = _data_row(number, cells, columns)
        if row is not None:
            rows.append(row)
    if columns is None:
        raise RosterFileError("未找到表头行：应有“姓名”“身份证号码”“手机号码”“性别”几列")
    block = _block_values(above)
    for key, label in (("district", "区县"), ("unit_name", "单位全称")):
        if not block.get(key):
            raise RosterFileError(f"表头未填写“{label}”")
    return Roster(district=block["district"], unit_name=block["unit_name"], rows=rows)


def _data_row(number: int, cells: tuple[Any, ...], columns: dict[str, int]) -> RosterRow | None:
    def cell(key: str) -> Any:
        index = columns.get(key)
        return cells[index] if index is not None and index < len(cells) else None

    values = {key: _text(cell(key)) for key in COLUMNS}
    if not any(values[key] for key in ("name", "id_number", "phone", "gender", "note")):
        return None  # the template's numbered empty rows, the footnote under the table
    return RosterRow(
        row=number,
        id_number_numeric=isinstance(cell("id_number"), int | float),
        **values,
    )


def read_roster(path: Path, progress: Progress | None = None) -> Roster:
    """Read the first sheet of an .xlsx roster."""
    from xml.etree.ElementTree import ParseError
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    not_xlsx = f"无法读取 Excel 文件 {path.name}：须为 .xlsx 格式（旧的 .xls 请先另存为 .xlsx）"
    # A sheet that is not what Excel writes fails while it is parsed: in load_workbook
    # (which reads its size) or as its rows are read.
    broken = (ParseError, IndexError, KeyError, TypeError, ValueError)
    broken_text = (
        f"Excel 文件 {path.name} 已损坏或不是用 Excel 保存的，无法读取：请用 Excel 打开后另存为"
        " .xlsx 再上传"
    )
    try:
        file = path.open("rb")  # opened here so that it is closed on every failure
    except OSError:
        raise RosterFileError(not_xlsx) from None
    with file:
        try:
            workbook = load_workbook(file, read_only=True, data_only=True)
        except ParseError:
            raise RosterFileError(broken_text) from None
        except (BadZipFile, *broken):
            raise RosterFileError(not_xlsx) from None
        try:
            sheet = workbook.worksheets[0]
            total = sheet.max_row or 0
            rows = sheet.iter_rows(max_col=READ_COLUMNS, values_only=True)
            return parse_rows(rows, progress, total)
        except broken:
            raise RosterFileError(broken_text) from None
        finally:
            workbook.close()


def gender_from_id(id_number: str) -> str:
    """男 or 女 from a valid ID number's 17th digit (odd for men)."""
    return "男" if int(id_number[16]) % 2 else "女"


def check_name(name: str) -> Problem | None:
    """What is wrong with a name under the roster's rule (also 自主注册's), or None."""
    if not name:
        return Problem("name_missing", "姓名不能为空")
    if _SPACE.search(name):
        return Problem("name_space", "姓名中间不能有空格")
    if not _NAME.fullmatch(name):
        return Problem("name_symbol", "姓名不能含符号或数字")
    if len(name) > NAME_MAX:
        return Problem("name_too_long", f"姓名过长（最多 {NAME_MAX} 个字）")
    return None


def check_row(row: RosterRow) -> list[Problem]:
    """Everything wrong with one row on its own (not against other rows or the database)."""
    problems: list[Problem] = []
    name_problem = check_name(row.name)
    if name_problem is not None:
        problems.append(name_problem)

    id_ok = False
    if not row.id_number:
        problems.append(Problem("id_missing", "身份证号码不能为空"))
    elif row.id_number_numeric and len(row.id_number) >= 16:
        problems.append(
            Problem("id_not_text", "身份证号码须以文本格式填写（数字格式会丢失末几位）")
        )
    else:
        try:
            validate_id_number(row.id_number)
            id_ok = True
        except IdNumberError as exc:
            problems.append(Problem(f"id_{exc.reason}", str(exc)))

    if not row.phone:
        problems.append(Problem("phone_missing", "手机号码不能为空"))
    else:
        try:
            validate_phone(row.phone)
        except ValueError as exc:
            problems.append(Problem("phone_invalid", str(exc)))

    if not row.gender:
        problems.append(Problem("gender_missing", "性别不能为空"))
    elif row.gender not in ("男", "女"):
        problems.append(Problem("gender_invalid", "性别应填写“男”或“女”"))
    elif id_ok and row.gender != gender_from_id(row.id_number):
        problems.append(
            Problem("gender_mismatch", "性别与身份证号码不符（第 17 位奇数为男、偶数为女）")
        )

    if len(row.note) > NOTE_MAX:
        problems.append(Problem("note_too_long", f"备注过长（最多 {NOTE_MAX} 个字）"))
    return problems


def check_rows(rows: list[RosterRow]) -> Iterator[tuple[RosterRow, list[Problem]]]:
    """Each row with its own problems and those against earlier rows (duplicates in the file)."""
    first_id: dict[str, int] = {}
    first_phone: dict[str, int] = {}
    for row in rows:
        problems = check_row(row)
        if row.id_number:
            seen = first_id.setdefault(row.id_number, row.row)
            if seen != row.row:
                problems.append(Problem("duplicate_id", f"身份证号码与第 {seen} 行重复"))
        if row.phone:
            seen = first_phone.setdefault(row.phone, row.row)
            if seen != row.row:
                problems.append(Problem("duplicate_phone", f"手机号码与第 {seen} 行重复"))
        yield row, problems


@dataclass(frozen=True)
class Registered:
    """What the database holds for a trainee, as far as the roster can compare."""

    id_number: str
    name: str
    phone: str | None
    gender: str | None
    unit_id: int | None


def check_against_registered(
    row: RosterRow,
    unit_id: int | None,
    by_id: dict[str, Registered],
    phone_owner: dict[str, str],
) -> Problem | None | bool:
    """A Problem, True when the trainee is already registered with the same data, or None."""
    known = by_id.get(row.id_number)
    if known is not None:
        differences = [
            label
            for label, ours, theirs in (
                ("姓名", row.name, known.name),
                ("手机号码", row.phone, known.phone),
                ("性别", row.gender, known.gender),
                ("单位", unit_id, known.unit_id),
            )
            if ours != theirs
        ]
        if not differences:
            return True
        return Problem(
            "id_registered",
            f"该身份证号码已注册，{'、'.join(differences)}与已登记的不一致",
        )
    owner = phone_owner.get(row.phone)
    if owner is not None and owner != row.id_number:
        return Problem("phone_taken", "手机号码已被其他学员使用")
    return None
