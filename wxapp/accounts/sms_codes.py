"""SMS verification codes: 6 digits, sent through Tencent Cloud SMS (wxapp/sms), kept hashed.

One live code per phone and purpose, in Redis under the phone's hash tag (`{p:<phone>}:`,
one Redis Cluster slot): `{p:<phone>}:sms:<purpose>` holds a random salt, sha256(salt +
code) and the wrong tries; it lives CODE_TTL_S and a new send replaces it. The code itself
is never stored (a dump or a log of Redis shows no live code; someone who can read Redis
could still try the million codes against a hash, within the code's five minutes). A check that matches consumes the code (one use); MAX_TRIES wrong ones
burn it, and the tries are counted before the comparison, so concurrent guesses get no
more than MAX_TRIES comparisons between them.

What bounds the sends (the asker's gap and days, the phone's own, the address's and the
service's) lives in wxapp/accounts/sms_limits.py.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import redis

from wxapp.accounts.sms_limits import (
    RESEND_GAP_S,
    admit_asked,
    admit_phone,
)
from wxapp.errors import TooManyRequests, ValidationError
from wxapp.infra.redis_keys import phone_tag
from wxapp.sms.client import SmsUnavailable, send_sms

CODE_DIGITS = 6
CODE_TTL_S = 5 * 60
MAX_TRIES = 5

BAD_CODE_MESSAGE = "验证码错误或已过期，请重新获取"


class Purpose(enum.StrEnum):
    ACTIVATE = "activate"  # activation of a roster account (code to the roster phone)
    REGISTER = "register"  # 自主注册 (code to the phone being registered)
    RESET = "reset"  # 忘记密码 (code to the account's phone)
    REBIND = "rebind"  # re-binding an account already bound to another WeChat user
    PHONE = "phone"  # 个人信息: changing the phone (code to the NEW phone)


# The setting naming each purpose's SMS template (wxapp/settings_wechat.py).
TEMPLATE_SETTING = {purpose: f"SMS_TEMPLATE_{purpose.name}" for purpose in Purpose}


@dataclass(frozen=True)
class SentCode:
    phone_tail: str  # last 4 digits, for "验证码已发送至尾号 8001 的手机"
    phone_masked: str  # "138****8001"
    resend_after_s: int  # 60
    expires_in_s: int  # 300


def mask_phone(phone: str) -> str:
    """ "138****8001": the first three and the last four digits."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_tail(phone: str) -> str:
    """ "*******8001": the last four digits only, for someone who may know no more than the
    account's public ID number; with the first three too, they would learn 7 of 11 digits of
    a person's phone. Enough for its owner to know where to look."""
    return "*" * 7 + phone[-4:]


def tail_only(sent: SentCode) -> SentCode:
    """A send's answer with the phone as `mask_tail` shows it."""
    return replace(sent, phone_masked=mask_tail(sent.phone_tail))


def _code_key(phone: str, purpose: Purpose) -> str:
    return f"{phone_tag(phone)}:sms:{purpose.value}"


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _sent(phone: str) -> SentCode:
    return SentCode(
        phone_tail=phone[-4:],
        phone_masked=mask_phone(phone),
        resend_after_s=RESEND_GAP_S,
        expires_in_s=CODE_TTL_S,
    )


