"""Flask blueprints: parse and validate the request, call one wxapp function, shape the reply.

Every module here that defines a blueprint `bp` is registered by the factory.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from handlers import guard


def register_blueprints(app: Flask) -> None:
    guard.install(app)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
