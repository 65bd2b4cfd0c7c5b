"""Bulk registration (批量注册): a roster file in, trainees registered, an errors file out.

`import_roster` is the use case behind `flask --app wsgi trainees import FILE.xlsx`.
It costs a fixed number of queries whatever the file's size: the trainees already
holding the file's ID or phone numbers are loaded in chunks of IN lists, the good rows
are checked in memory and inserted with one executemany in one transaction. No password
hash is computed: username is the ID number and the initial password follows the
published rule (edu@ + last six), accepted only while must-change is set
(`wxapp.accounts.trainees.password_matches`). Bad rows go, with their row numbers and reasons, to
`<name>.errors.xlsx` beside the input. `check_roster` is the same reading and checking with
nothing written (the console's preview before an operator confirms the import).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Trainee, Unit, db
from wxapp.accounts.roster import (
    Progress,
    Registered,
    RosterFileError,
    RosterRow,
    RowError,
    check_against_registered,
    check_rows,
    read_roster,
)
from wxapp.accounts.units import is_district
from wxapp.infra.transaction import transaction
from wxapp.infra.xlsx import text_row

CHUNK = 5000  # IN-list size: well under PostgreSQL's and SQLite's bound-parameter limits
ERROR_COLUMNS = (
    "行号",
    "序号",
    "姓名",
    "身份证号码",
    "手机号码",
    "性别",
    "备注",
    "原因",
    "原因代码",
)


@dataclass
class ImportResult:
    unit_name: str
    district: str
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    unit_created: bool = False
    unit_id: int | None = None  # None while the unit is still to be created
    errors: list[RowError] = field(default_factory=list)
    errors_path: Path | None = None

    def audited(self, file_name: str, data: bytes) -> dict[str, Any]:
        """What the audit log keeps of this import of `file_name` (its bytes `data`)."""
        return {
            "file": file_name[:64],
            "sha256": hashlib.sha256(data).hexdigest(),
            "district": self.district,
            "unit": self.unit_name,
            "unit_created": self.unit_created,
            "rows": self.rows,
            "created": self.imported,
            "unchanged": self.unchanged,
            "bad_rows": [e.row.row for e in self.errors],
        }

    @property
    def summary(self) -> str:
        parts = [f"{self.district} {self.unit_name}：名单 {self.rows} 人"]
        if self.imported:
            parts.append(f"新注册 {self.imported} 人")
        if self.unchanged:
            parts.append(f"{self.unchanged} 人此前已注册（未改动）")
        if self.errors:
            parts.append(f"{len(self.errors)} 行有误未导入，原因见 {self.errors_path}")
        text = "，".join(parts) + "。"
        if not self.imported:
            text += "没有新学员，数据库未做任何更改。"
        return text


def errors_path_for(path: Path) -> Path:
    """roster.xlsx -> roster.errors.xlsx, in the same folder."""
    return path.with_name(f"{path.stem}.errors.xlsx")


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _registered(
    id_numbers: set[str], phones: set[str]
) -> tuple[dict[str, Registered], dict[str, str]]:
    """The trainees holding any of these ID or phone numbers, in a few bulk queries."""
    by_id: dict[str, Registered] = {}
    for batch in _chunks(sorted(id_numbers)):
        rows = db.session.execute(
            sa.select(
                Trainee.id_number, Trainee.name, Trainee.phone, Trainee.gender, Trainee.unit_id
            ).where(Trainee.id_number.in_(batch))
        )
        for row in rows:
            by_id[row.id_number] = Registered(*row)
    phone_owner: dict[str, str] = {}
    for batch in _chunks(sorted(phones)):
        rows = db.session.execute(
            sa.select(Trainee.phone, Trainee.id_number).where(Trainee.phone.in_(batch))
        )
        phone_owner.update({phone: id_number for phone, id_number in rows})
    return by_id, phone_owner


UNIT_NAME_MAX = 200  # Unit.name


def _unit(unit_name: str, district: str) -> Unit | None:
    """The roster's unit if registered (in the same 区县); None for a new one. The 区县 must
    be one of Chongqing's, written in full: a new unit in "垫江" would be in no district's
    list, chooser or summary."""
    if not is_district(district):
        raise RosterFileError(f"区县“{district}”不是重庆市的区县，请填写全称，如“垫江县”“渝北区”")
    if len(unit_name) > UNIT_NAME_MAX:
        raise RosterFileError(f"单位全称过长（最多 {UNIT_NAME_MAX} 个字），请核对表头")
    unit = db.session.execute(db.select(Unit).where(Unit.name == unit_name)).scalar_one_or_none()
    if unit is not None and unit.district != district:
        raise RosterFileError(
            f"单位“{unit_name}”已登记在{unit.district}，与名单中的区县“{district}”不符"
        )
    return unit


def _trainee_values(row: RosterRow, unit_id: int, now: datetime) -> dict[str, Any]:
    return {
        "name": row.name,
        "id_number": row.id_number,
        "phone": row.phone,
        "gender": row.gender,
        "unit_id": unit_id,
        "note": row.note or None,
        "password_hash": None,  # initial password by rule until the first change
        "must_change_password": True,
        "created_at": now,
        "updated_at": now,
    }


def write_errors(path: Path, errors: list[RowError]) -> None:
    """The rejected rows as people typed them, each with its row number and reasons."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误行")
    for column, width in zip("ABCDEFGHI", (6, 6, 10, 22, 14, 6, 16, 60, 30), strict=True):
        sheet.column_dimensions[column].width = width
    bold = Font(bold=True)
    header = [WriteOnlyCell(sheet, value=title) for title in ERROR_COLUMNS]
    for cell in header:
        cell.font = bold
    sheet.append(header)
    for error in errors:
        r = error.row
        sheet.append(
            text_row(
                sheet,
                [
                    r.row,
                    r.serial,
                    r.name,
                    r.id_number,
                    r.phone,
                    r.gender,
                    r.note,
                    error.message,
                    error.codes,
                ],
            )
        )
    workbook.save(path)


