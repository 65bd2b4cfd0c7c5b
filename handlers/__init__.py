"""Flask blueprints: parse and validate the request, call one wxapp function, shape the reply."""

from flask import Flask

from handlers import auth, catalogue, guard, health


def register_blueprints(app: Flask) -> None:
    guard.install(app)
    for module in (health, auth, catalogue):
        app.register_blueprint(module.bp)
