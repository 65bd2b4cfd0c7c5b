"""Settings, read once in the factory from the environment (and test overrides).

Every name here is part of the deployment contract (the settings table of README.md,
docs/operations.md). A missing or malformed setting raises `ConfigError` naming it, so the
service fails at start-up, never at the first request.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from wxapp.accounts.session_rules import MAX_LIFETIME_DAYS
from wxapp.errors import ConfigError
from wxapp.settings_parse import (
    FALSE,
    TRUE,
    _bool,
    _database_url,
    _get,
    _number,
    _pem_path,
    _url,
)
from wxapp.settings_runtime import _notify_settings, operations_settings, progress_settings
from wxapp.settings_storage import database_settings, redis_settings
from wxapp.settings_wechat import SANDBOX_DEFAULTS, SMS_TEMPLATES, _sms_settings, wechat_settings

# Names other modules import from here (and the helpers, kept importable as before).
__all__ = [
    "FALSE",
    "PRODUCTION_REQUIRED",
    "SANDBOX_DEFAULTS",
    "SECRET_KEY_MIN_BYTES",
    "SMS_TEMPLATES",
    "TRUE",
    "ConfigError",
    "_bool",
    "_database_url",
    "_get",
    "_notify_settings",
    "_number",
    "_pem_path",
    "_sms_settings",
    "_url",
    "instance_dir",
    "load_config",
]

# Required when the built-in sandbox is off (production talks to the real WeChat).
PRODUCTION_REQUIRED = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "PUBLIC_BASE_URL",
    "WECHAT_APP_ID",
    "WECHAT_APP_SECRET",
    "WECHAT_TOKEN",
    "WECHAT_AES_KEY",
    "WECHATPAY_MCHID",
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_CERT_SERIAL_NO",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_PUBLIC_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
    # /metrics answers only with this bearer token: counters of payments and learners are
    # not for the public.
    "METRICS_TOKEN",
    # Tencent Cloud SMS (verification codes, and the notice to a replaced phone):
    # credentials, the SMS app, the signature and one template per purpose (SMS_TEMPLATES).
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "SMS_SDK_APP_ID",
    "SMS_SIGN_NAME",
    "SMS_TEMPLATE_ACTIVATE",
    "SMS_TEMPLATE_REGISTER",
    "SMS_TEMPLATE_RESET",
    "SMS_TEMPLATE_REBIND",
    "SMS_TEMPLATE_PHONE",
    "SMS_TEMPLATE_PHONE_CHANGED",
    # How many proxies put their address in X-Forwarded-For (1 behind one nginx): said
    # explicitly, since 0 behind nginx makes every client one address for every limit.
    "PROXY_COUNT",
)

# The session cookie's HMAC key: anything shorter can be guessed offline from one cookie.
SECRET_KEY_MIN_BYTES = 32


def _persistent_secret(instance_path: Path) -> str:
    """A development secret kept under instance/, so sessions survive restarts of `make run`."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def instance_dir(default: Path, overrides: Mapping[str, Any] | None = None) -> Path:
    """Where the instance files live (the development secret, SQLite, the embedded Redis):
    `INSTANCE_PATH` when set, so a second `make run`-style server keeps its own, else
    `default` (instance/ beside the code)."""
    value = (overrides or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    return Path(value) if value else default


def load_config(instance_path: Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment, with `overrides` (tests) taking precedence."""
    env: dict[str, Any] = dict(os.environ)
    env.update(overrides or {})

    # Only an explicit WXAPP_SANDBOX=1 mounts /_sandbox/: an environment that merely lacks a
    # WeChat setting must stop here naming it, not come up serving the stand-in.
    sandbox = _bool(env, "WXAPP_SANDBOX", default=False)
    if not sandbox:
        missing = [name for name in PRODUCTION_REQUIRED if _get(env, name) is None]
        if missing:
            raise ConfigError(
                "missing setting(s): "
                + ", ".join(missing)
                + " (WXAPP_SANDBOX=1 runs the built-in WeChat sandbox for development)"
            )
        fallbacks = [k.strip() for k in (_get(env, "SECRET_KEY_FALLBACKS") or "").split(",")]
        for name, key in [("SECRET_KEY", _get(env, "SECRET_KEY"))] + [
            ("SECRET_KEY_FALLBACKS", k) for k in fallbacks if k
        ]:
            key_bytes = len(str(key).encode())
            if key_bytes < SECRET_KEY_MIN_BYTES:
                raise ConfigError(
                    f"{name} must be at least {SECRET_KEY_MIN_BYTES} bytes, got {key_bytes}"
                    " (e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
                )

    public_base = _url(
        "PUBLIC_BASE_URL",
        (_get(env, "PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        # Production is served over HTTPS only: the cookie's Secure flag and every link
        # pushed or printed come from this address.
        ("http", "https") if sandbox else ("https",),
    )

    cfg: dict[str, Any] = {
        "WXAPP_SANDBOX": sandbox,
        "PUBLIC_BASE_URL": public_base,
        "SECRET_KEY": _get(env, "SECRET_KEY") or _persistent_secret(instance_path),
        # Earlier keys, comma-separated: their cookies still open while SECRET_KEY rotates.
        "SECRET_KEY_FALLBACKS": [
            key.strip()
            for key in (_get(env, "SECRET_KEY_FALLBACKS") or "").split(",")
            if key.strip()
        ],
        "REDIS_URL": _get(env, "REDIS_URL"),
        "PROGRESS_FLUSH_S": _number(env, "PROGRESS_FLUSH_S", 2.0, 0.05, 60.0),
        "PROGRESS_SLACK_S": _number(env, "PROGRESS_SLACK_S", 5.0, 0.0, 120.0),
        "PROGRESS_COMPLETE_RATIO": _number(env, "PROGRESS_COMPLETE_RATIO", 0.95, 0.5, 1.0),
        "TESTING": _bool(env, "TESTING", False),
    }
    progress_settings(env, cfg)
    redis_settings(env, cfg)
    database_settings(env, cfg, instance_path)

    sandbox_base = f"{public_base}/_sandbox"
    wechat_settings(env, cfg, sandbox, sandbox_base)

    # --- orders: the sandbox retries a refused pay notification on WeChat's schedule
    # (15 s, 15 s, 30 s, 3 min, ... 24 h) multiplied by this factor; tests shorten it.
    cfg["SANDBOX_PAY_NOTIFY_SCALE"] = _number(env, "SANDBOX_PAY_NOTIFY_SCALE", 1.0, 0.0, 1.0)

    # Cookies: signed, HttpOnly, SameSite=Lax; Secure when served over HTTPS.
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["SESSION_COOKIE_SECURE"] = public_base.startswith("https://")
    cfg["SESSION_COOKIE_NAME"] = "wxapp_session"
    # A session lasts this long after its cookie was last signed (Flask re-signs it on each
    # page request, not on beacons): both the cookie's expiry and its signature's age.
    # At most MAX_LIFETIME_DAYS, what Redis keeps of ended sessions covers (session_ends).
    cfg["SESSION_LIFETIME_DAYS"] = _number(
        env, "SESSION_LIFETIME_DAYS", 7.0, 0.01, float(MAX_LIFETIME_DAYS)
    )
    cfg["PERMANENT_SESSION_LIFETIME"] = timedelta(days=cfg["SESSION_LIFETIME_DAYS"])
    cfg["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    cfg["JSON_AS_ASCII"] = False
    operations_settings(env, cfg, sandbox)

    # --- notifications (the notify worker) ---
    cfg.update(_notify_settings(env, sandbox))
    # --- SMS verification codes (Tencent Cloud SMS) ---
    cfg.update(_sms_settings(env, sandbox, sandbox_base))
    return cfg
