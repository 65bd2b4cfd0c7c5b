"""Who may call what: every /api/ route needs a session unless marked public.

The session (a signed cookie) carries the trainee id and the must-change flag, so the
check costs no database query: the beacon path stays free of them. It also carries its
epoch and id, by which a session is ended before its cookie expires
(wxapp/accounts/session_rules.py): an ended one opens empty and is answered 401
`session_ended`, with a message the page shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, after_this_request, current_app, request, session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request
from werkzeug.wsgi import get_content_length, get_current_url, get_input_stream

from wxapp.accounts import devices, session_ends, session_rules
from wxapp.accounts import trainees as accounts
from wxapp.errors import AppError, Forbidden, ServiceUnavailable, Unauthorized
from wxapp.extensions import get_redis, secret_keys
from wxapp.infra import ratelimit

F = TypeVar("F", bound=Callable)
WSGIEnvironment = dict[str, Any]

SESSION_TRAINEE = session_rules.TRAINEE
SESSION_MUST_CHANGE = session_rules.MUST_CHANGE


def public(view: F) -> F:
    """Mark an /api/ view as callable without a session."""
    view._public = True  # type: ignore[attr-defined]
    return view


def allowed_before_password_change(view: F) -> F:
    """Mark a view a trainee may call while the must-change-password flag is set."""
    view._before_password_change = True  # type: ignore[attr-defined]
    return view


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Refuse request bodies over `max_bytes` for this view (413), before reading them.

    The app-wide MAX_CONTENT_LENGTH (2 MiB) is for everything else; endpoints that take two
    strings or a few numbers take much less, so a flood of big bodies costs nothing.
    """

    def mark(view: F) -> F:
        view._max_body = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


def current_trainee_id() -> int:
    return trainee_of(session)


def trainee_of(opened: Mapping[str, Any]) -> int:
    """The trainee a session belongs to, or 401 (`session_ended` for an ended one; 503 when
    Redis could not tell)."""
    tid = opened.get(SESSION_TRAINEE)
    if not isinstance(tid, int):
        if getattr(opened, "unavailable", False):
            raise ServiceUnavailable()
        if getattr(opened, "ended", False):
            raise Unauthorized(session_rules.ENDED_MESSAGE, code=session_rules.ENDED_CODE)
        raise Unauthorized()
    return tid


def require_password_changed(opened: Mapping[str, Any]) -> None:
    """403 `activation_required` for a session opened with a roster account's initial
    password: it reaches only the activation routes (wxapp/accounts/activation.py)."""
    if opened.get(SESSION_MUST_CHANGE):
        raise Forbidden("首次登录请先通过短信验证激活账号", code="activation_required")


def start_session(
    trainee_id: int, must_change: bool, fields: Mapping[str, Any] | None = None
) -> None:
    """A new session for this browser, under the trainee's current epoch (or under the
    `fields` read before a last check, `trainees.session_fields`); the browser becomes a
    known device of the account, unless the session was opened with the published initial
    password (`must_change`)."""
    session.clear()
    session[SESSION_TRAINEE] = trainee_id
    session[SESSION_MUST_CHANGE] = must_change
    session.update(fields or session_ends.new_session(get_redis(), trainee_id))
    session.permanent = True
    if not must_change:
        remember_device(trainee_id)


def known_devices() -> devices.KnownDevices:
    """The accounts this browser is a known device of (wxapp/accounts/devices.py)."""
    return devices.read(secret_keys(), request.cookies.get(devices.COOKIE_NAME))


