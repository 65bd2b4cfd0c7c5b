"""`flask --app wsgi ...` commands, registered by the factory."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    """Each area adds its command group here."""
