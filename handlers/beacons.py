"""POST /api/beacons, the hot path: a small WSGI endpoint in front of Flask's dispatch.

Every learner's player sends a beacon every 15 s; at the end of the year that is most of
the requests the service answers. Flask's per-request machinery (request context, URL
routing, before/after hooks, the response object, teardown) costs as much CPU as the
beacon's own work, so this one path skips it, the way werkzeug's DispatcherMiddleware
mounts a second WSGI app. It works on the WSGI environ itself (building werkzeug's
Request and its header and stream wrappers cost more than the beacon's Redis call), pushes
the app context only for the cold paths that use the database, and skips no step: it goes
through the same functions, in the same order, as a Flask view behind handlers/guard.py's
hooks:

1. request id (X-Request-Id in, echoed out, on every log line written meanwhile);
2. body limit (limits.BEACON_BODY, 413 before the body is read; a chunked body is read to
   one byte past the limit to tell), then the body (at most 4 KB) is read;
3. cross-origin writes refused (403);
4. the session, opened by the app's own session interface: 401 without one, 403 while
   the initial password is unchanged. Never re-sent: the beacon does not slide it. Whether
   it was ended (logout, password change, unbind) is not asked here: the cookie's mark
   goes into the beacon's one Redis script, which answers 401 `session_ended` for it;
5. the body validated field by field (422 naming the field);
6. `tracking.record_beacon`, the use case;
7. errors answered as errors.py answers them for every /api/ route.

Everything else goes on to Flask unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from handlers import guard
from handlers import validation as v
from handlers.headers import BEACON_HEADERS
from wxapp.accounts.session_rules import mark_of
from wxapp.accounts.sessions import SessionInterface
from wxapp.errors import AppError, ValidationError, http_error_body, unexpected_error_body
from wxapp.infra import limits
from wxapp.infra.observability import REQUEST_ID_HEADER, incoming_request_id, plain_request
from wxapp.progress import tracking

PATH = "/api/beacons"
METHODS = ("POST",)
# Lua numbers are doubles: keep integers exact and lengths sane.
MAX_INT = 2**31 - 1

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}
REQUEST_ID_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")  # its WSGI environ key


def parse_beacon(body: Any) -> tracking.Beacon:
    """The beacon in a JSON body, or a 422 naming the first bad field."""
    body = v.json_object(body)
    chapter_id = v.integer(body, "chapter_id", low=1, high=MAX_INT)
    play_id = v.string(body, "play_id", max_len=64)
    seq = v.integer(body, "seq", low=0, high=MAX_INT)
    start = v.number(body, "from", low=0)
    end = v.number(body, "to", low=0)
    position = v.number(body, "position", low=0)
    if start > end:
        raise ValidationError("from", "播放起点不能大于播放终点")
    return tracking.Beacon(chapter_id, play_id, seq, start, end, position)


def json_body(environ: dict[str, Any], data: bytes) -> Any:
    """The JSON body, or None when there is none, as `request.get_json(silent=True)` answers.

    Without werkzeug's Request, stream wrapper and Flask's JSON provider layers: a beacon's
    body is about 100 bytes, and reading it through them cost more than the beacon's Redis
    call. JSON is told by the Content-Type as werkzeug's `Request.is_json` tells it.
    """
    mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if not (
        mimetype == "application/json"
        or (mimetype.startswith("application/") and mimetype.endswith("+json"))
    ):
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # not JSON, not UTF-8/16/32, or nested too deeply
        return None


class BeaconEndpoint:
    """WSGI middleware: answers POST /api/beacons, hands every other request to `next_app`."""

    def __init__(self, app: Flask, next_app: WSGIApp):
        self.app = app
        self.next_app = next_app
        if not isinstance(app.session_interface, SessionInterface):
            raise TypeError("the beacon endpoint opens sessions with wxapp.accounts.sessions")
        self.sessions = app.session_interface
        # The app's JSON settings (key order, escaping, what it does with dates and
        # decimals), compact as jsonify answers outside debug mode: one encoder, built once.
        self._encode = json.JSONEncoder(
            ensure_ascii=app.json.ensure_ascii,  # type: ignore[attr-defined]
            sort_keys=app.json.sort_keys,  # type: ignore[attr-defined]
            default=app.json.default,  # type: ignore[attr-defined]
            separators=(",", ":"),
        ).encode

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        if environ.get("PATH_INFO") != PATH:
            return self.next_app(environ, start_response)
        app = self.app
        method = environ.get("REQUEST_METHOD", "GET")
        rid = incoming_request_id(environ.get(REQUEST_ID_KEY, ""))
        headers = [("Content-Type", app.json.mimetype), (REQUEST_ID_HEADER, rid), *BEACON_HEADERS]
        with plain_request(rid, method, PATH):
            try:
                status, body = 200, self.answer(environ, method)
            except AppError as refused:
                status, body = refused.status, refused.to_dict()
            except HTTPException as err:
                status, body = http_error_body(err)
                headers += [h for h in err.get_headers() if h[0] == "Allow"]
            except Exception as err:  # noqa: BLE001 - answered as errors.py answers it
                status, body = unexpected_error_body(err, method, PATH)
            payload = f"{self._encode(body)}\n".encode()
        if method == "HEAD":
            payload = b""
        headers += [("Content-Length", str(len(payload))), ("Vary", "Cookie")]
        start_response(STATUS_LINES[status], headers)
        return [payload]

    def answer(self, environ: dict[str, Any], method: str) -> dict[str, Any]:
        app = self.app
        if method not in METHODS:
            raise MethodNotAllowed(valid_methods=METHODS)
        data = guard.read_body(environ, limits.BEACON_BODY)
        guard.refuse_cross_origin_write(environ, PATH, app.config["PUBLIC_BASE_URL"])
        session = self.sessions.open_environ(app, environ) or {}
        trainee_id = guard.trainee_of(session)
        guard.require_password_changed(session)
        beacon = parse_beacon(json_body(environ, data))
        now = app.extensions["clock"].now()  # clock.now() without the current_app lookup
        store = tracking.get_store(app)
        client = tracking.Client.of(
            environ.get("HTTP_USER_AGENT", ""), environ.get("REMOTE_ADDR") or ""
        )
        return tracking.record_beacon(
            store,
            trainee_id,
            beacon,
            now,
            database=app.app_context,
            session=mark_of(session),
            client=client,
        )


def install(app: Flask) -> None:
    app.wsgi_app = BeaconEndpoint(app, app.wsgi_app)  # type: ignore[method-assign]