def remember_device(trainee_id: int) -> None:
    """Make this browser a known device of the account, under its current password, and
    sign its token again (a year from now, under the current SECRET_KEY)."""
    password_hash = accounts.password_hash_of(trainee_id)
    token = devices.issue(secret_keys(), known_devices().remembering(trainee_id, password_hash))

    @after_this_request
    def set_cookie(response):
        response.set_cookie(
            devices.COOKIE_NAME,
            token,
            max_age=devices.MAX_AGE_S,
            path="/",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response


def caller_address() -> str:
    """The caller's own address, for what is recorded (behind nginx, from X-Forwarded-For
    via PROXY_COUNT)."""
    return request.remote_addr or "-"


def client_ip() -> str:
    """The caller's address (behind nginx, from X-Forwarded-For via PROXY_COUNT), as the
    per-address limits count it: an IPv6 caller's /64 (ratelimit.counted_address)."""
    return ratelimit.counted_address(caller_address())


def limit_by_ip(limit: ratelimit.Limit) -> None:
    ratelimit.hit(get_redis(), limit, client_ip())


# What a failed password check answers (login, 绑定微信, and the password typed again to
# change the password or the phone).
PASSWORD_FAILURES = frozenset(
    {"bad_credentials", "locked", "no_wechat_openid", "bad_old_password", "bad_password"}
)


@contextmanager
def password_attempt(every: ratelimit.Limit, failures: ratelimit.Limit) -> Iterator[None]:
    """A password check from this address: every attempt counts against `every` (what
    hashing one address may cause), and once `failures` failed ones are used in its
    window the address gets 429 before any hash. Only failures count there, so colleagues
    logging in behind one NAT address are not turned away for being many: an attempt is
    counted before its hash (a burst sent at once must not all pass before the first
    failure is counted) and given back unless it failed."""
    r, address = get_redis(), client_ip()
    ratelimit.hit(r, every, address)
    ratelimit.hit(r, failures, address)
    counted = time.monotonic()
    failed = False
    try:
        yield
    except AppError as err:
        failed = err.code in PASSWORD_FAILURES
        raise
    finally:
        if not failed:
            ratelimit.give_back(r, failures, address, time.monotonic() - counted)


def limit_by_ip_and(per_address: ratelimit.Limit, per_typed: ratelimit.Limit, typed: str) -> None:
    """A budget for the address, then one for what the caller typed (the phone number or
    username a person registers or resets): colleagues behind one NAT address each have
    their own, and the address's larger one still bounds a script cycling through many.
    Nothing typed gets no second budget: the request is refused for the missing field
    anyway, and one shared budget would answer 频繁 instead to whoever next forgot it."""
    limit_by_ip(per_address)
    if typed:
        ratelimit.hit(get_redis(), per_typed, typed)


def limit_by_trainee(limit: ratelimit.Limit) -> None:
    ratelimit.hit(get_redis(), limit, str(current_trainee_id()))


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _cross_origin(environ: WSGIEnvironment, public_base_url: str) -> bool:
    """A state-changing browser request sent from another site (CSRF), by Origin or Referer."""
    if environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
        return True
    source = environ.get("HTTP_ORIGIN") or environ.get("HTTP_REFERER")
    if not source or source == "null":
        return source == "null"
    origin = _origin_of(source)
    if origin == _origin_of(public_base_url):
        return False
    return origin != _origin_of(get_current_url(environ, host_only=True))


def refuse_cross_origin_write(environ: WSGIEnvironment, path: str, public_base_url: str) -> None:
    """403 for a POST (PUT, DELETE...) to /api/ or /auth/ sent from another site.

    `path` is the request's path as routing sees it (werkzeug's `request.path`).
    """
    if environ.get("REQUEST_METHOD") in SAFE_METHODS:
        return
    if (path.startswith("/api/") or path.startswith("/auth/")) and _cross_origin(
        environ, public_base_url
    ):
        raise Forbidden("拒绝来自其他网站的请求", code="cross_origin")


def enforce_body_limit(req: Request, limit: int | None) -> None:
    """413 for a body over `limit` bytes, told before it is read; the body is read no further."""
    if limit is None:
        return
    req.max_content_length = limit
    if req.content_length is not None:
        if req.content_length > limit:
            raise RequestEntityTooLarge()
    elif req.method not in SAFE_METHODS and req.environ.get("wsgi.input_terminated"):
        # Chunked, length unknown: werkzeug would hand the view the first `limit` bytes
        # as if they were the whole body. Read one byte more to tell, keep what was read.
        req.max_content_length = limit + 1
        if len(req.get_data(cache=True)) > limit:
            raise RequestEntityTooLarge()


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The whole body, for a WSGI endpoint with no Request object; 413 as enforce_body_limit.

    A told length over `limit` is refused before anything is read; a chunked body is read
    to one byte past `limit` to tell.
    """
    length = get_content_length(environ)
    if length is not None:
        if length > limit:
            raise RequestEntityTooLarge()
        return environ["wsgi.input"].read(length) if length else b""
    data = get_input_stream(environ, max_content_length=limit + 1).read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


def install(app: Flask) -> None:
    @app.before_request
    def _refuse_large_bodies():
        # First of the guards: a body too big is refused before anything else is done.
        view = app.view_functions.get(request.endpoint or "")
        enforce_body_limit(request, getattr(view, "_max_body", None) or request.max_content_length)

    @app.before_request
    def _refuse_cross_origin_writes():
        refuse_cross_origin_write(request.environ, request.path, app.config["PUBLIC_BASE_URL"])

    @app.before_request
    def _require_session():
        if not request.path.startswith("/api/") or request.endpoint is None:
            return None
        view = app.view_functions.get(request.endpoint)
        if view is None or getattr(view, "_public", False):
            return None
        trainee_of(session)
        if not getattr(view, "_before_password_change", False):
            require_password_changed(session)
        return None
