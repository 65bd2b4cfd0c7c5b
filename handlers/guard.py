"""Who may call what: every /api/ route needs a session unless marked public.

The session (a signed cookie) carries the trainee id and the must-change flag, so the
check costs no database query: the beacon path stays free of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, request, session

from wxapp.errors import Forbidden, Unauthorized

F = TypeVar("F", bound=Callable)

SESSION_TRAINEE = "tid"
SESSION_MUST_CHANGE = "must_change"


def public(view: F) -> F:
    """Mark an /api/ view as callable without a session."""
    view._public = True  # type: ignore[attr-defined]
    return view


def allowed_before_password_change(view: F) -> F:
    """Mark a view a trainee may call while the must-change-password flag is set."""
    view._before_password_change = True  # type: ignore[attr-defined]
    return view


def current_trainee_id() -> int:
    tid = session.get(SESSION_TRAINEE)
    if not isinstance(tid, int):
        raise Unauthorized()
    return tid


def start_session(trainee_id: int, must_change: bool) -> None:
    session.clear()
    session[SESSION_TRAINEE] = trainee_id
    session[SESSION_MUST_CHANGE] = must_change
    session.permanent = True


def install(app: Flask) -> None:
    @app.before_request
    def _require_session():
        if not request.path.startswith("/api/") or request.endpoint is None:
            return None
        view = app.view_functions.get(request.endpoint)
        if view is None or getattr(view, "_public", False):
            return None
        current_trainee_id()
        if session.get(SESSION_MUST_CHANGE) and not getattr(view, "_before_password_change", False):
            raise Forbidden("首次登录请先修改初始密码", code="password_change_required")
        return None
