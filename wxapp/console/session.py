"""The operators' own session cookie, separate from the trainees' (a trainee's cookie opens nothing here).

A signed cookie (`wxapp_console`, path /admin, HttpOnly, SameSite=Strict) holding the operator's
id, whether the second factor was passed, a fingerprint of the password hash and the
operator's session epoch (a new password, a logout or a second-factor reset ends every
session, a copied cookie included) and a random key the CSRF tokens are derived from. Its signature uses
SECRET_KEY with a salt of its own, so no trainee cookie verifies as one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from flask import Flask, Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from wxapp.extensions import secret_keys

COOKIE = "wxapp_console"
PATH = "/admin"
_SALT = "wxapp-console-session"


def _serializer() -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and accepts any of them.
    return URLSafeTimedSerializer(list(reversed(secret_keys())), salt=_SALT)


def fingerprint(password_hash: str, epoch: int) -> str:
    """What a session is valid for: this password and this session epoch (a new password,
    a logout or a second-factor reset ends every session)."""
    return hashlib.sha256(f"{epoch}:{password_hash}".encode()).hexdigest()[:16]


def data() -> dict[str, Any]:
    """This request's console session (an empty one, with a fresh CSRF key, when none)."""
    if "console_session" not in g:
        raw = request.cookies.get(COOKIE)
        loaded: dict[str, Any] | None = None
        if raw:
            max_age = int(current_app.config["CONSOLE_SESSION_HOURS"] * 3600)
            try:
                value = _serializer().loads(raw, max_age=max_age)
                loaded = value if isinstance(value, dict) else None
            except BadSignature:
                loaded = None
        if loaded is None or not isinstance(loaded.get("k"), str):
            loaded = {"k": secrets.token_urlsafe(24)}
            g.console_session_dirty = True
        g.console_session = loaded
    return g.console_session


def start(operator_id: int, fingerprint: str, *, second_factor: bool) -> None:
    """A new session after a password (second_factor False) or after the TOTP code too."""
    g.console_session = {
        "o": operator_id,
        "m": second_factor,
        "p": fingerprint,
        "k": secrets.token_urlsafe(24),  # a new key at each step: no fixation
    }
    g.console_session_dirty = True


def clear() -> None:
    g.console_session = {"k": secrets.token_urlsafe(24)}
    g.console_session_dirty = True


def csrf_token(purpose: str = "form") -> str:
    key = data()["k"].encode()
    return hmac.new(key, purpose.encode(), hashlib.sha256).hexdigest()


def csrf_ok(token: str | None, purpose: str = "form") -> bool:
    return bool(token) and hmac.compare_digest(str(token), csrf_token(purpose))


def install(app: Flask) -> None:
    @app.after_request
    def _save_console_session(response: Response) -> Response:
        if not g.get("console_session_dirty"):
            return response
        hours = app.config["CONSOLE_SESSION_HOURS"]
        response.set_cookie(
            COOKIE,
            _serializer().dumps(g.console_session),
            max_age=int(hours * 3600),
            path=PATH,
            secure=app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Strict",
        )
        return response