@dataclass
class RosterCheck:
    """A roster read and checked against the database, nothing written: `result` counts the
    unchanged rows and holds the bad ones, `fresh` are the rows an import would register."""

    result: ImportResult
    unit: Unit | None
    fresh: list[RosterRow]


def check_roster(path: Path, progress: Progress | None = None) -> RosterCheck:
    """Read the roster and check every row, on its own and against the database."""
    roster = read_roster(path, progress)
    result = ImportResult(
        unit_name=roster.unit_name, district=roster.district, rows=len(roster.rows)
    )
    unit = _unit(roster.unit_name, roster.district)
    result.unit_id = unit.id if unit else None

    checked = list(check_rows(roster.rows))
    candidates = [row for row, problems in checked if not problems]
    by_id, phone_owner = _registered(
        {row.id_number for row in candidates}, {row.phone for row in candidates}
    )
    bad = {row.row: RowError(row, problems) for row, problems in checked if problems}
    fresh: list[RosterRow] = []
    for row in candidates:
        verdict = check_against_registered(row, unit.id if unit else None, by_id, phone_owner)
        if verdict is True:
            result.unchanged += 1
        elif verdict is None:
            fresh.append(row)
        else:
            bad[row.row] = RowError(row, [verdict])
    result.errors = [bad[number] for number in sorted(bad)]
    return RosterCheck(result, unit, fresh)


def import_roster(path: Path, now: datetime, progress: Progress | None = None) -> ImportResult:
    """Register the roster's good rows in one transaction; write the bad ones beside the file."""
    checked = check_roster(path, progress)
    result, unit, fresh = checked.result, checked.unit, checked.fresh
    if fresh:
        try:
            with transaction():
                if unit is None:
                    unit = Unit(name=result.unit_name, district=result.district, created_at=now)
                    db.session.add(unit)
                    db.session.flush()
                    result.unit_created, result.unit_id = True, unit.id
                db.session.execute(
                    sa.insert(Trainee.__table__), [_trainee_values(r, unit.id, now) for r in fresh]
                )
        except IntegrityError:  # transaction() has rolled back: no one is imported
            raise RosterFileError(
                "导入期间名单中的身份证号码或手机号码被其他操作注册，未导入任何学员，请重新导入"
            ) from None
        result.imported = len(fresh)

    errors_path = errors_path_for(path)
    if result.errors:
        write_errors(errors_path, result.errors)
        result.errors_path = errors_path
    elif errors_path.exists():
        errors_path.unlink()  # a stale list from an earlier run would mislead
    return result
