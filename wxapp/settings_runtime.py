"""Progress, presence-check, operations, console and notification settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wxapp.errors import ConfigError
from wxapp.notifications.templates import EVENTS, SANDBOX_TEMPLATES, parse_fields
from wxapp.settings_parse import _bool, _get, _number


def progress_settings(env: Mapping[str, Any], cfg: dict[str, Any]) -> None:
    """Progress flushing, presence checks (防挂机) and learning-record retention, into `cfg`."""
    # --- progress ---
    # `make run` flushes progress in its own process; production runs `flask progress flush`.
    cfg["PROGRESS_INPROCESS_FLUSH"] = _bool(env, "PROGRESS_INPROCESS_FLUSH", False)
    # --- presence checks (防挂机) ---
    # A check after a random PRESENCE_MIN_S..PRESENCE_MAX_S seconds of credited playback (and
    # within every chapter longer than 5 minutes), answered within PRESENCE_ANSWER_S.
    cfg["PRESENCE_CHECKS"] = _bool(env, "PRESENCE_CHECKS", True)
    cfg["PRESENCE_MIN_S"] = int(_number(env, "PRESENCE_MIN_S", 600, 10, 86400))
    cfg["PRESENCE_MAX_S"] = int(_number(env, "PRESENCE_MAX_S", 1200, 10, 86400))
    cfg["PRESENCE_ANSWER_S"] = _number(env, "PRESENCE_ANSWER_S", 60, 5, 3600)
    if cfg["PRESENCE_MAX_S"] < cfg["PRESENCE_MIN_S"]:
        raise ConfigError("PRESENCE_MAX_S must not be less than PRESENCE_MIN_S")
    # The learning record (学习记录, every play of every chapter) is kept this many years
    # after a play ended, then `flask progress prune-records` deletes it. Default: the five
    # years a certificate is relied on for a title application (职称评审 looks back over the
    # years since the last one); the 学时 and certificates themselves are never pruned.
    cfg["LEARNING_RECORD_RETENTION_YEARS"] = int(
        _number(env, "LEARNING_RECORD_RETENTION_YEARS", 5, 1, 100)
    )


def operations_settings(env: Mapping[str, Any], cfg: dict[str, Any], sandbox: bool) -> None:
    """Logs, metrics, proxies and the operator console, written into `cfg`."""
    # --- operations: logs and metrics ---
    cfg["LOG_FORMAT"] = (_get(env, "LOG_FORMAT") or ("text" if sandbox else "json")).lower()
    if cfg["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError(f"LOG_FORMAT must be json or text, got {cfg['LOG_FORMAT']!r}")
    cfg["METRICS_TOKEN"] = _get(env, "METRICS_TOKEN")
    # How many reverse proxies (nginx) stand in front and set X-Forwarded-For/-Proto: their
    # headers are trusted only then, so a client cannot forge its address for rate limits.
    cfg["PROXY_COUNT"] = int(_number(env, "PROXY_COUNT", 0, 0, 5))

    # --- the operator console at /admin (off unless CONSOLE_ENABLED=1; `make run` turns it on):
    # its own session cookie, lasting CONSOLE_SESSION_HOURS; an operator is locked out for
    # CONSOLE_LOCKOUT_MINUTES after CONSOLE_LOCKOUT_ATTEMPTS wrong passwords or codes in a row.
    cfg["CONSOLE_ENABLED"] = _bool(env, "CONSOLE_ENABLED", False)
    cfg["CONSOLE_SESSION_HOURS"] = _number(env, "CONSOLE_SESSION_HOURS", 8.0, 0.1, 24.0)
    cfg["CONSOLE_LOCKOUT_ATTEMPTS"] = int(_number(env, "CONSOLE_LOCKOUT_ATTEMPTS", 5, 1, 100))
    cfg["CONSOLE_LOCKOUT_MINUTES"] = _number(env, "CONSOLE_LOCKOUT_MINUTES", 15.0, 1.0, 1440.0)


def _notify_settings(env: Mapping[str, Any], sandbox: bool) -> dict[str, Any]:
    """Worker timing, and the template of each pushed event: an id and its field names.

    An unset template id outside the sandbox means that event is not pushed (skipped).
    """
    cfg: dict[str, Any] = {
        "NOTIFY_LEASE_S": _number(env, "NOTIFY_LEASE_S", 120.0, 60.0, 3600.0),
        "NOTIFY_POLL_S": _number(env, "NOTIFY_POLL_S", 5.0, 0.5, 300.0),
        "NOTIFY_BATCH": int(_number(env, "NOTIFY_BATCH", 20, 1, 500)),
        "NOTIFY_MAX_ATTEMPTS": int(_number(env, "NOTIFY_MAX_ATTEMPTS", 8, 1, 50)),
        "NOTIFY_BACKOFF_S": _number(env, "NOTIFY_BACKOFF_S", 30.0, 1.0, 3600.0),
        "NOTIFY_BACKOFF_MAX_S": _number(env, "NOTIFY_BACKOFF_MAX_S", 3600.0, 1.0, 86400.0),
        "NOTIFY_INPROCESS": _bool(env, "NOTIFY_INPROCESS", False),
    }
    for name, required, _ in EVENTS.values():
        setting = f"WECHAT_TEMPLATE_{name}"
        default_id, default_fields = SANDBOX_TEMPLATES[name] if sandbox else (None, None)
        cfg[setting] = _get(env, setting) or default_id
        raw_fields = _get(env, setting + "_FIELDS") or default_fields
        if cfg[setting] and not raw_fields:
            raise ConfigError(f"{setting}_FIELDS must name the template's fields")
        try:
            fields = parse_fields(setting + "_FIELDS", raw_fields, required) if raw_fields else {}
        except ValueError as err:
            raise ConfigError(str(err)) from None
        cfg[setting + "_FIELDS"] = fields
    return cfg
