"""Trainee accounts: password login with lockout, the forced first change, the profile."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

import redis
from werkzeug.security import check_password_hash, generate_password_hash

from models import Trainee, db
from wxapp.accounts.idnumbers import initial_password, mask_id_number
from wxapp.errors import NotFound, TooManyRequests, Unauthorized, ValidationError
from wxapp.infra.ratelimit import count_in_window
from wxapp.infra.transaction import transaction

MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCK_S = 15 * 60
PASSWORD_MIN, PASSWORD_MAX = 8, 64


def _fail_key(username: str) -> str:
    return f"login:fail:{username}"


def _lock_key(username: str) -> str:
    return f"login:lock:{username}"


def find_trainee(username: str) -> Trainee | None:
    """A trainee by phone number or ID number (the two usernames the notice allows)."""
    column = Trainee.phone if len(username) == 11 and username.isdigit() else Trainee.id_number
    return db.session.execute(db.select(Trainee).where(column == username)).scalar_one_or_none()


def password_matches(trainee: Trainee, password: str) -> bool:
    if trainee.password_hash is None:
        # Bulk-imported: only the published initial password, and only until it is changed.
        return trainee.must_change_password and hmac.compare_digest(
            password.encode(), initial_password(trainee.id_number).encode()
        )
    return check_password_hash(trainee.password_hash, password)


def verify_credentials(r: redis.Redis, username: str, password: str) -> Trainee:
    """The trainee these credentials name, counting failures in Redis (5 in 15 min lock 15 min)."""
    if r.exists(_lock_key(username)):
        raise TooManyRequests(
            "密码错误次数过多，账号已锁定 15 分钟，请稍后再试",
            code="locked",
            retry_after=r.ttl(_lock_key(username)),
        )
    trainee = find_trainee(username)
    if trainee is None or not password_matches(trainee, password):
        failures = count_in_window(r, _fail_key(username), FAILURE_WINDOW_S)
        if failures >= MAX_FAILURES:
            pipe = r.pipeline()
            pipe.set(_lock_key(username), 1, ex=LOCK_S)
            pipe.delete(_fail_key(username))
            pipe.execute()
            raise TooManyRequests("密码错误次数过多，账号已锁定 15 分钟，请稍后再试", code="locked")
        raise Unauthorized(
            f"用户名或密码错误（还可尝试 {MAX_FAILURES - failures} 次）", code="bad_credentials"
        )
    r.delete(_fail_key(username))
    return trainee


def profile(trainee: Trainee) -> dict[str, Any]:
    unit = trainee.unit
    return {
        "id": trainee.id,
        "name": trainee.name,
        "id_number_masked": mask_id_number(trainee.id_number),
        "phone": trainee.phone,
        "gender": trainee.gender,
        "unit": {"id": unit.id, "name": unit.name, "district": unit.district} if unit else None,
        "archive_district": trainee.archive_district,
        "must_change_password": trainee.must_change_password,
    }


def get_trainee(trainee_id: int) -> Trainee:
    trainee = db.session.get(Trainee, trainee_id)
    if trainee is None:
        raise NotFound("账号不存在", code="trainee_not_found")
    return trainee


def check_new_password(trainee: Trainee, new_password: str) -> None:
    if not PASSWORD_MIN <= len(new_password) <= PASSWORD_MAX:
        raise ValidationError("new_password", f"新密码长度应为 {PASSWORD_MIN}～{PASSWORD_MAX} 位")
    if not (any(c.isalpha() for c in new_password) and any(c.isdigit() for c in new_password)):
        raise ValidationError("new_password", "新密码须同时包含字母和数字")
    if new_password == initial_password(trainee.id_number):
        raise ValidationError("new_password", "新密码不能与初始密码相同")


def change_password(
    trainee_id: int, old_password: str, new_password: str, now: datetime
) -> Trainee:
    """Set a new password (slow, salted hash) and lift the must-change flag; commits."""
    trainee = get_trainee(trainee_id)
    if not password_matches(trainee, old_password):
        raise ValidationError("old_password", "原密码错误", code="bad_old_password")
    check_new_password(trainee, new_password)
    if new_password == old_password:
        raise ValidationError("new_password", "新密码不能与原密码相同")
    with transaction():
        trainee.password_hash = generate_password_hash(new_password)
        trainee.must_change_password = False
        trainee.updated_at = now
    return trainee
