"""Trainee accounts: password login, the password typed again for a change, the rules of a
new password, the forced first change, the profile.

Every ID number is public, so the login is built not to help anyone who holds one: each
attempt is counted before its hash against the lock of the username typed (the account's
phone and ID number each have one, so failures with one tell nothing of the other;
wxapp/accounts/lockout.py), a username that names nobody is counted and answered exactly like a wrong password, and
every attempt costs one password hash, so timing does not tell who has an account.
"""

from __future__ import annotations

import hmac
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa

from models import Trainee, db
from wxapp.accounts import bindings, lockout
from wxapp.accounts.devices import NO_DEVICES, Device, KnownDevices
from wxapp.accounts.idnumbers import initial_password, is_mobile_number, mask_id_number
from wxapp.accounts.passwords import hash_password, needs_rehash, spend_one_hash, verify_password
from wxapp.accounts.session_ends import end_all, new_session
from wxapp.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationError,
)
from wxapp.infra import limits, ratelimit
from wxapp.infra.transaction import transaction

PASSWORD_MIN, PASSWORD_MAX = 8, 64
_ASCII_LETTERS = frozenset(string.ascii_letters)
_ASCII_DIGITS = frozenset(string.digits)


def device_of(trainee: Trainee | None, known: KnownDevices) -> Device | None:
    """The browser as a known device of `trainee` under its current password, if it is one
    (never for a username that names nobody)."""
    return known.of(trainee.id, trainee.password_hash) if trainee is not None else None


def find_trainee(username: str) -> Trainee | None:
    """A trainee by phone number or ID number (the two usernames the notice allows)."""
    column = Trainee.phone if is_mobile_number(username) else Trainee.id_number
    return db.session.execute(db.select(Trainee).where(column == username)).scalar_one_or_none()


def password_matches(trainee: Trainee, password: str, *, by_id_number: bool = True) -> bool:
    """Whether `password` is the account's, typed with its ID number or (`by_id_number`
    False) its phone."""
    if trainee.password_hash is None:
        # Bulk-imported: only the published initial password, only with the ID number (the
        # roster's username), and only until it is changed. Typed with a phone it would tell
        # a stranger who knows the ID number which phone they guessed is the account's.
        # The dummy hash makes this answer as slowly as an account with a hash.
        spend_one_hash(password)
        return (
            by_id_number
            and trainee.must_change_password
            and hmac.compare_digest(password.encode(), initial_password(trainee.id_number).encode())
        )
    return verify_password(trainee.password_hash, password)


@dataclass(frozen=True)
class Verified:
    """A trainee whose password was just checked, and the stored hash it matched (None: the
    initial password of a roster account)."""

    trainee: Trainee
    password_hash: str | None


def _rehash(trainee_id: int, old: str, password: str) -> str:
    """A hash of before replaced by an argon2id one, unless the password changed meanwhile
    (written over, it would bring the old password back); the hash now stored."""
    new = hash_password(password)
    with transaction():
        replaced = db.session.execute(
            sa.update(Trainee)
            .where(Trainee.id == trainee_id, Trainee.password_hash == old)
            .values(password_hash=new)
        ).rowcount
    return new if replaced else old


def session_fields(r: redis.Redis, verified: Verified) -> dict[str, Any]:
    """The new session's cookie fields (`session_ends.new_session`), if the password just
    checked is still the account's; 401 `password_changed` if it changed meanwhile.

    A login racing a password change or reset must not outlive it. The epoch is read first,
    then the stored hash once more under a share lock, which waits for a change being
    committed (a change locks the row before it ends the sessions). So a change that ended
    the sessions before the epoch was read is seen here, and one that ends them after it
    ends this session too. The caller reads these after any ending of its own (a rebind).
    """
    fields = new_session(r, verified.trainee.id)
    with transaction():
        require_unchanged(verified, lock_read=True)
    return fields


