"""`flask --app wsgi catalogue load FILE.json`: load or update plans, courses and chapters."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from wxapp.catalogue.loader import load_catalogue, read_catalogue_file
from wxapp.catalogue.spec import CatalogueFileError
from wxapp.extensions import app_now


@click.group("catalogue", cls=AppGroup, help="课程目录：培训项目、课程、章节")
def catalogue() -> None:
    pass


@catalogue.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
def load_command(file: Path) -> None:
    """从 FILE.json 载入或更新课程目录（格式见 docs/catalogue-format.md）。"""
    try:
        summary = load_catalogue(read_catalogue_file(file), app_now())
    except CatalogueFileError as exc:
        for path, message in exc.errors:
            click.echo(f"{path}: {message}", err=True)
        raise click.ClickException(
            f"{file.name} 有 {len(exc.errors)} 处错误，未做任何更改"
        ) from None
    click.echo(summary.text())


commands = [catalogue]
