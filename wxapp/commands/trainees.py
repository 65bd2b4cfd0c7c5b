"""`flask --app wsgi trainees import FILE.xlsx`: bulk registration from a unit's roster."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from wxapp.accounts.roster import RosterFileError
from wxapp.accounts.roster_import import import_roster
from wxapp.accounts.units import similar_units
from wxapp.commands import cli_reason
from wxapp.console import audit
from wxapp.extensions import app_now
from wxapp.infra.transaction import transaction

PROGRESS_FROM_ROWS = 1000  # small files finish before a bar would be worth drawing


class _Bar:
    """Progress on stderr for large files: a bar when the sheet states its size, else a count.

    Excel writes the sheet's dimension; files written by some tools (openpyxl's write-only
    mode among them) leave it out, and counting the rows first would double the reading time.
    """

    def __init__(self) -> None:
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if not total:
            if done % 2000 == 0:
                click.echo(f"读取名单：已读 {done} 行", err=True)
            return
        if self.bar is None:
            if total < PROGRESS_FROM_ROWS:
                return
            self.bar = click.progressbar(length=total, label="读取名单", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.length - self.done)
            self.bar.__exit__(None, None, None)


@click.group("trainees", cls=AppGroup, help="学员：批量注册等")
def trainees() -> None:
    pass


@trainees.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
def import_command(file: Path) -> None:
    """按单位名单（附件2 格式）批量注册学员；有误的行写入 FILE.errors.xlsx。"""
    bar = _Bar()
    try:
        with transaction():
            result = import_roster(file, app_now(), progress=bar)
            audit.record(
                "trainees.import",
                "units",
                result.unit_id,
                None,
                result.audited(file.name, file.read_bytes()),
                cli_reason(),
            )
    except RosterFileError as exc:
        bar.close()
        raise click.ClickException(str(exc)) from None
    bar.close()
    click.echo(result.summary)
    if result.unit_created:
        click.echo(f"新建单位：{result.district} {result.unit_name}")
        similar = similar_units(result.unit_name, result.district)
        if similar:
            names = "、".join(u["name"] for u in similar)
            click.echo(
                f"注意：{result.district}已登记名称相近的单位：{names}；如为同一单位，请与单位核对单位全称（新建单位的人员不会出现在原单位的名单和报表中）"
            )


commands = [trainees]
