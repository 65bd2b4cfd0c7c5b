"""Database and Redis settings (wxapp/config.py's `load_config` calls these in order)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from wxapp.errors import ConfigError
from wxapp.settings_parse import _bool, _database_url, _get, _number, _url

# How long data sent to PostgreSQL may stay unacknowledged before the connection fails.
TCP_USER_TIMEOUT_MS = 10_000


def redis_settings(env: Mapping[str, Any], cfg: dict[str, Any]) -> None:
    """Redis Cluster and REDIS_URL checks, written into `cfg`."""
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


def database_settings(env: Mapping[str, Any], cfg: dict[str, Any], instance_path: Path) -> None:
    """The database (primary and read replica), timeouts and password-hash slots, into `cfg`."""
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
    # hide_parameters: a database error's text (logged with a 503 or a 500) names the
    # statement but not its values, which are ID numbers, phones, names, password hashes.
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, "hide_parameters": True}
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] = {
            "connect_timeout": cfg["DATABASE_CONNECT_TIMEOUT_S"],
            "options": f"-c statement_timeout={cfg['DATABASE_STATEMENT_TIMEOUT_MS']}",
            # A server that vanishes without a word (power lost, a network cut: no reset)
            # must not hold a request until the kernel gives up (about 15 minutes):
            # statement_timeout is the server's, and libpq has no read timeout of its own.
            # Unacknowledged data fails the connection after TCP_USER_TIMEOUT_MS, an idle
            # one after the keepalive probes.
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        }
