"""The login lock of trainee accounts: failures counted before each password hash, the
lock after MAX_FAILURES, and its lift.

Each username of an account (its phone number, its ID number) has a count and a lock of its
own. Shared, they would tell a stranger who knows the ID number whether a phone they guess
is the account's: its tries left (or its lock) would follow the failures typed with the ID
number, where a phone of nobody's starts afresh. So a stranger gets MAX_FAILURES guesses per
username in each window (ten with both), and a lock typed with one username leaves the
owner the other. A username that names nobody has a count of its own too, so probing names
is limited as well; each known device of the account (wxapp/accounts/devices.py) has its own
count and lock, so a stranger who locks the account does not lock its owner out. The
password checks that use these live in wxapp/accounts/trainees.py.
"""

from __future__ import annotations

from typing import NamedTuple

import redis

from models import Trainee
from wxapp.accounts.devices import Device
from wxapp.accounts.idnumbers import is_mobile_number
from wxapp.errors import TooManyRequests
from wxapp.infra.redis_keys import trainee_tag, username_tag

MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCK_S = 15 * 60
# Anyone who knows an ID number can lock its account: the owner's way out is 忘记密码 (an SMS
# code to the account's phone), which lifts the lock at once.
LOCKED_MESSAGE = (
    "密码错误次数过多，账号已锁定 15 分钟。如需立即登录，请点击“忘记密码”，"
    "用发送到本人手机的验证码重设密码后即可解锁"
)


def _generation_key(trainee_id: int) -> str:
    return f"{trainee_tag(trainee_id)}:login:gen"


# How long a lift of the lockout is remembered: a day from the last attempt counted under it
# (`_RESERVE` refreshes it), longer than any count or lock it holds. Were it to lapse within
# one, the generation would read "0" again, and that count or lock would be forgotten.
GENERATION_TTL_S = 24 * 3600

# What an account's count and lock are kept for: the username typed (phone, ID number), or
# a known device ("dev:<nonce>").
BY_PHONE, BY_ID_NUMBER = "phone", "id"


def _prefix(r: redis.Redis, trainee_id: int, by: str) -> str:
    """The keys of the account's count and lock for `by`, under the account's lift
    generation: `lift_lockout` lifts every one at once, and leaves the old ones to expire."""
    generation = r.get(_generation_key(trainee_id)) or "0"
    return f"{trainee_tag(trainee_id)}:login:{generation}:{by}"


class Keys(NamedTuple):
    """What one attempt counts against: the failure counter, the lock, and the generation
    they are kept under (all of one slot: `_RESERVE` names the three)."""

    fail: str
    lock: str
    generation: str


def account_keys(
    r: redis.Redis, trainee_id: int, device: Device | None, by: str = BY_ID_NUMBER
) -> Keys:
    """The failure counter and the lock a password typed for the account counts against:
    its known `device`'s own when typed on one, else those of the username it was typed
    with (`by`; a password typed again in a session counts as typed with the ID number)."""
    prefix = _prefix(r, trainee_id, by if device is None else f"dev:{device.nonce}")
    return Keys(f"{prefix}:fail", f"{prefix}:lock", _generation_key(trainee_id))


def login_keys(
    r: redis.Redis, trainee: Trainee | None, username: str, device: Device | None
) -> Keys:
    """The failure counter and the lock an attempt counts against: the account's for this
    username (or its known device's) when the username names one, else the username's own,
    so probing names is limited too (its generation is never set)."""
    if trainee is not None:
        by = BY_PHONE if is_mobile_number(username) else BY_ID_NUMBER
        return account_keys(r, trainee.id, device, by)
    tag = username_tag(username)
    return Keys(f"login:{tag}:fail", f"login:{tag}:lock", f"login:{tag}:gen")


# One password attempt, counted before its hash: refused while locked, or while MAX_FAILURES
# attempts are already counted in the window, whether they failed or are still being
# checked; else counted, and its number returned. Counted after the hash, a burst of
# attempts sent at once would all pass the check before the first failure was counted, and
# a stranger would get many guesses per lock. KEYS: the failure counter, the lock and their
# generation (one slot); ARGV: the window, MAX_FAILURES, GENERATION_TTL_S. Returns
# {number, 0}, or {0, seconds to wait}.
_RESERVE = """
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('EXPIRE', KEYS[3], ARGV[3]) end
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, redis.call('TTL', KEYS[2])} end
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[2]) then
  redis.call('DECR', KEYS[1])
  return {0, redis.call('TTL', KEYS[1])}
end
return {n, 0}
"""


def reserve_attempt(r: redis.Redis, keys: Keys) -> int:
    """Count one password attempt before its hash (`_RESERVE`): its number in the window,
    or 429 `locked`, with the seconds to wait, before any hash."""
    number, wait = r.register_script(_RESERVE)(
        keys=list(keys), args=[FAILURE_WINDOW_S, MAX_FAILURES, GENERATION_TTL_S]
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


def give_back(r: redis.Redis, fail_key: str) -> None:
    """Take back the attempt `reserve_attempt` counted: its check gave no answer."""
    r.register_script(_UNRESERVE)(keys=[fail_key])


def count_failure(r: redis.Redis, keys: Keys, attempt: int) -> int:
    """Attempt number `attempt` was a wrong password: the tries left, or 429 `locked` when it
    was the last one allowed (the lock then starts, and the counter with it)."""
    if attempt >= MAX_FAILURES:
        pipe = r.pipeline()
        pipe.set(keys.lock, 1, ex=LOCK_S)
        pipe.delete(keys.fail)
        pipe.execute()
        raise TooManyRequests(LOCKED_MESSAGE, code="locked")
    return MAX_FAILURES - attempt


def lift_lockout(r: redis.Redis, trainee_id: int) -> None:
    """Forget a trainee's failed logins and lift every lock of the account: those of both
    usernames and of its known devices (a new generation leaves their keys behind to
    expire).

    For 忘记密码 and activation (wxapp/accounts/password_reset.py, activation.py), once the
    phone is proven by SMS, and for customer service.
    """
    pipe = r.pipeline(transaction=False)  # keys of one slot ({t:<id>}), no order needed
    pipe.incr(_generation_key(trainee_id))
    pipe.expire(_generation_key(trainee_id), GENERATION_TTL_S)
    pipe.execute()


def is_locked(r: redis.Redis, trainee_id: int) -> bool:
    """Whether the account is locked now for either of its usernames (for customer service,
    which may lift it); a known device's own lock is not counted."""
    return any(
        r.exists(account_keys(r, trainee_id, None, by).lock) for by in (BY_PHONE, BY_ID_NUMBER)
    )
