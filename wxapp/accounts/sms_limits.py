"""What bounds an SMS code's sends (wxapp/accounts/sms_codes.py sends and checks them).

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

import ipaddress
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import redis

from wxapp.errors import TooManyRequests
from wxapp.infra.redis_keys import phone_tag, sms_asked_tag

log = logging.getLogger(__name__)

RESEND_GAP_S = 60
PHONE_DAILY_CAP = 10
OWNER_DAILY_CAP = 5
DAY_KEY_TTL_S = 2 * 24 * 3600
CHINA = timezone(timedelta(hours=8))

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


# What a send past the phone's daily cap is told, where more can be said than 请明天再试
# (keyed by the purpose's value: `sms_codes.Purpose` is a StrEnum).
CAP_MESSAGES = {"reset": RESET_CAP_MESSAGE, "activate": ACTIVATE_CAP_MESSAGE}


def _gap_key(phone: str, purpose: str) -> str:
    return f"{phone_tag(phone)}:sms:gap:{purpose}"


def _asked_gap_key(asked: str, purpose: str) -> str:
    return f"{sms_asked_tag(asked)}:{purpose}:gap"


def _asked_day_key(asked: str, purpose: str, now: datetime) -> str:
    return f"{sms_asked_tag(asked)}:{purpose}:day:{_day(now)}"


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


def admit_asked(
    r: redis.Redis,
    config: Mapping[str, Any],
    asked: str,
    client_ip: str,
    now: datetime,
    purpose: str,
    by_owner: bool,
) -> str:
    """Count one send against what its asker sees: the gap and the day of what was asked
    for (`asked`: the phone typed, or 忘记密码's username) for this purpose, the address's
    day and, last, the service's (429 past one). The gap's key, which the caller drops if
    nothing was sent after all.

    The proven owner (`by_owner`) is not refused by the day of what was asked for: past
    PHONE_DAILY_CAP their allowance is counted on the phone (`admit_phone`)."""
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


def admit_phone(
    r: redis.Redis, phone: str, now: datetime, purpose: str, by_owner: bool
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
