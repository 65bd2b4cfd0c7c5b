"""The application factory: configuration, extensions, clients and blueprints wired once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from wxapp.clock import SystemClock
from wxapp.config import load_config
from wxapp.errors import register_error_handlers
from wxapp.extensions import db, make_redis, migrate
from wxapp.progress.web import init_app as init_progress

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        static_folder="../static",
        static_url_path="/static",
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(load_config(Path(app.instance_path), overrides))
    app.json.ensure_ascii = False  # Chinese messages stay readable on the wire
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    app.extensions["redis"] = make_redis(app.config["REDIS_URL"], Path(app.instance_path))
    app.extensions["clock"] = SystemClock()
    init_progress(app)  # beacon session cookie; in-process flusher for make run

    register_error_handlers(app)

    # The factory is the composition root: it alone reaches up to the handlers and the CLI.
    from handlers import register_blueprints
    from wxapp import sandbox
    from wxapp.cli import register_commands

    register_blueprints(app)
    sandbox.register(app)
    register_commands(app)
    return app
