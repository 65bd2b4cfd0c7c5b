"""What the 管理员 view modules share: the role set and the time cell."""

from __future__ import annotations

from typing import Any

from wxapp.console.access import Role
from wxapp.infra.clock import local

ADMIN = frozenset({Role.ADMIN})


def time_cell(view: Any, context: Any, model: Any, name: str) -> str:
    value = getattr(model, name)
    return local(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""
