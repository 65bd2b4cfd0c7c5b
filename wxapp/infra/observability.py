"""Structured logs carrying a request id, and the Prometheus counters operators watch.

Each request gets an id (the incoming `X-Request-Id` when it is sane, else a new one),
echoed in the response and added to every log record written while serving it. Counters
are module-level prometheus-client metrics; under gunicorn set PROMETHEUS_MULTIPROC_DIR so
/metrics adds up every worker.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

BEACONS = Counter("wxapp_beacons_total", "Progress beacons answered, by outcome", ["outcome"])
COMPLETIONS = Counter("wxapp_completions_total", "Completions written, by level", ["level"])
PAYMENTS = Counter("wxapp_payments_total", "Payment notifications handled, by outcome", ["outcome"])
PUSHES = Counter("wxapp_pushes_total", "Template messages pushed, by outcome", ["outcome"])


# A request answered in front of Flask (handlers/beacons.py) has no request context: its id,
# method and path are kept here while it is served, for the logs.
_plain_request: ContextVar[tuple[str, str, str] | None] = ContextVar("plain_request", default=None)


def incoming_request_id(header: str) -> str:
    """The caller's X-Request-Id when it is sane, else a new id."""
    return header if _SANE_ID.fullmatch(header) else uuid.uuid4().hex


@contextmanager
def plain_request(request_id: str, method: str, path: str) -> Iterator[None]:
    """Logs written inside carry this request's id, method and path."""
    token = _plain_request.set((request_id, method, path))
    try:
        yield
    finally:
        _plain_request.reset(token)


def request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    plain = _plain_request.get()
    return plain[0] if plain else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


# WeChat's API takes its access_token (and the OAuth exchange its AppSecret) in the query
# string, and a connection error's text or traceback repeats the URL.
_SECRET_IN_URL = re.compile(r"((?:access_token|secret)=)[^&\s'\"]+")


def redact(text: str) -> str:
    """`text` with any access_token or secret in a URL's query replaced by ***."""
    return _SECRET_IN_URL.sub(r"\1***", text)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: what log shippers index without parsing rules. Secrets in
    a URL's query are redacted (`redact`), in the message and the traceback alike."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
        }
        if has_request_context():
            entry["method"] = request.method
            entry["path"] = request.path
        elif (plain := _plain_request.get()) is not None:
            entry["method"], entry["path"] = plain[1], plain[2]
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            PlainFormatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_wxapp", False)]:
        root.removeHandler(old)
    handler._wxapp = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_FORMAT"])

    @app.before_request
    def _assign_request_id():
        g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER, ""))

    @app.after_request
    def _echo_request_id(response):
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response


def metrics_text() -> bytes:
    """The Prometheus exposition, summed over gunicorn workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
