"""`flask --app wsgi report ...` (应训未训 reports) and `flask --app wsgi unit-admin ...` (the role)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from wxapp.errors import AppError
from wxapp.extensions import app_now
from wxapp.infra import clock
from wxapp.reports import access, districts, xlsx
from wxapp.reports import unit as unit_reports

report = AppGroup("report", help="应训未训 reports: a unit's trainees, or the 区县 summary.")
unit_admin = AppGroup("unit-admin", help="Grant or revoke the unit administrator role.")


def _year_default() -> int:
    return clock.local(app_now()).year


@report.command("unit")
@click.option("--unit", "unit_id", type=int, required=True, help="unit id")
@click.option("--year", type=int, default=None, help="year (default: this year)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def unit_command(unit_id: int, year: int | None, out: Path) -> None:
    """Write one unit's report (every trainee, 学时 done vs required, 达标/未达标) to xlsx."""
    try:
        data = unit_reports.unit_report(unit_id, year or _year_default())
    except AppError as err:
        raise click.ClickException(err.message) from None
    xlsx.write_unit_report(data, out)
    s = data["summary"]
    click.echo(
        f"{data['unit']['name']} {data['year']}: {s['trainees']} trainees, "
        f"{s['met']} met, {s['unmet']} not met -> {out}"
    )


@report.command("districts")
@click.option("--year", type=int, default=None, help="year (default: this year)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def districts_command(year: int | None, out: Path | None) -> None:
    """Per 区县: units and trainees, and how many have not met the year (xlsx with --out)."""
    year = year or _year_default()
    rows = districts.district_summary(year)
    if out is not None:
        xlsx.write_district_summary(year, rows, out)
        click.echo(f"{len(rows)} districts -> {out}")
        return
    click.echo("区县\t单位数\t未达标单位数\t学员数\t未达标学员数")
    for r in rows:
        click.echo(
            f"{r['district']}\t{r['units']}\t{r['units_unmet']}\t{r['trainees']}\t{r['trainees_unmet']}"
        )


@unit_admin.command("grant")
@click.argument("username")
@click.option("--unit", "unit_id", type=int, required=True, help="unit id")
def grant_command(username: str, unit_id: int) -> None:
    """Make USERNAME (phone or ID number) the administrator of a unit."""
    try:
        result = access.grant_unit_admin(username, unit_id, app_now())
    except AppError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"{result['name']} now administers {result['unit']}")


@unit_admin.command("revoke")
@click.argument("username")
def revoke_command(username: str) -> None:
    try:
        revoked = access.revoke_unit_admin(username)
    except AppError as err:
        raise click.ClickException(err.message) from None
    click.echo("revoked" if revoked else "not a unit administrator")


commands = [report, unit_admin]
