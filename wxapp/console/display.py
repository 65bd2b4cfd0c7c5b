"""How the console's pages show a time and an amount (the views pass these to templates)."""

from __future__ import annotations

from datetime import datetime

from wxapp.infra.clock import local
from wxapp.infra.texts import yuan as _yuan


def when(value: datetime | str | None) -> str:
    """Shanghai time to the minute; "" for none. A string is an ISO time with its offset,
    as the accounts area's history items carry them."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def yuan(fen: int | None) -> str:
    """分 as 元 ("90.00"); "—" for no amount (a difference only one side has)."""
    return "—" if fen is None else _yuan(fen)
