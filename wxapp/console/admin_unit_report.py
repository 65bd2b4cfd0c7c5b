"""管理员's 单位报表: a unit's 应训未训 report for a chosen year, as the xlsx `flask --app wsgi
report unit` writes (wxapp.reports.unit and wxapp.reports.xlsx, the same code).

The report lists every trainee of the unit with their phone number, so only 管理员 opens it
(as the 单位 and 单位管理员 views), and each download is an entry in the audit log.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_admin import expose

from models import Trainee, Unit, db
from wxapp.console import audit
from wxapp.console.access import SecuredView
from wxapp.console.admin_shared import ADMIN
from wxapp.errors import AppError
from wxapp.extensions import app_now
from wxapp.infra import xlsx
from wxapp.infra.clock import local
from wxapp.infra.transaction import transaction
from wxapp.reports.unit import unit_report
from wxapp.reports.xlsx import write_unit_report

YEARS = (2000, 2100)
LISTED = 50  # units a search shows
QUERY_MAX = 100


def _year(text: str | None) -> int | None:
    """The year asked for, this year when none; None when it is not a year we keep."""
    if not text:
        return local(app_now()).year
    text = text.strip()
    if not text.isascii() or not text.isdigit() or not YEARS[0] <= int(text) <= YEARS[1]:
        return None
    return int(text)


def _units(q: str) -> tuple[list[dict[str, Any]], int]:
    """Units whose name holds `q` (name order, at most LISTED), with their trainee counts,
    and how many match in all."""
    where = Unit.name.contains(q, autoescape=True) if q else sa.true()
    total = db.session.execute(sa.select(sa.func.count(Unit.id)).where(where)).scalar_one()
    staff = (
        sa.select(Trainee.unit_id, sa.func.count(Trainee.id).label("n"))
        .group_by(Trainee.unit_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Unit.id, Unit.name, Unit.district, sa.func.coalesce(staff.c.n, 0))
        .outerjoin(staff, staff.c.unit_id == Unit.id)
        .where(where)
        .order_by(Unit.name, Unit.id)
        .limit(LISTED)
    ).all()
    return [
        {"id": uid, "name": name, "district": district, "trainees": n}
        for uid, name, district, n in rows
    ], total


class UnitReportView(SecuredView):
    roles = ADMIN

    @expose("/")
    def index(self) -> Any:
        q = request.args.get("q", "").strip()[:QUERY_MAX]
        year = _year(request.args.get("year"))
        problem = None
        if year is None:
            problem = f"年度须为 {YEARS[0]} 至 {YEARS[1]} 之间的年份，如 {local(app_now()).year}"
            year = local(app_now()).year
        units, total = _units(q)
        return self.render(
            "console/unit_report.html",
            q=q,
            year=year,
            units=units,
            total=total,
            listed=LISTED,
            problem=problem,
        )

    @expose("/download")
    def download(self) -> Any:
        year = _year(request.args.get("year"))
        unit = request.args.get("unit", "")
        back = url_for(".index", q=request.args.get("q", ""))
        if year is None:
            flash(f"年度须为 {YEARS[0]} 至 {YEARS[1]} 之间的年份", "error")
            return redirect(back)
        if not (unit.isascii() and unit.isdigit() and len(unit) < 10):
            flash("请先查找并选择单位", "error")
            return redirect(back)
        try:
            report = unit_report(int(unit), year)
        except AppError as err:
            flash(err.message, "error")
            return redirect(back)
        with tempfile.TemporaryDirectory(prefix="unit-report-") as folder:
            path = Path(folder) / "report.xlsx"
            write_unit_report(report, path)
            content = path.read_bytes()
        with transaction():
            audit.record(
                "units.report",
                "units",
                report["unit"]["id"],
                None,
                {"year": year, "trainees": report["summary"]["trainees"]},
            )
        filename = f"{report['unit']['name']}{year}年度应训未训.xlsx"
        return xlsx.download(content, filename)