def send_code(
    r: redis.Redis,
    config: Mapping[str, Any],
    phone: str,
    purpose: Purpose,
    client_ip: str,
    now: datetime,
    *,
    asked_as: str | None = None,
    by_owner: bool = False,
) -> SentCode:
    """Send a fresh code for `purpose` to `phone`, replacing any live one.

    429 `sms_too_soon` within RESEND_GAP_S of the last send asked for the same (`asked_as`,
    by default the phone, and purpose), `sms_daily_cap` past PHONE_DAILY_CAP of those a day
    or the address's cap, `sms_service_cap` past the service's. The phone's own bounds,
    whatever set them (`sms_limits.admit_phone`), are answered as a send, after as long a wait, and
    send nothing; its proven owner (`by_owner`) is told them, and past the phone's cap uses
    their own allowance.

    A send the SMS service refuses (an outage, an empty SMS package, its own limit on the
    number, which a stranger can reach with 忘记密码) is logged by the SMS client and, to
    a stranger, answered and limited like a sent one: a held-back send cannot fail, so a
    503 would tell a guessed phone that is not the account's from one that is. The proven
    owner gets 503 `sms_unavailable` (then the phone may ask again at once; the previous
    code, if any, stays live).

    `asked_as`: what the asker typed when it is not the phone (忘记密码's ID number).
    """
    purpose = Purpose(purpose)
    asked_gap = admit_asked(r, config, asked_as or phone, client_ip, now, purpose, by_owner)
    try:
        phone_gap = admit_phone(r, phone, now, purpose, by_owner)
    except TooManyRequests:
        r.delete(asked_gap)
        raise
    if phone_gap is None:
        _wait_like_a_send(r)
        return _sent(phone)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    template_id = config[TEMPLATE_SETTING[purpose]]
    started = time.monotonic()
    try:
        send_sms(config, phone, template_id, [code, str(CODE_TTL_S // 60)])
    except Exception as err:
        if isinstance(err, SmsUnavailable):
            # What a send costs now, failed or not: a service timing out makes every real
            # send slow, and the pretended ones must wait as long (`_wait_like_a_send`).
            _remember_send_time(r, time.monotonic() - started)
        if not by_owner and isinstance(err, SmsUnavailable):
            return _sent(phone)  # the gaps stay, as after a send; the previous code too
        for gap_key in (asked_gap, phone_gap):  # two slots: one DEL each
            r.delete(gap_key)  # nothing reached the phone: it may ask again at once
        raise
    _remember_send_time(r, time.monotonic() - started)
    salt = secrets.token_hex(8)
    key = _code_key(phone, purpose)
    pipe = r.pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(key, mapping={"salt": salt, "h": _digest(salt, code), "tries": 0})
    pipe.expire(key, CODE_TTL_S)
    pipe.execute()
    return _sent(phone)


def pretend_send(
    r: redis.Redis,
    config: Mapping[str, Any],
    username: str,
    shown_phone: str,
    client_ip: str,
    now: datetime,
) -> SentCode:
    """What `send_code` answers for 忘记密码, with its limits counted for `username`, and
    nothing sent: for a username that names no account, which must look like one that
    does. `shown_phone` is the number the answer masks.

    It also takes as long (`_wait_like_a_send`), else an answer at once would tell who has
    an account."""
    admit_asked(r, config, username, client_ip, now, Purpose.RESET, by_owner=False)
    _wait_like_a_send(r)
    return _sent(shown_phone)


# The durations of the last real sends (seconds; those the SMS service refused or let time
# out too), shared by the workers: what a pretended send waits. Before any send, a typical
# round trip to the SMS service. An outage's slow failures take the place of the fast sends
# of before one by one: for its first SEND_TIMES_KEPT sends a pretended one may still answer
# faster than a real one.
SEND_TIMES_KEY = "sms:send-times"
SEND_TIMES_KEPT = 50
DEFAULT_SEND_S = 0.15


def _wait_like_a_send(r: redis.Redis) -> None:
    """Wait as long as one of the recent real sends took (the SMS service's round trip,
    tens to hundreds of ms)."""
    recent = r.lrange(SEND_TIMES_KEY, 0, -1)
    time.sleep(float(random.choice(recent)) if recent else DEFAULT_SEND_S)


def _remember_send_time(r: redis.Redis, seconds: float) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.lpush(SEND_TIMES_KEY, f"{seconds:.4f}")
    pipe.ltrim(SEND_TIMES_KEY, 0, SEND_TIMES_KEPT - 1)
    pipe.execute()


# One more try against the live code: (tries so far, salt, hash), or nil when none is live.
_TRY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
local salt, h = unpack(redis.call('HMGET', KEYS[1], 'salt', 'h'))
return {tries, salt, h}
"""

# Delete the code if it is still the one tried (not replaced by a newer send meanwhile).
_DROP = """
if redis.call('HGET', KEYS[1], 'salt') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def check_code(
    r: redis.Redis,
    phone: str,
    purpose: Purpose,
    code: str,
    then: Callable[[], object] | None = None,
) -> None:
    """Consume the live code for `phone` and `purpose` if `code` is it; otherwise 422
    `bad_sms_code` on the field `sms_code` (MAX_TRIES wrong tries burn the code).

    `then` runs once the code matched and before it is consumed: a check that may only be
    answered to whoever holds the code (it raises, and the code stays for another try)."""
    purpose = Purpose(purpose)
    key = _code_key(phone, purpose)
    bad = ValidationError("sms_code", BAD_CODE_MESSAGE, code="bad_sms_code")
    code = (code or "").strip()
    if len(code) != CODE_DIGITS or not code.isdigit():
        raise bad  # not a code at all: no try spent
    found = r.register_script(_TRY)(keys=[key])
    if not found:
        raise bad
    tries, salt, stored = int(found[0]), found[1], found[2]
    if isinstance(salt, bytes):
        salt, stored = salt.decode(), stored.decode()
    drop = r.register_script(_DROP)
    if tries > MAX_TRIES:
        drop(keys=[key], args=[salt])
        raise bad
    if hmac.compare_digest(_digest(salt, code), stored):
        if then is not None:
            then()
        if drop(keys=[key], args=[salt]):
            return
        raise bad  # consumed by a concurrent check, or replaced
    if tries >= MAX_TRIES:
        drop(keys=[key], args=[salt])
    raise bad
