"""What the progress engine needs from the app at start-up: `init_app(app)`.

`make run` flushes progress from a thread of the dev server (PROGRESS_INPROCESS_FLUSH).
"""

from __future__ import annotations

from flask import Flask

from wxapp.progress.flusher import start_inprocess_flusher


def init_app(app: Flask) -> None:
    start_inprocess_flusher(app)
