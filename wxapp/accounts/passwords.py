"""Password hashes: argon2id at OWASP's recommended cost, and a bound on how many a
process computes at once.

A password hash is the costliest thing the service does for one request. Werkzeug's
default (scrypt, N=2^15) took about 100 ms of CPU; a year-end burst of logins then filled
every thread and beacons queued behind them for seconds. argon2id with OWASP's
parameters (19 MiB, 2 passes, 1 lane) takes about 20 ms, and at most
PASSWORD_HASH_SLOTS hashes run at once in a process: a burst of logins waits for a slot
(then gets 503 `busy` after PASSWORD_HASH_WAIT_S) instead of taking every core.

Hashes stored before (werkzeug's `scrypt:` and `pbkdf2:`) still verify; a login that
verifies one stores the argon2id hash instead (`needs_rehash`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from werkzeug.security import check_password_hash

from wxapp.errors import ServiceUnavailable

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
ARGON2_PREFIX = "$argon2"
DEFAULT_SLOTS = 2
DEFAULT_WAIT_S = 10.0
BUSY_MESSAGE = "当前登录人数较多，请稍后再试"

_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _semaphore(size: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        if size not in _slots:
            _slots[size] = threading.BoundedSemaphore(size)
        return _slots[size]


@contextmanager
def hash_slot() -> Iterator[None]:
    """Hold one of the process's PASSWORD_HASH_SLOTS while computing a hash."""
    config = current_app.config if has_app_context() else {}
    size = int(config.get("PASSWORD_HASH_SLOTS", DEFAULT_SLOTS))
    wait_s = float(config.get("PASSWORD_HASH_WAIT_S", DEFAULT_WAIT_S))
    semaphore = _semaphore(size)
    if not semaphore.acquire(timeout=wait_s):
        raise ServiceUnavailable(BUSY_MESSAGE, code="busy", retry_after=5)
    try:
        yield
    finally:
        semaphore.release()


def hash_password(password: str) -> str:
    with hash_slot():
        return HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches `stored` (argon2id, or a werkzeug hash of before)."""
    with hash_slot():
        if stored.startswith(ARGON2_PREFIX):
            try:
                return HASHER.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False
        return check_password_hash(stored, password)


def needs_rehash(stored: str) -> bool:
    """A hash of another method or cost, to replace once the password is known."""
    if not stored.startswith(ARGON2_PREFIX):
        return True
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return HASHER.hash("dummy password that matches nothing")


def spend_one_hash(password: str) -> None:
    """Cost one verification when there is no stored hash to check, so the time taken
    does not tell whether an account exists or was bulk-imported."""
    verify_password(_dummy_hash(), password)
