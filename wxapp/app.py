"""The application factory: configuration, extensions, clients and blueprints wired once."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

# The factory is the composition root: it alone reaches up to the handlers, the sandbox
# and the CLI (the import-linter contracts in pyproject.toml allow it and nothing else).
from handlers.registry import register_blueprints
from wxapp import sandbox
from wxapp.accounts.sessions import SessionInterface
from wxapp.cli import register_commands
from wxapp.config import instance_dir, load_config
from wxapp.console import init_console
from wxapp.errors import register_error_handlers
from wxapp.extensions import db, make_redis, migrate
from wxapp.infra import observability
from wxapp.infra.clock import SystemClock
from wxapp.infra.json_request import JsonRequest
from wxapp.infra.replica import build_reader
from wxapp.notifications.worker import start_inprocess as start_inprocess_notify_worker
from wxapp.pay.client import build_wechatpay
from wxapp.progress.flusher import start_inprocess_flusher
from wxapp.wechat.client import build_wechat_client

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        static_folder="../static",
        static_url_path="/static",
        instance_path=str(instance_dir(ROOT / "instance", overrides)),
    )
    app.request_class = JsonRequest  # deep JSON nesting is a 422, not a RecursionError
    app.config.update(load_config(Path(app.instance_path), overrides))
    app.json.ensure_ascii = False  # Chinese messages stay readable on the wire
    app.session_interface = SessionInterface()  # Flask's cookie, verified once per process

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    app.extensions["redis"] = make_redis(
        app.config["REDIS_URL"],
        Path(app.instance_path),
        app.config["REDIS_TIMEOUT_S"],
        cluster=app.config["REDIS_CLUSTER"],
    )
    app.extensions["read_db"] = build_reader(app.config)  # the replica, when configured
    app.extensions["clock"] = SystemClock()
    app.extensions["wechat"] = build_wechat_client(app)
    app.extensions["wechatpay"] = build_wechatpay(app)
    start_inprocess_notify_worker(app)  # only with NOTIFY_INPROCESS=1 (make run)
    start_inprocess_flusher(app)  # only with PROGRESS_INPROCESS_FLUSH=1 (make run)

    register_error_handlers(app)
    observability.init_app(app)

    register_blueprints(app)  # and the beacon endpoint in front of Flask's dispatch
    sandbox.register(app)
    init_console(app)  # /admin, only with CONSOLE_ENABLED=1
    register_commands(app)
    if app.config["PROXY_COUNT"]:  # outermost: every handler sees the client's address
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app


def freeze_startup_heap() -> None:
    """Keep what start-up built (modules, the app, its clients) out of the collector's scans.

    For long-running processes (gunicorn workers, the flusher, the notification worker),
    once the app is built. Under load a web worker promotes the objects of in-flight
    requests and runs full collections every few seconds; each walked the whole start-up
    heap and stalled every thread of the worker for 100-500 ms on 2 vCPUs, the beacon's
    p99 spikes (docs/performance.md). Frozen objects are never collected, so garbage is
    collected first.
    """
    gc.collect()
    gc.freeze()
