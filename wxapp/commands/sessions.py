"""`flask --app wsgi sessions restore`: write the endings of sessions kept in PostgreSQL back
into Redis, after Redis lost data (all of them) and every few minutes (the last ones)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from wxapp.accounts import session_ends
from wxapp.extensions import app_now

sessions = AppGroup("sessions", help="登录会话：把已结束的会话写回 Redis。")


@sessions.command("restore")
@click.option(
    "--minutes",
    type=click.IntRange(1, None),
    default=None,
    help="只写回最近若干分钟内结束的会话（定时运行时用）；不给则写回全部仍有效的结束记录",
)
def restore(minutes: int | None) -> None:
    """Redis 丢失数据（主从切换、从备份恢复、清空）后运行：被结束的会话（改密码、解绑、退出登录）不会因此重新生效。"""
    now = app_now()
    since = None if minutes is None else now - timedelta(minutes=minutes)
    done = session_ends.restore(
        current_app.extensions["redis"],
        now,
        since,
        progress=lambda n: click.echo(f"已写回 {n} 名学员……"),
    )
    click.echo(
        f"已写回 {done.trainees} 名学员的 {done.endings} 条会话结束记录；"
        f"删除 {done.pruned} 条过期记录"
    )


commands = [sessions]
