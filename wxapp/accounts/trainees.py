"""Trainee accounts: password login with lockout, the forced first change, the profile.

Every ID number is public, so the login is built not to help anyone who holds one: the
lockout belongs to the account (its phone number and ID number share one count and one
lock), a username that names nobody is counted and answered exactly like a wrong password,
and every attempt costs one password hash, so timing does not tell who has an account.
The account's own known devices (wxapp/accounts/devices.py) each have a count and a lock of
their own instead, so a stranger who locks the account does not lock its owner out.
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
from wxapp.accounts import bindings
from wxapp.accounts.devices import NO_DEVICES, Device, KnownDevices
from wxapp.accounts.idnumbers import initial_password, is_mobile_number, mask_id_number
from wxapp.accounts.passwords import hash_password, needs_rehash, spend_one_hash, verify_password
from wxapp.accounts.session_ends import end_all, new_session
from wxapp.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationError,
)
from wxapp.infra import limits, ratelimit
from wxapp.infra.redis_keys import trainee_tag
from wxapp.infra.transaction import transaction

MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCK_S = 15 * 60
# Anyone who knows an ID number can lock its account: the owner's way out is 忘记密码 (an SMS
# code to the account's phone), which lifts the lock at once.
LOCKED_MESSAGE = (
    "密码错误次数过多，账号已锁定 15 分钟。如需立即登录，请点击“忘记密码”，"
    "用发送到本人手机的验证码重设密码后即可解锁"
)
PASSWORD_MIN, PASSWORD_MAX = 8, 64
_ASCII_LETTERS = frozenset(string.ascii_letters)
_ASCII_DIGITS = frozenset(string.digits)


def _trainee_fail_key(trainee_id: int) -> str:
    return f"{trainee_tag(trainee_id)}:login:fail"


def _trainee_lock_key(trainee_id: int) -> str:
    return f"{trainee_tag(trainee_id)}:login:lock"


def _generation_key(trainee_id: int) -> str:
    return f"{trainee_tag(trainee_id)}:login:gen"


# How long a lift of the lockout is remembered: longer than any device lock it must lift.
GENERATION_TTL_S = 24 * 3600


def device_of(trainee: Trainee | None, known: KnownDevices) -> Device | None:
    """The browser as a known device of `trainee` under its current password, if it is one
    (never for a username that names nobody)."""
    return known.of(trainee.id, trainee.password_hash) if trainee is not None else None


def _account_keys(r: redis.Redis, trainee_id: int, device: Device | None) -> tuple[str, str]:
    """The failure counter and the lock a password typed for the account counts against:
    its known `device`'s own when typed on one, else the account's.

    A device's keys carry the account's lift generation, so `lift_lockout` lifts the locks
    of every device at once."""
    if device is None:
        return _trainee_fail_key(trainee_id), _trainee_lock_key(trainee_id)
    generation = r.get(_generation_key(trainee_id)) or "0"
    prefix = f"{trainee_tag(trainee_id)}:login:dev:{generation}:{device.nonce}"
    return f"{prefix}:fail", f"{prefix}:lock"


def _login_keys(
    r: redis.Redis, trainee: Trainee | None, username: str, device: Device | None
) -> tuple[str, str]:
    """The failure counter and the lock an attempt counts against: the account's (or its
    known device's) when the username names one, else the username's own, so probing names
    is limited too."""
    if trainee is not None:
        return _account_keys(r, trainee.id, device)
    tag = "{u:" + username + "}"  # one slot for both: _RESERVE names the two
    return f"login:{tag}:fail", f"login:{tag}:lock"


def find_trainee(username: str) -> Trainee | None:
    """A trainee by phone number or ID number (the two usernames the notice allows)."""
    column = Trainee.phone if is_mobile_number(username) else Trainee.id_number
    return db.session.execute(db.select(Trainee).where(column == username)).scalar_one_or_none()


def password_matches(trainee: Trainee, password: str) -> bool:
    if trainee.password_hash is None:
        # Bulk-imported: only the published initial password, and only until it is changed.
        # The dummy hash makes this answer as slowly as an account with a hash.
        spend_one_hash(password)
        return trainee.must_change_password and hmac.compare_digest(
            password.encode(), initial_password(trainee.id_number).encode()
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
    """The trainee these credentials name; 5 failures in 15 min lock the account 15 min
    (typed on a known device of the account: that device alone). Every attempt counts
    toward LOGIN_PER_USERNAME first (what hashing one username may cause).

    A username that names nobody costs the same hash and gets the same answers (401 with
    the tries left, then 429 `locked`), counted per username.
    """
    trainee = find_trainee(username)
    device = device_of(trainee, known)
    ratelimit.hit(r, limits.LOGIN_PER_USERNAME, counted_username(username, device))
    fail_key, lock_key = _login_keys(r, trainee, username, device)
    attempt = _reserve_attempt(r, fail_key, lock_key)
    checked = trainee.password_hash if trainee is not None else None  # as it was checked
    if trainee is not None and _matches(r, fail_key, trainee, password):
        r.delete(fail_key)
        if checked is not None and needs_rehash(checked):
            checked = _rehash(trainee.id, checked, password)
        return Verified(trainee, checked)
    if trainee is None:
        spend_one_hash(password)
    left = _count_failure(r, fail_key, lock_key, attempt)
    raise Unauthorized(f"用户名或密码错误（还可尝试 {left} 次）", code="bad_credentials")


# One password attempt, counted before its hash: refused while locked, or while MAX_FAILURES
# attempts are already counted in the window, whether they failed or are still being
# checked; else counted, and its number returned. Counted after the hash, a burst of
# attempts sent at once would all pass the check before the first failure was counted, and
# a stranger would get many guesses per lock. KEYS: the failure counter and the lock (one
# slot); ARGV: the window, MAX_FAILURES. Returns {number, 0}, or {0, seconds to wait}.
_RESERVE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, redis.call('TTL', KEYS[2])} end
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[2]) then
  redis.call('DECR', KEYS[1])
  return {0, redis.call('TTL', KEYS[1])}
end
return {n, 0}
"""


