"""Parsing helpers for the settings (wxapp/config.py): each raises `ConfigError` naming
the malformed setting."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from wxapp.errors import ConfigError

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


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


# user:password@ in a URL: what a refusal must not print (start-up logs are shipped).
_CREDENTIALS = re.compile(r"(//[^/@]*?):[^/@]*@")


def _shown(url: str) -> str:
    """`url` as a refusal may print it: any password replaced by ***."""
    return _CREDENTIALS.sub(r"\1:***@", url)


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ConfigError(f"{name} must be a URL ({'/'.join(schemes)}), got {_shown(value)!r}")
    return value


def _database_url(value: str, name: str = "DATABASE_URL") -> str:
    scheme = value.split(":", 1)[0].split("+", 1)[0]
    if scheme not in ("postgresql", "postgres", "sqlite") or "://" not in value:
        raise ConfigError(f"{name} must be a postgresql:// or sqlite:// URL, got {_shown(value)!r}")
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
