"""`flask --app wsgi seed-demo [--once]`: the demo catalogue, units and trainees."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from wxapp.demo.seed import logins_text, seed_demo
from wxapp.extensions import app_now, secret_keys


@click.command("seed-demo")
@click.option(
    "--once",
    is_flag=True,
    help="演示数据已存在时不再重建，只列出账号的当前状态（make run 使用）",
)
@with_appcontext
def seed_demo_command(once: bool) -> None:
    """创建演示用的培训项目（2025、2026 年度）、课程、单位和学员，并列出登录账号。

    不加 --once 再次运行时，恢复演示学员的初始密码和状态。
    """
    result = seed_demo(app_now(), secret_keys(), once=once)
    if result.created:
        click.echo(
            "演示数据已就绪：2025、2026 年公需科目（30 学时）与专业科目（60 学时，90.00 元）。"
        )
    click.echo(logins_text(result))


commands = [seed_demo_command]
