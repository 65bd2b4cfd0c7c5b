"""The built-in WeChat sandbox, served under /_sandbox/ only when WXAPP_SANDBOX is on.

It plays WeChat (网页授权, access_token, menu, template messages, the phone) and WeChat Pay v3
(prepay, cashier, signed and encrypted notifications, query, close, refund) over real HTTP,
so the app's real clients (wechatpy, wechatpayv3) run unchanged against it. Every module in
this package that defines a blueprint `bp` is mounted.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask


def register(app: Flask) -> None:
    if not app.config["WXAPP_SANDBOX"]:
        return
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
