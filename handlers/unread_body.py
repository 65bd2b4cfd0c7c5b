"""Reading to its end a request body the app answered without reading all of it.

A 413 is decided before the body is read, and a view may answer without the body (the
console's sign-in page for a session that expired while 财务 chose a PDF). gunicorn drains
at most 64 KiB of what is left before it keeps the connection; past that it closes it, and
the kernel answers the unread bytes with a reset. nginx, still sending the body it buffered,
then takes the reset as the node failing: the client gets 502 Bad Gateway instead of the
app's answer, and the node leaves the upstream for `fail_timeout` (max_fails=1). Two 2 MB
POSTs to the login were enough to take both nodes out for 10 s.

So once the app has answered, what it left of the body is read and dropped here, in 64 KiB
pieces, up to `limits.UNREAD_BODY_DRAIN`. A body told larger than that (it cannot come
through nginx) is not read: its connection closes as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask
from werkzeug.wsgi import get_content_length

from wxapp.infra import limits

PIECE = 64 * 1024


class CountedInput:
    """`wsgi.input`, counting what the app read of it."""

    def __init__(self, stream: Any):
        self.stream, self.read_bytes = stream, 0

    def read(self, size: int | None = -1) -> bytes:
        data = self.stream.read() if size is None or size < 0 else self.stream.read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self.stream.readline() if size is None or size < 0 else self.stream.readline(size)
        self.read_bytes += len(data)
        return data

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


def drop(stream: Any, most: int) -> None:
    """Read and drop up to `most` bytes, or to the end of `stream`."""
    try:
        while most > 0:
            data = stream.read(min(PIECE, most))
            if not data:
                return
            most -= len(data)
    except Exception:  # noqa: BLE001 - the client went away: the answer stands as it is
        return


class DrainUnreadBody:
    """WSGI middleware: see the module's docstring."""

    def __init__(self, app: Callable[..., Iterable[bytes]], most: int):
        self.app, self.most = app, most

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        told = get_content_length(environ)
        if told is not None and told > self.most:
            return self.app(environ, start_response)
        if environ.get("wsgi.input_terminated"):
            # gunicorn's input (and werkzeug's for a chunked body) ends where the body ends:
            # what is left is read to that end, with no count kept on the way (the beacon's
            # path pays one read that finds nothing).
            answer = self.app(environ, start_response)
            if told != 0 and environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                drop(environ["wsgi.input"], self.most)
            return answer
        if not told:
            return self.app(environ, start_response)
        counted = CountedInput(environ["wsgi.input"])
        environ["wsgi.input"] = counted
        answer = self.app(environ, start_response)
        if counted.read_bytes < told:
            drop(counted.stream, told - counted.read_bytes)
        return answer


def install(app: Flask) -> None:
    app.wsgi_app = DrainUnreadBody(app.wsgi_app, limits.UNREAD_BODY_DRAIN)  # type: ignore[method-assign]
