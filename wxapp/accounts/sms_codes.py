"""SMS verification codes: 6 digits, sent through Tencent Cloud SMS (wxapp/sms), kept hashed.

One live code per phone and purpose, in Redis under the phone's hash tag (`{p:<phone>}:`,
one Redis Cluster slot): `{p:<phone>}:sms:<purpose>` holds a random salt, sha256(salt +
code) and the wrong tries; it lives CODE_TTL_S and a new send replaces it. The code itself
is never stored (a dump or a log of Redis shows no live code; someone who can read Redis
could still try the million codes against a hash, within the code's five minutes). A check that matches consumes the code (one use); MAX_TRIES wrong ones
burn it, and the tries are counted before the comparison, so concurrent guesses get no
more than MAX_TRIES comparisons between them.

Sending costs money and reaches a stranger's phone, so it is bounded twice. What the asker
sees counts what they asked for (the phone typed, or 忘记密码's phone number or ID number)
and the purpose: one send every RESEND_GAP_S, PHONE_DAILY_CAP a day, SMS_IP_DAILY_CAP (a
setting, 30 by default) per client address (an IPv6 caller's /48) and SMS_DAILY_CAP (a
setting, 100,000 by default) for the whole service, per day (China's calendar day). The
phone itself then takes one send of a purpose every RESEND_GAP_S and PHONE_DAILY_CAP a day
of every purpose, whoever asks; past those a send is answered as sent and sends nothing
(`_admit_phone` says why: told, they would link a guessed phone to the ID number that spent
them), and so is a send the SMS service refuses, unless the proven owner asked. Anyone
can spend a phone's PHONE_DAILY_CAP (every ID number is public), so a send asked for by the
account's proven owner (on a known device of the account, or with its password) that finds
it spent counts against OWNER_DAILY_CAP, an allowance of that phone's that strangers cannot
spend; the owner is told the phone's bounds as they are. The gaps and the days follow the
app's clock (`now`); a code's life is its Redis key's expiry (`check_code` takes no clock).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import logging
import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import redis

from wxapp.errors import TooManyRequests, ValidationError
from wxapp.infra.redis_keys import phone_tag, sms_asked_tag
from wxapp.sms.client import SmsUnavailable, send_sms

CODE_DIGITS = 6
CODE_TTL_S = 5 * 60
log = logging.getLogger(__name__)

RESEND_GAP_S = 60
MAX_TRIES = 5
PHONE_DAILY_CAP = 10
OWNER_DAILY_CAP = 5
DAY_KEY_TTL_S = 2 * 24 * 3600
CHINA = timezone(timedelta(hours=8))

BAD_CODE_MESSAGE = "验证码错误或已过期，请重新获取"
TOO_SOON_MESSAGE = "验证码发送过于频繁，请 {s} 秒后再试"
PHONE_CAP_MESSAGE = "该手机号今日接收验证码次数已达上限，请明天再试"
# Past the phone's cap, which a stranger who knows the ID number can spend: 忘记密码 still
# has the owner's own allowance on a device where they have logged in before; a roster
# account never logged in has only its unit and customer service.
RESET_CAP_MESSAGE = (
    "该手机号今日接收验证码次数已达上限。如需今天找回密码，请在本人曾登录过的手机或电脑上"
    "操作，或致电客服 400-023-9229（按 1 选择登录注册问题）"
)
ACTIVATE_CAP_MESSAGE = (
    "该手机号今日接收验证码次数已达上限，请明天再试。如需今天激活，请联系所在单位的管理员，"
    "或致电客服 400-023-9229（按 1 选择登录注册问题）"
)
IP_CAP_MESSAGE = "今日获取验证码次数过多，请明天再试"
SERVICE_CAP_MESSAGE = (
    "今日平台短信验证码发送量已达上限，请明天再试；急需办理的，请咨询客服 400-023-9229"
)
# What the daily cap per client address counts for IPv6: a whole /48. One subscriber's line
# holds a /64 or more (home lines get a /56 or a /60, a site a /48), and 256 /64s of one
# site would each have the cap.
SMS_IPV6_PREFIX = 48


class Purpose(enum.StrEnum):
    ACTIVATE = "activate"  # activation of a roster account (code to the roster phone)
    REGISTER = "register"  # 自主注册 (code to the phone being registered)
    RESET = "reset"  # 忘记密码 (code to the account's phone)
    REBIND = "rebind"  # re-binding an account already bound to another WeChat user
    PHONE = "phone"  # 个人信息: changing the phone (code to the NEW phone)


# What a send past the phone's daily cap is told, where more can be said than 请明天再试.
CAP_MESSAGES = {Purpose.RESET: RESET_CAP_MESSAGE, Purpose.ACTIVATE: ACTIVATE_CAP_MESSAGE}

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


def _gap_key(phone: str, purpose: Purpose) -> str:
    return f"{phone_tag(phone)}:sms:gap:{purpose.value}"


def _asked_gap_key(asked: str, purpose: Purpose) -> str:
    return f"{sms_asked_tag(asked)}:{purpose.value}:gap"


def _asked_day_key(asked: str, purpose: Purpose, now: datetime) -> str:
    return f"{sms_asked_tag(asked)}:{purpose.value}:day:{_day(now)}"


def _day(now: datetime) -> str:
    return now.astimezone(CHINA).strftime("%Y%m%d")


def _phone_day_key(phone: str, now: datetime) -> str:
    return f"{phone_tag(phone)}:sms:day:{_day(now)}"


def _owner_day_key(phone: str, now: datetime) -> str:
    return f"{phone_tag(phone)}:sms:day:own:{_day(now)}"


def _ip_day_key(client_ip: str, now: datetime) -> str:
    return f"sms:ip:{_sms_address(client_ip)}:{_day(now)}"


def _sms_address(client_ip: str) -> str:
    """The client address (or the /64 the limits count for IPv6) as the SMS cap counts it:
    an IPv6 network widened to its /48, anything else as it is."""
    try:
        network = ipaddress.ip_network(client_ip, strict=False)
    except ValueError:
        return client_ip  # "-" when unknown
    if network.version == 6 and network.prefixlen > SMS_IPV6_PREFIX:
        return str(network.supernet(new_prefix=SMS_IPV6_PREFIX))
    return client_ip


def _service_day_key(now: datetime) -> str:
    return f"sms:all:{_day(now)}"


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _count(r: redis.Redis, key: str) -> int:
    pipe = r.pipeline()
    pipe.incr(key)
    pipe.expire(key, DAY_KEY_TTL_S)
    count, _ = pipe.execute()
    return int(count)


# The resend gap, atomically: refuse (the ms left) while the stored "next send at" is ahead
# of now, else store now + gap. The key's own expiry only tidies up.
_GAP = """
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
if next_at > now then return next_at - now end
redis.call('SET', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), 'EX', ARGV[3])
return 0
"""


def _hold_gap(r: redis.Redis, gap_key: str, now: datetime) -> None:
    """Start the resend gap under `gap_key`, or 429 `sms_too_soon` while one runs."""
    now_ms = int(now.timestamp() * 1000)
    left_ms = int(
        r.register_script(_GAP)(keys=[gap_key], args=[now_ms, RESEND_GAP_S * 1000, RESEND_GAP_S])
    )
    if left_ms > 0:
        wait = max((left_ms + 999) // 1000, 1)
        raise TooManyRequests(
            TOO_SOON_MESSAGE.format(s=wait), code="sms_too_soon", retry_after=wait
        )


def _count_service(r: redis.Redis, config: Mapping[str, Any], now: datetime) -> None:
    """Count one send against the whole service's day (SMS_DAILY_CAP), a bound on what SMS
    can cost whatever addresses and phones a script uses; 429 past it."""
    sent_today = _count(r, _service_day_key(now))
    if sent_today > config["SMS_DAILY_CAP"]:
        if sent_today == config["SMS_DAILY_CAP"] + 1:  # said once a day, not per refusal
            log.error("SMS_DAILY_CAP (%s) reached: no more codes today", config["SMS_DAILY_CAP"])
        raise TooManyRequests(SERVICE_CAP_MESSAGE, code="sms_service_cap")


def _admit_asked(
    r: redis.Redis,
    config: Mapping[str, Any],
    asked: str,
    client_ip: str,
    now: datetime,
    purpose: Purpose,
    by_owner: bool,
) -> str:
    """Count one send against what its asker sees: the gap and the day of what was asked
    for (`asked`: the phone typed, or 忘记密码's username) for this purpose, the address's
    day and, last, the service's (429 past one). The gap's key, which the caller drops if
    nothing was sent after all.

    The proven owner (`by_owner`) is not refused by the day of what was asked for: past
    PHONE_DAILY_CAP their allowance is counted on the phone (`_admit_phone`)."""
    gap_key = _asked_gap_key(asked, purpose)
    _hold_gap(r, gap_key, now)
    try:
        if _count(r, _ip_day_key(client_ip, now)) > config["SMS_IP_DAILY_CAP"]:
            raise TooManyRequests(IP_CAP_MESSAGE, code="sms_daily_cap")
        if _count(r, _asked_day_key(asked, purpose, now)) > PHONE_DAILY_CAP and not by_owner:
            raise TooManyRequests(
                CAP_MESSAGES.get(purpose, PHONE_CAP_MESSAGE), code="sms_daily_cap"
            )
        _count_service(r, config, now)
    except TooManyRequests:
        r.delete(gap_key)  # nothing sent: no gap either
        raise
    return gap_key


def _admit_phone(
    r: redis.Redis, phone: str, now: datetime, purpose: Purpose, by_owner: bool
) -> str | None:
    """Count one send against the phone's own bounds, whoever asked: one send of the
    purpose every RESEND_GAP_S (so a send it holds back leaves the phone a live code that
    serves the same purpose), PHONE_DAILY_CAP a day of every purpose, then for its proven
    owner OWNER_DAILY_CAP more. The gap's key; None when a bound holds the send back.

    Told to a stranger, these would link the phone to whatever else set them: a 忘记密码
    asked by ID number starts the phone's minute and spends its day, and a 429 for a
    guessed phone (asked by it, or registered with it) would then say that it is the
    account's. So the caller answers as sent and sends nothing (the code sent earlier stays
    live). The proven owner is told: 429, as it is."""
    gap_key = _gap_key(phone, purpose)
    try:
        _hold_gap(r, gap_key, now)
    except TooManyRequests:
        if by_owner:
            raise
        return None
    if _count(r, _phone_day_key(phone, now)) > PHONE_DAILY_CAP and (
        not by_owner or _count(r, _owner_day_key(phone, now)) > OWNER_DAILY_CAP
    ):
        r.delete(gap_key)
        if by_owner:
            raise TooManyRequests(PHONE_CAP_MESSAGE, code="sms_daily_cap")
        return None
    return gap_key


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
    whatever set them (`_admit_phone`), are answered as a send, after as long a wait, and
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
    asked_gap = _admit_asked(r, config, asked_as or phone, client_ip, now, purpose, by_owner)
    try:
        phone_gap = _admit_phone(r, phone, now, purpose, by_owner)
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
    _admit_asked(r, config, username, client_ip, now, Purpose.RESET, by_owner=False)
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
