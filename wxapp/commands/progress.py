"""`flask --app wsgi progress flush`: the write-behind worker of the progress engine."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from wxapp.progress import flusher
from wxapp.progress.tracking import get_store

progress = AppGroup("progress", help="Learning progress: the write-behind flusher.")


@progress.command("flush")
@click.option("--once", is_flag=True, help="Write every dirty chapter now, then exit.")
@click.option("--batch", default=flusher.BATCH, show_default=True, help="Chapters per upsert.")
def flush(once: bool, batch: int) -> None:
    """Write dirty chapters from Redis to the database every PROGRESS_FLUSH_S."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        written = flusher.flush_all(get_store(app), app.extensions["clock"].now(), batch)
        click.echo(f"flushed {written} chapter(s)")
        return
    stop = threading.Event()
    # SIGTERM (systemd, docker stop) ends the loop after the batch in flight.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"flushing every {app.config['PROGRESS_FLUSH_S']} s; Ctrl-C to stop")
    try:
        flusher.run(app, stop, batch)
    except KeyboardInterrupt:
        stop.set()


commands = [progress]