def require_unchanged(verified: Verified, *, lock_read: bool = False) -> None:
    """Inside the caller's transaction: 401 `password_changed` unless the password just
    checked is still the account's. The row is locked (for update, or with `lock_read` for
    share), which waits for a change being committed: what the caller writes next under the
    lock cannot outlive a change that ends sessions and bindings (`store_password`)."""
    current = db.session.execute(
        sa.select(Trainee.password_hash)
        .where(Trainee.id == verified.trainee.id)
        .with_for_update(read=lock_read)
    ).scalar_one()
    if current != verified.password_hash:
        raise Unauthorized("密码刚刚已修改，请用新密码重新登录", code="password_changed")


def require_phone_unchanged(trainee_id: int, phone: str | None) -> None:
    """Inside the caller's transaction: 409 `phone_changed` unless the account's phone is
    still `phone`, the one an SMS code was just checked against. The row is locked for
    update, which waits for a phone replacement being committed: a code sent to the old
    phone must not set the password after customer service replaced that phone."""
    current = db.session.execute(
        sa.select(Trainee.phone).where(Trainee.id == trainee_id).with_for_update()
    ).scalar_one()
    if current != phone:
        raise Conflict(
            "该账号的手机号刚刚已更换，原手机收到的验证码已失效，请重新获取验证码",
            code="phone_changed",
        )


def counted_username(username: str, device: Device | None) -> str:
    """Whom a per-username budget counts a call against: the username typed, or, on a known
    device of the account it names (`device_of`), that device's own share of it (a stranger
    using up the username's budget must not keep the owner out)."""
    return username if device is None else f"{username}:{device.nonce}"


def verify_credentials(
    r: redis.Redis, username: str, password: str, known: KnownDevices = NO_DEVICES
) -> Verified:
    """The trainee these credentials name; 5 failures in 15 min with one of its usernames
    lock that username 15 min (typed on a known device of the account: that device alone). Every attempt counts
    toward LOGIN_PER_USERNAME first (what hashing one username may cause).

    A username that names nobody costs the same hash and gets the same answers (401 with
    the tries left, then 429 `locked`), counted per username.
    """
    trainee = find_trainee(username)
    device = device_of(trainee, known)
    ratelimit.hit(r, limits.LOGIN_PER_USERNAME, counted_username(username, device))
    keys = lockout.login_keys(r, trainee, username, device)
    attempt = lockout.reserve_attempt(r, keys)
    checked = trainee.password_hash if trainee is not None else None  # as it was checked
    by_id_number = not is_mobile_number(username)
    if trainee is not None and _matches(r, keys.fail, trainee, password, by_id_number):
        r.delete(keys.fail)
        if checked is not None and needs_rehash(checked):
            checked = _rehash(trainee.id, checked, password)
        return Verified(trainee, checked)
    if trainee is None:
        spend_one_hash(password)
    left = lockout.count_failure(r, keys, attempt)
    raise Unauthorized(f"用户名或密码错误（还可尝试 {left} 次）", code="bad_credentials")


def _matches(
    r: redis.Redis, fail_key: str, trainee: Trainee, password: str, by_id_number: bool = True
) -> bool:
    """`password_matches`, the attempt counted by `lockout.reserve_attempt` taken back when the
    check itself fails (no hash slot free: 503 busy; a database error): an answer that is
    neither right nor wrong must not count toward the owner's lock."""
    try:
        return password_matches(trainee, password, by_id_number=by_id_number)
    except BaseException:
        lockout.give_back(r, fail_key)
        raise


def check_own_password(
    r: redis.Redis, trainee: Trainee, password: str, field: str, known: KnownDevices
) -> Verified:
    """The password typed again to confirm a change made in a session (原密码, 登录密码);
    the change then writes only if it is still the account's (`require_unchanged`): one
    racing customer service's phone replacement, which sets a password of its own, must
    not outlive it.

    A session is not the password: a phone left unlocked in WeChat opens one. So a wrong
    password here counts toward the lockout like a failed login typed with the ID number
    (or on its known device, that device's), and a locked one is refused before any hash; else a
    session could guess the password without end.
    """
    checked = trainee.password_hash
    keys = lockout.account_keys(r, trainee.id, device_of(trainee, known))
    attempt = lockout.reserve_attempt(r, keys)
    if not _matches(r, keys.fail, trainee, password):
        left = lockout.count_failure(r, keys, attempt)
        label = "原密码" if field == "old_password" else "登录密码"
        raise ValidationError(field, f"{label}错误（还可尝试 {left} 次）", code=f"bad_{field}")
    r.delete(keys.fail)
    return Verified(trainee, checked)


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


