"""`flask --app wsgi progress flush`: the write-behind worker of the progress engine;
`progress prune-records`: the learning record's retention."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from wxapp.progress import flusher, learning_record
from wxapp.progress.tracking import get_store

progress = AppGroup("progress", help="学习进度：把 Redis 中的进度写入数据库（write-behind）。")


@progress.command("flush")
@click.option("--once", is_flag=True, help="立即写入全部待写章节后退出")
@click.option("--batch", default=flusher.BATCH, show_default=True, help="每批写入的章节数")
def flush(once: bool, batch: int) -> None:
    """每 PROGRESS_FLUSH_S 秒把 Redis 中有变化的章节进度写入数据库。"""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        written = flusher.flush_all(get_store(app), app.extensions["clock"].now(), batch)
        click.echo(f"已写入 {written} 个章节的进度")
        return
    stop = threading.Event()
    # SIGTERM (systemd, docker stop) ends the loop after the batch in flight.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"每 {app.config['PROGRESS_FLUSH_S']} 秒写入一次进度；按 Ctrl-C 停止")
    try:
        flusher.run(app, stop, batch)
    except KeyboardInterrupt:
        stop.set()


@progress.command("prune-records")
@click.option(
    "--years",
    type=click.IntRange(1, 100),
    default=None,
    help="保留年限（默认 LEARNING_RECORD_RETENTION_YEARS）",
)
def prune_records(years: int | None) -> None:
    """删除结束时间早于保留年限的学习记录（每次播放的明细）；学时与证书不受影响。"""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    keep = years or app.config["LEARNING_RECORD_RETENTION_YEARS"]
    deleted = learning_record.prune(app.extensions["clock"].now(), keep)
    click.echo(f"已删除 {deleted} 条 {keep} 年前的学习记录")


commands = [progress]
