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
from urllib.parse import urlparse

from wxapp.accounts.session_rules import MAX_LIFETIME_DAYS
from wxapp.errors import ConfigError
from wxapp.notifications.templates import EVENTS, SANDBOX_TEMPLATES, parse_fields

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}

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
    # Tencent Cloud SMS (verification codes): credentials, the SMS app, the signature and
    # one template per purpose (SMS_TEMPLATES below).
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "SMS_SDK_APP_ID",
    "SMS_SIGN_NAME",
    "SMS_TEMPLATE_ACTIVATE",
    "SMS_TEMPLATE_REGISTER",
    "SMS_TEMPLATE_RESET",
    "SMS_TEMPLATE_REBIND",
    "SMS_TEMPLATE_PHONE",
)

# The session cookie's HMAC key: anything shorter can be guessed offline from one cookie.
SECRET_KEY_MIN_BYTES = 32

SANDBOX_DEFAULTS = {
    "WECHAT_APP_ID": "wx5andb0x0000demo",
    "WECHAT_APP_SECRET": "sandbox-app-secret-0123456789abcd",
    "WECHAT_TOKEN": "sandboxtoken",
    # 43 characters of base64, as the 公众平台 generates.
    "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "WECHATPAY_MCHID": "1900000109",
    "WECHATPAY_APIV3_KEY": "sandboxapiv3key0123456789abcdefg",
    # Tencent Cloud SMS as the sandbox plays it (wxapp/sandbox/sms.py checks these).
    "TENCENTCLOUD_SECRET_ID": "AKIDsandbox0000000000000000000000000",
    "TENCENTCLOUD_SECRET_KEY": "sandbox-tencentcloud-secret-key-0123",
    "SMS_SDK_APP_ID": "1400000001",
    "SMS_SIGN_NAME": "重庆继续教育",
    "SMS_TEMPLATE_ACTIVATE": "100001",
    "SMS_TEMPLATE_REGISTER": "100002",
    "SMS_TEMPLATE_RESET": "100003",
    "SMS_TEMPLATE_REBIND": "100004",
    "SMS_TEMPLATE_PHONE": "100005",
}

# The SMS template setting of each verification purpose (wxapp/accounts/sms_codes.Purpose).
# Every template takes two parameters: {1} the 6-digit code, {2} its life in minutes.
SMS_TEMPLATES = (
    "SMS_TEMPLATE_ACTIVATE",
    "SMS_TEMPLATE_REGISTER",
    "SMS_TEMPLATE_RESET",
    "SMS_TEMPLATE_REBIND",
    "SMS_TEMPLATE_PHONE",
)


