"""The app as production runs it, plus the bare route the benchmark compares against.

The bare route lives here, in the benchmark's own WSGI entry point, so the product never
ships a useless public route: `GET /_bench/ping` returns a constant through the same app
(wsgi.py's app: same factory, hooks and start-up; same gunicorn settings). It also answers
POST, so the benchmark can send it requests shaped exactly like beacons (it reads neither
the cookie nor the body). `GET /_bench/worker` tells which worker process answered.
"""

import os

from wsgi import app


@app.route("/_bench/ping", methods=["GET", "POST"])
def bench_ping():
    return {"status": "ok"}


@app.route("/_bench/worker")
def bench_worker():
    """Which gunicorn worker answered: the warm-up reaches every worker through it."""
    return {"pid": os.getpid()}
