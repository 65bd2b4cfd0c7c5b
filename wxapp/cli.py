"""`flask --app wsgi ...` commands: every module in wxapp/commands/ contributes its `commands`."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

import wxapp.commands


def register_commands(app: Flask) -> None:
    for info in pkgutil.iter_modules(wxapp.commands.__path__):
        module = importlib.import_module(f"wxapp.commands.{info.name}")
        for command in getattr(module, "commands", ()):
            app.cli.add_command(command)
