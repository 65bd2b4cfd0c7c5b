"""`flask --app wsgi catalogue load [--strict] FILE.json`: load or update plans, courses and
chapters; the file's warnings go to stderr (with --strict they refuse the file)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from wxapp.catalogue.loader import load_catalogue, read_catalogue_file
from wxapp.catalogue.spec import MINUTES_PER_HOUR, CatalogueFileError, CatalogueWarningError
from wxapp.commands import cli_reason
from wxapp.console import audit
from wxapp.extensions import app_now
from wxapp.infra.transaction import transaction
from wxapp.progress import relink


@click.group("catalogue", cls=AppGroup, help="课程目录：培训项目、课程、章节")
def catalogue() -> None:
    pass


def _echo_warnings(warnings: list[tuple[str, str]]) -> None:
    for path, message in warnings:
        click.echo(f"警告 {path}: {message}", err=True)


@catalogue.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--strict",
    is_flag=True,
    help=f"文件有警告（如课程视频合计少于 学时 × {MINUTES_PER_HOUR} 分钟）时拒绝载入，不做任何更改",
)
def load_command(file: Path, strict: bool) -> None:
    """从 FILE.json 载入或更新课程目录（格式见 docs/catalogue-format.md）。"""
    now = app_now()
    try:
        with transaction():
            summary = load_catalogue(read_catalogue_file(file), now, strict=strict)
            recounted = relink.recount_relinked(summary, now)
            audit.record(
                "catalogue.load",
                "catalogue",
                file.name[:64],
                None,
                summary.audited(file.read_bytes()),
                cli_reason(),
            )
    except CatalogueWarningError as exc:
        _echo_warnings(exc.errors)
        raise click.ClickException(
            f"{file.name} 有 {len(exc.errors)} 条警告（--strict），未做任何更改"
        ) from None
    except CatalogueFileError as exc:
        for path, message in exc.errors:
            click.echo(f"{path}: {message}", err=True)
        raise click.ClickException(
            f"{file.name} 有 {len(exc.errors)} 处错误，未做任何更改"
        ) from None
    relink.forget_entitlements(recounted)
    _echo_warnings(summary.warnings)
    click.echo(summary.text())
    if summary.warnings:
        click.echo(f"有 {len(summary.warnings)} 条警告（见上），文件已照常载入。", err=True)


commands = [catalogue]