def _get(env: Mapping[str, Any], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _bool(env: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def _number(env: Mapping[str, Any], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {raw!r}")
    return value


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ConfigError(f"{name} must be a URL ({'/'.join(schemes)}), got {value!r}")
    return value


def _database_url(value: str, name: str = "DATABASE_URL") -> str:
    scheme = value.split(":", 1)[0].split("+", 1)[0]
    if scheme not in ("postgresql", "postgres", "sqlite") or "://" not in value:
        raise ConfigError(f"{name} must be a postgresql:// or sqlite:// URL, got {value!r}")
    # A plain postgresql:// URL means psycopg 3, not SQLAlchemy's psycopg2 default.
    if value.startswith("postgresql://"):
        return "postgresql+psycopg://" + value[len("postgresql://") :]
    if value.startswith("postgres://"):
        return "postgresql+psycopg://" + value[len("postgres://") :]
    return value


def _pem_path(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{name} must be the path of a PEM file; {value!r} does not exist")
    if b"-----BEGIN" not in path.read_bytes()[:4096]:
        raise ConfigError(f"{name} must be a PEM file; {value!r} is not one")
    return str(path)


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
        ("http", "https"),
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
    # Redis Cluster: REDIS_CLUSTER=1, or a redis+cluster:// (rediss+cluster://) URL naming
    # one node; the client learns the others from it.
    cfg["REDIS_CLUSTER"] = _bool(env, "REDIS_CLUSTER", False)
    if cfg["REDIS_URL"]:
        for scheme in ("redis", "rediss"):
            if cfg["REDIS_URL"].startswith(f"{scheme}+cluster://"):
                cfg["REDIS_URL"] = scheme + cfg["REDIS_URL"][len(scheme) + len("+cluster") :]
                cfg["REDIS_CLUSTER"] = True
        _url("REDIS_URL", cfg["REDIS_URL"], ("redis", "rediss", "unix"))
        if cfg["REDIS_CLUSTER"] and urlparse(cfg["REDIS_URL"]).path.strip("/") not in ("", "0"):
            raise ConfigError("REDIS_URL must name database 0 for Redis Cluster (REDIS_CLUSTER)")
    elif cfg["REDIS_CLUSTER"]:
        raise ConfigError("REDIS_CLUSTER needs REDIS_URL (one node of the cluster)")

    db_url = _get(env, "DATABASE_URL")
    if db_url:
        cfg["SQLALCHEMY_DATABASE_URI"] = _database_url(db_url)
    else:
        instance_path.mkdir(parents=True, exist_ok=True)
        cfg["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'wxapp.sqlite3'}"
    cfg["DATABASE_URL"] = cfg["SQLALCHEMY_DATABASE_URI"]
    # A hung PostgreSQL or Redis (accepting connections, never answering) must fail a request
    # in bounded time, as a refused one does: a 503 instead of a thread held for minutes.
    cfg["DATABASE_CONNECT_TIMEOUT_S"] = int(_number(env, "DATABASE_CONNECT_TIMEOUT_S", 3, 1, 60))
    cfg["DATABASE_STATEMENT_TIMEOUT_MS"] = int(
        _number(env, "DATABASE_STATEMENT_TIMEOUT_MS", 15000, 100, 600_000)
    )
    cfg["REDIS_TIMEOUT_S"] = _number(env, "REDIS_TIMEOUT_S", 2.0, 0.05, 30.0)
    # Password hashes (argon2id, ~20 ms of CPU each) a process computes at once, and how
    # long a login waits for a slot before 503 `busy`: a burst of logins cannot take
    # every thread and core from the beacons.
    cfg["PASSWORD_HASH_SLOTS"] = int(_number(env, "PASSWORD_HASH_SLOTS", 2, 1, 64))
    cfg["PASSWORD_HASH_WAIT_S"] = _number(env, "PASSWORD_HASH_WAIT_S", 10.0, 0.1, 60.0)
    # A streaming replica for read-only pages (unit report, district summary): used while
    # it is at most DATABASE_READ_MAX_LAG_S behind the primary, checked at most every
    # DATABASE_READ_CHECK_S per process; otherwise those pages read the primary.
    read_url = _get(env, "DATABASE_READ_URL")
    cfg["DATABASE_READ_URL"] = _database_url(read_url, "DATABASE_READ_URL") if read_url else None
    if cfg["DATABASE_READ_URL"] and not cfg["DATABASE_READ_URL"].startswith("postgresql"):
        raise ConfigError("DATABASE_READ_URL must be a postgresql:// URL (a streaming replica)")
    cfg["DATABASE_READ_MAX_LAG_S"] = _number(env, "DATABASE_READ_MAX_LAG_S", 5.0, 0.1, 3600.0)
    cfg["DATABASE_READ_CHECK_S"] = _number(env, "DATABASE_READ_CHECK_S", 1.0, 0.05, 60.0)
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] = {
            "connect_timeout": cfg["DATABASE_CONNECT_TIMEOUT_S"],
            "options": f"-c statement_timeout={cfg['DATABASE_STATEMENT_TIMEOUT_MS']}",
        }

    for name in ("WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN", "WECHAT_AES_KEY"):
        cfg[name] = _get(env, name) or (SANDBOX_DEFAULTS[name] if sandbox else None)
    if len(cfg["WECHAT_AES_KEY"]) != 43:
        raise ConfigError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
    # 安全模式: every callback message must come encrypted (a raw body is refused, 403).
    cfg["WECHAT_CALLBACK_REQUIRE_AES"] = _bool(env, "WECHAT_CALLBACK_REQUIRE_AES", False)

    sandbox_base = f"{public_base}/_sandbox"
    cfg["WECHAT_API_BASE"] = (
        _get(env, "WECHAT_API_BASE") or (sandbox_base if sandbox else "https://api.weixin.qq.com")
    ).rstrip("/")
    cfg["WECHAT_OAUTH_BASE"] = (
        _get(env, "WECHAT_OAUTH_BASE")
        or (sandbox_base if sandbox else "https://open.weixin.qq.com")
    ).rstrip("/")
    cfg["WECHATPAY_API_BASE"] = (
        _get(env, "WECHATPAY_API_BASE")
        or (sandbox_base if sandbox else "https://api.mch.weixin.qq.com")
    ).rstrip("/")
    for name in ("WECHAT_API_BASE", "WECHAT_OAUTH_BASE", "WECHATPAY_API_BASE"):
        _url(name, cfg[name], ("http", "https"))

    for name in ("WECHATPAY_MCHID", "WECHATPAY_APIV3_KEY"):
        cfg[name] = _get(env, name) or (SANDBOX_DEFAULTS[name] if sandbox else None)
    if len(cfg["WECHATPAY_APIV3_KEY"].encode()) != 32:
        raise ConfigError("WECHATPAY_APIV3_KEY must be 32 bytes")
    # In sandbox mode the pay half generates its own keys under instance/ when these are unset.
    cfg["WECHATPAY_PRIVATE_KEY"] = _pem_path(
        "WECHATPAY_PRIVATE_KEY", _get(env, "WECHATPAY_PRIVATE_KEY")
    )
    cfg["WECHATPAY_PUBLIC_KEY"] = _pem_path(
        "WECHATPAY_PUBLIC_KEY", _get(env, "WECHATPAY_PUBLIC_KEY")
    )
    cfg["WECHATPAY_CERT_SERIAL_NO"] = _get(env, "WECHATPAY_CERT_SERIAL_NO")
    cfg["WECHATPAY_PUBLIC_KEY_ID"] = _get(env, "WECHATPAY_PUBLIC_KEY_ID")

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

    # --- notifications (the notify worker) ---
    cfg.update(_notify_settings(env, sandbox))
    # --- SMS verification codes (Tencent Cloud SMS) ---
    cfg.update(_sms_settings(env, sandbox, sandbox_base))
    return cfg


def _sms_settings(env: Mapping[str, Any], sandbox: bool, sandbox_base: str) -> dict[str, Any]:
    """Tencent Cloud SMS: the API base the SDK's endpoint points at (the sandbox's in
    sandbox mode), credentials, the SMS app, the signature and a template per purpose."""
    cfg: dict[str, Any] = {
        "SMS_API_BASE": _url(
            "SMS_API_BASE",
            (
                _get(env, "SMS_API_BASE")
                or (f"{sandbox_base}/sms/api" if sandbox else "https://sms.tencentcloudapi.com")
            ).rstrip("/"),
            ("http", "https"),
        ),
        "SMS_REGION": _get(env, "SMS_REGION") or "ap-guangzhou",
    }
    for name in (
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "SMS_SDK_APP_ID",
        "SMS_SIGN_NAME",
        *SMS_TEMPLATES,
    ):
        cfg[name] = _get(env, name) or (SANDBOX_DEFAULTS[name] if sandbox else None)
    if not cfg["SMS_SDK_APP_ID"].isdigit():
        raise ConfigError(
            f"SMS_SDK_APP_ID must be the SMS application's SdkAppId (digits, e.g. 1400006666),"
            f" got {cfg['SMS_SDK_APP_ID']!r}"
        )
    for name in SMS_TEMPLATES:
        if not cfg[name].isdigit():
            raise ConfigError(
                f"{name} must be an approved template's ID (digits), got {cfg[name]!r}"
            )
    return cfg


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
