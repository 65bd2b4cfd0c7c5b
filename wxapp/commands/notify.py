"""`flask --app wsgi notify worker [--once] [--batch N]`: send the outbox to WeChat."""

from __future__ import annotations

import signal as os_signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from wxapp.notifications.worker import Worker

# AppGroup: its commands run inside the app context, also under the test CLI runner.
notify_group = AppGroup("notify", help="推送通知（模板消息，及原手机号的更换通知短信）")


@notify_group.command("worker", help="发送待推送的通知；可同时运行多个")
@click.option("--once", is_flag=True, help="发送当前到期的全部通知后退出")
@click.option("--batch", type=click.IntRange(1, 500), default=None, help="每次认领的条数")
def worker(once: bool, batch: int | None) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    w = Worker(app, app.extensions["wechat"], batch=batch)
    if once:
        handled = w.drain()
        click.echo(
            f"处理 {handled} 条：发送 {w.counts['sent']}，稍后重试 {w.counts['retry']}，"
            f"放弃 {w.counts['given_up']}，跳过 {w.counts['skipped']}"
        )
        return
    if threading.current_thread() is threading.main_thread():
        # systemd stops with SIGTERM: finish the current send, then leave.
        for signum in (os_signal.SIGTERM, os_signal.SIGINT):
            os_signal.signal(signum, lambda *_: w.stop())
    w.run_forever()


commands = [notify_group]
