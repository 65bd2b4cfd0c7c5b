"""Flask's signed-cookie session, with what every request pays for it kept small.

The cookie, its format, its signature (HMAC-SHA1 over itsdangerous's timestamped payload,
SECRET_KEY with SECRET_KEY_FALLBACKS) and its lifetime are Flask's own; a cookie signed by
one works with the other. Two things differ, both measured on the beacon, which every
learner sends every 15 s with the same cookie:

- the signing serializer is built once per set of keys, not once per request (~10 µs);
- the cookie is signed again and re-sent only when the session changed or when its
  signature is older than `REFRESH_AFTER_S` (an hour), not on every reply as Flask's
  SESSION_REFRESH_EACH_REQUEST does: the lifetime still slides while the trainee uses
  the pages, a little coarser, and a year-end burst of arrivals does not pay an HMAC and
  a Set-Cookie per reply (4 % of the web workers' CPU in the rush);
- a session cookie already opened is not verified and decoded again: the last
  `VERIFIED_COOKIES` Cookie headers that held a valid session are remembered per process
  with the payload and signing time. A cookie is an immutable string, so the same header
  under the same keys always opens the same way; new keys mean a new serializer, which
  misses the cache. The lifetime (PERMANENT_SESSION_LIFETIME) is checked on every
  request, and every request gets its own session object (nested values copied). A
  forged or altered cookie is never remembered and costs its HMAC every time.

A valid signature is not enough: a session may have been ended (logout, password change,
unbind; session_ends). `open_session`, which every Flask request goes through, asks Redis
(one HMGET) and answers an ended session with an empty `EndedSession`, so every route
sees no session and the guard answers 401 `session_ended`. `open_environ` does not ask:
the beacon (handlers/beacons.py) hands the cookie's mark to its own Redis script instead,
which refuses an ended session in the round trip it makes anyway.
"""

from __future__ import annotations

import copy
import time
from functools import lru_cache
from typing import Any

import redis
from flask import Flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.http import parse_cookie
from werkzeug.wrappers import Request

from wxapp.accounts.session_ends import has_ended

# Every learner a 2-core web server carries (about 60,000 at one beacon per 15 s,
# docs/performance.md) may reach every worker (nginx does not pin clients to workers), and
# an LRU smaller than the learners it serves in turn would keep missing. An entry is about
# 0.8 KB (a header up to 512 bytes: ~1.1 KB; longer ones are opened without the cache), so
# a full cache is about 80 MB a worker.
VERIFIED_COOKIES = 100_000
MAX_REMEMBERED_HEADER = 512
# A session signed longer ago than this is signed again on the next reply that may set a
# cookie (a page or an API reply, never the beacon): the lifetime slides by the hour.
REFRESH_AFTER_S = 3600


@lru_cache(maxsize=VERIFIED_COOKIES)
def _opened(
    serializer: URLSafeTimedSerializer, name: str, header: str
) -> tuple[dict[str, Any], int]:
    """The session payload in a Cookie header and its signing time (Unix s).

    BadSignature, which is never cached, without a session cookie or with a forged one.
    """
    value = parse_cookie(header).get(name)
    if not value:
        raise BadSignature("no session cookie")
    error: BadSignature | None = None
    for signer in serializer.iter_unsigners():  # the current key first, then the fallbacks
        try:
            payload, signed_at = signer.unsign(value, return_timestamp=True)
        except BadSignature as err:
            error = err
            continue
        return serializer.load_payload(payload), int(signed_at.timestamp())
    raise error or BadSignature("no signing key")


class Session(SecureCookieSession):
    """Flask's session, knowing when its cookie was signed (None for a new one)."""

    signed_at: int | None = None


class EndedSession(SecureCookieSession):
    """No session, because the cookie's session was ended (not because there was none).

    Not marked modified, so the reply sends no cookie: a fresh cookie the browser got from
    a concurrent reply (the password change's own) is not deleted by it.
    """

    ended = True


class UncheckedSession(SecureCookieSession):
    """No session, because Redis could not say whether the cookie's session was ended."""

    unavailable = True


class SessionInterface(SecureCookieSessionInterface):
    session_class = Session

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            self._serializers = {keys: serializer}  # keys changed: forget the old one
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        opened = self.open_environ(app, request.environ)
        try:
            if opened and has_ended(app.extensions["redis"], opened):
                return EndedSession()
        except (redis.ConnectionError, redis.TimeoutError):
            # Raised here, outside the view's dispatch, it would skip the error handlers
            # (a bare 500): the guard answers 503 for a session it could not check.
            return UncheckedSession()
        return opened

    def open_environ(self, app: Flask, environ: dict[str, Any]) -> SecureCookieSession | None:
        """open_session for a WSGI endpoint that has no Request object (handlers/beacons.py)."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        header = environ.get("HTTP_COOKIE", "")
        opener = _opened if len(header) <= MAX_REMEMBERED_HEADER else _opened.__wrapped__
        try:
            payload, signed_at = opener(serializer, self.get_cookie_name(app), header)
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed_at
        if not 0 <= age <= app.permanent_session_lifetime.total_seconds():
            return self.session_class()  # expired (or signed in the future): as Flask does
        if any(isinstance(v, list | dict) for v in payload.values()):
            payload = copy.deepcopy(payload)
        opened = self.session_class(payload)
        opened.signed_at = signed_at
        return opened

    def should_set_cookie(self, app: Flask, session: SecureCookieSession) -> bool:
        """A changed session always; an unchanged one when its signature is over an hour
        old (and Flask's SESSION_REFRESH_EACH_REQUEST asks for sliding at all)."""
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or time.time() - signed_at >= REFRESH_AFTER_S
