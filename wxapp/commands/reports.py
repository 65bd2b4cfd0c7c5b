"""`flask --app wsgi report ...` (应训未训 reports) and `flask --app wsgi unit-admin ...` (the role)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from wxapp.commands import cli_reason
from wxapp.console import audit
from wxapp.errors import AppError
from wxapp.extensions import app_now
from wxapp.infra import clock
from wxapp.infra.transaction import transaction
from wxapp.reports import access, districts, xlsx
from wxapp.reports import unit as unit_reports

report = AppGroup("report", help="应训未训报表：单位学员明细，或各区县汇总。")
unit_admin = AppGroup("unit-admin", help="授予或撤销单位管理员。")


def _year_default() -> int:
    return clock.local(app_now()).year


@report.command("unit")
@click.option("--unit", "unit_id", type=int, required=True, help="单位编号")
@click.option("--year", type=int, default=None, help="年度（默认今年）")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def unit_command(unit_id: int, year: int | None, out: Path) -> None:
    """把一个单位的报表（每位学员的学时完成情况、是否达标）写入 xlsx。"""
    try:
        data = unit_reports.unit_report(unit_id, year or _year_default())
    except AppError as err:
        raise click.ClickException(err.message) from None
    xlsx.write_unit_report(data, out)
    s = data["summary"]
    click.echo(
        f"{data['unit']['name']} {data['year']}年度：学员 {s['trainees']} 人，"
        f"达标 {s['met']} 人，未达标 {s['unmet']} 人，已写入 {out}"
    )


@report.command("districts")
@click.option("--year", type=int, default=None, help="年度（默认今年）")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def districts_command(year: int | None, out: Path | None) -> None:
    """各区县的单位数、学员数及未达标人数（加 --out 写入 xlsx）。"""
    year = year or _year_default()
    rows = districts.district_summary(year)
    if out is not None:
        xlsx.write_district_summary(year, rows, out)
        click.echo(f"{len(rows)} 个区县，已写入 {out}")
        return
    click.echo("区县\t单位数\t未达标单位数\t学员数\t未达标学员数")
    for r in rows:
        click.echo(
            f"{r['district']}\t{r['units']}\t{r['units_unmet']}\t{r['trainees']}\t{r['trainees_unmet']}"
        )


@unit_admin.command("grant")
@click.argument("username")
@click.option("--unit", "unit_id", type=int, required=True, help="单位编号")
def grant_command(username: str, unit_id: int) -> None:
    """让 USERNAME（手机号或身份证号）成为单位管理员（每个账号只管理一个单位）。"""
    try:
        with transaction():
            result = access.grant_unit_admin(username, unit_id, app_now())
            audit.record(
                "unit_admins.create",
                "unit_admins",
                result["trainee_id"],
                None,
                {"trainee_id": result["trainee_id"], "unit_id": unit_id},
                cli_reason(),
            )
    except AppError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"{result['name']} 现为 {result['unit']} 的单位管理员")


@unit_admin.command("revoke")
@click.argument("username")
def revoke_command(username: str) -> None:
    """撤销 USERNAME 的单位管理员权限。"""
    try:
        with transaction():
            revoked = access.revoke_unit_admin(username)
            if revoked is not None:
                audit.record(
                    "unit_admins.delete",
                    "unit_admins",
                    revoked["trainee_id"],
                    revoked,
                    None,
                    cli_reason(),
                )
    except AppError as err:
        raise click.ClickException(err.message) from None
    click.echo("已撤销单位管理员权限" if revoked is not None else "该账号不是单位管理员")


commands = [report, unit_admin]
