"""What the progress engine needs from the app at start-up: `init_app(app)`.

- The beacon does not refresh the session cookie. The session is permanent, and Flask
  re-signs and re-sends a permanent session's cookie on every response by default; for a
  request sent every 15 s by every learner that doubled the CPU a beacon costs. The page's
  other requests keep sliding the expiry.
- `make run` flushes progress from a thread of the dev server (PROGRESS_INPROCESS_FLUSH).
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

from wxapp.progress.flusher import start_inprocess_flusher

BEACON_ENDPOINT = "progress.beacon"


class BeaconQuietSessionInterface(SecureCookieSessionInterface):
    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if request.endpoint == BEACON_ENDPOINT:
            return session.modified
        return super().should_set_cookie(app, session)


def init_app(app: Flask) -> None:
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = BeaconQuietSessionInterface()
    start_inprocess_flusher(app)
