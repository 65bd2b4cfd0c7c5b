"""Registering the handlers on the app: the row-id converter, the request guard, the
security headers, the beacon endpoint in front of Flask's dispatch, outside both the reading
of bodies left unread, then every module here with a blueprint `bp`."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask
from werkzeug.routing import BaseConverter, IntegerConverter

import handlers
from handlers import beacons, guard, headers, unread_body
from handlers.validation import ROW_ID_MAX


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: a number past any row id does not match (404).

    Without the bound /api/plans/99999999999 reaches PostgreSQL, which refuses the value
    (integer out of range) and the request would end in a 500.
    """

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", ROW_ID_MAX)
        super().__init__(map, *args, **kwargs)


class OrderNumberConverter(BaseConverter):
    """`<order:...>`: what an out_trade_no may hold (WeChat Pay allows letters, digits,
    _ and -, at most 32; ours are 26 digits). Anything else does not match (404) instead of
    reaching PostgreSQL, which refuses a NUL with a 500."""

    regex = r"[0-9A-Za-z_-]{1,32}"


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["order"] = OrderNumberConverter
    guard.install(app)
    headers.install(app)
    beacons.install(app)
    unread_body.install(app)  # outside the beacon endpoint too
    for info in sorted(pkgutil.iter_modules(handlers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"handlers.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
