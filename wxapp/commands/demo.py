"""`flask --app wsgi seed-demo [--once]`: the demo catalogue, units and trainees."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from wxapp.demo.seed import logins_text, seed_demo
from wxapp.extensions import app_now


@click.command("seed-demo")
@click.option(
    "--once",
    is_flag=True,
    help="Do nothing if the demo data is already there (what `make run` uses).",
)
@with_appcontext
def seed_demo_command(once: bool) -> None:
    """Create the demo plans (2025 and 2026), courses, units and trainees; print the logins.

    Without --once, run again it restores the demo trainees' printed passwords and state.
    """
    result = seed_demo(app_now(), once=once)
    if result.created:
        click.echo(
            "演示数据已就绪：2025、2026 年公需科目（30 学时）与专业科目（60 学时，90.00 元）。"
        )
    click.echo(logins_text(result))


commands = [seed_demo_command]