def password_hash_of(trainee_id: int) -> str | None:
    """The account's stored password hash (None: none, or no such account), what its known
    devices are valid for (wxapp/accounts/devices.py)."""
    trainee = db.session.get(Trainee, trainee_id)
    return trainee.password_hash if trainee is not None else None


def get_trainee(trainee_id: int) -> Trainee:
    trainee = db.session.get(Trainee, trainee_id)
    if trainee is None:
        raise NotFound("账号不存在", code="trainee_not_found")
    return trainee


def check_password_shape(new_password: str, field: str = "new_password") -> str:
    """The part of the rule that needs no ID number (length, a letter and a digit); the
    label its messages use."""
    label = "新密码" if field == "new_password" else "密码"
    if not PASSWORD_MIN <= len(new_password) <= PASSWORD_MAX:
        raise ValidationError(field, f"{label}长度应为 {PASSWORD_MIN}～{PASSWORD_MAX} 位")
    chars = set(new_password)
    if not (chars & _ASCII_LETTERS and chars & _ASCII_DIGITS):
        raise ValidationError(field, f"{label}须同时包含英文字母和数字")
    return label


def check_new_password(new_password: str, id_number: str, field: str = "new_password") -> None:
    """The rule for every new password (change, registration, reset): 8–64 characters with
    an English letter and a digit, not the initial password, and without the ID number's
    last six characters (the ID number is public). 422 naming `field` (a registration's
    body calls it `password`), its message saying 新密码 or 密码 to match."""
    label = check_password_shape(new_password, field)
    if new_password == initial_password(id_number):
        raise ValidationError(field, f"{label}不能与初始密码相同")
    if id_number[-6:].lower() in new_password.lower():
        raise ValidationError(field, f"{label}不能包含身份证号码后六位")


def change_password(
    r: redis.Redis,
    trainee_id: int,
    old_password: str,
    new_password: str,
    now: datetime,
    known: KnownDevices = NO_DEVICES,
) -> Trainee:
    """Set a new password and lift the must-change flag (`store_password`: the WeChat
    binding goes and every session of the trainee ends; the caller starts its own again);
    commits."""
    trainee = get_trainee(trainee_id)
    if trainee.must_change_password:
        # The initial password is public: such an account activates by SMS (activation.py).
        raise Forbidden("首次登录请先通过短信验证激活账号", code="activation_required")
    verified = check_own_password(r, trainee, old_password, "old_password", known)
    check_new_password(new_password, trainee.id_number)
    if new_password == old_password:
        raise ValidationError("new_password", "新密码不能与原密码相同")
    with transaction():
        require_unchanged(verified)
        store_password(r, trainee, new_password, now)
    return trainee


def store_password(
    r: redis.Redis, trainee: Trainee, password: str, now: datetime, *, must_change: bool = False
) -> bool:
    """Store a new password (slow, salted hash), drop the WeChat binding and end every
    session of the trainee, inside the caller's transaction; whether a binding was dropped.

    For every way a password is set (change, activation, 忘记密码, and customer service's
    temporary one, which sets `must_change`): a WeChat user bound by whoever knew the old
    password is no longer let in either. Sessions end before the commit: if Redis fails, the password stays
    as it was; if the commit fails after, sessions have ended for nothing, the safe side."""
    trainee.password_hash = hash_password(password)
    trainee.must_change_password = must_change
    trainee.updated_at = now
    unbound = bindings.unbind(trainee.id)
    end_all(r, trainee.id, now)
    return unbound
