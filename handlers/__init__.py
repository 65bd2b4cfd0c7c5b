"""Flask blueprints: parse and validate the request, call one wxapp function, shape the reply.

Every module here that defines a blueprint `bp` is registered by the factory; the progress
beacon, the hot path, is a WSGI endpoint in front of them (handlers/beacons.py).
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask
from werkzeug.routing import IntegerConverter

from handlers import guard

ROW_ID_MAX = 2**31 - 1  # primary keys are 32-bit integers in PostgreSQL


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: a number past any row id does not match (404).

    Without the bound /api/plans/99999999999 reaches PostgreSQL, which refuses the value
    (integer out of range) and the request would end in a 500.
    """

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", ROW_ID_MAX)
        super().__init__(map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
    guard.install(app)
    from handlers import beacons  # imports the handler modules, which import this package

    beacons.install(app)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