def _reserve_attempt(r: redis.Redis, fail_key: str, lock_key: str) -> int:
    """Count one password attempt before its hash (`_RESERVE`): its number in the window,
    or 429 `locked`, with the seconds to wait, before any hash."""
    number, wait = r.register_script(_RESERVE)(
        keys=[fail_key, lock_key], args=[FAILURE_WINDOW_S, MAX_FAILURES]
    )
    if not number:
        raise TooManyRequests(LOCKED_MESSAGE, code="locked", retry_after=max(int(wait), 1))
    return int(number)


# Take back one attempt `_RESERVE` counted, unless the window ended meanwhile (a DECR then
# would start a counter without an expiry).
_UNRESERVE = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


def _matches(r: redis.Redis, fail_key: str, trainee: Trainee, password: str) -> bool:
    """`password_matches`, the attempt counted by `_reserve_attempt` taken back when the
    check itself fails (no hash slot free: 503 busy; a database error): an answer that is
    neither right nor wrong must not count toward the owner's lock."""
    try:
        return password_matches(trainee, password)
    except BaseException:
        r.register_script(_UNRESERVE)(keys=[fail_key])
        raise


def _count_failure(r: redis.Redis, fail_key: str, lock_key: str, attempt: int) -> int:
    """Attempt number `attempt` was a wrong password: the tries left, or 429 `locked` when it
    was the last one allowed (the lock then starts, and the counter with it)."""
    if attempt >= MAX_FAILURES:
        pipe = r.pipeline()
        pipe.set(lock_key, 1, ex=LOCK_S)
        pipe.delete(fail_key)
        pipe.execute()
        raise TooManyRequests(LOCKED_MESSAGE, code="locked")
    return MAX_FAILURES - attempt


def check_own_password(
    r: redis.Redis, trainee: Trainee, password: str, field: str, known: KnownDevices
) -> Verified:
    """The password typed again to confirm a change made in a session (原密码, 登录密码);
    the change then writes only if it is still the account's (`require_unchanged`): one
    racing customer service's phone replacement, which sets a password of its own, must
    not outlive it.

    A session is not the password: a phone left unlocked in WeChat opens one. So a wrong
    password here counts toward the lockout like a failed login (one count, one lock: the
    account's, or its known device's), and a locked one is refused before any hash; else a
    session could guess the password without end.
    """
    checked = trainee.password_hash
    fail_key, lock_key = _account_keys(r, trainee.id, device_of(trainee, known))
    attempt = _reserve_attempt(r, fail_key, lock_key)
    if not _matches(r, fail_key, trainee, password):
        left = _count_failure(r, fail_key, lock_key, attempt)
        label = "原密码" if field == "old_password" else "登录密码"
        raise ValidationError(field, f"{label}错误（还可尝试 {left} 次）", code=f"bad_{field}")
    r.delete(fail_key)
    return Verified(trainee, checked)


def lift_lockout(r: redis.Redis, trainee_id: int) -> None:
    """Forget a trainee's failed logins and lift the lock, for whichever username was used,
    and those of its known devices (a new generation leaves their keys behind to expire).

    For 忘记密码 and activation (wxapp/accounts/password_reset.py, activation.py), once the
    phone is proven by SMS, and for customer service.
    """
    pipe = r.pipeline(transaction=False)  # keys of one slot ({t:<id>}), no order needed
    # One key per DEL: redis-py's cluster pipeline refuses a DEL of several.
    pipe.delete(_trainee_fail_key(trainee_id))
    pipe.delete(_trainee_lock_key(trainee_id))
    pipe.incr(_generation_key(trainee_id))
    pipe.expire(_generation_key(trainee_id), GENERATION_TTL_S)
    pipe.execute()


def is_locked(r: redis.Redis, trainee_id: int) -> bool:
    """Whether the account is locked now (for customer service, which may lift it)."""
    return bool(r.exists(_trainee_lock_key(trainee_id)))


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
