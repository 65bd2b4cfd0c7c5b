"""What to do after a send failed: retry later (with backoff) or give up (pure).

Transient: no answer (network error, timeout, HTTP 5xx: errcode None), WeChat's
system-busy -1, rate limits, a token rejected even after the client's own refresh.
Permanent: the user cannot or will not receive it (43004 not following, 40003 bad openid,
43101 refused), or our template is wrong (40037, 47001, 47003): retrying cannot help.
An unknown code is retried, within the attempt limit, then given up.
WeChat's later report on a send it accepted (TEMPLATESENDJOBFINISH) is decided the same way:
a user block is final like 43101, any other failure is retried like an unknown code.
45009 (the account's template messages for the day are used up, which a year-end rush can
reach) waits for the next morning, QUOTA_RETRY_HOUR Beijing time (WeChat resets the count at
midnight, but a push then would wake the trainee), and does not count as an attempt: retrying
within the day cannot help, and doubling retries would give every push up about an hour later.

An SMS notice fails with Tencent Cloud's code (a string) instead: a number or template that
cannot work is final; the number's daily limit waits for the morning like 45009 (someone who
spent the old phone's sends on codes must not thereby keep the notice from it); the rest,
an unanswered call included, is retried within the attempt limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from wxapp.infra.clock import SHANGHAI

TRANSIENT = {
    None: "网络错误或超时",
    -1: "微信系统繁忙",
    40001: "access_token 无效",
    40014: "access_token 不合法",
    42001: "access_token 过期",
    45009: "接口调用超过每日上限",
    45011: "接口调用过于频繁",
    45047: "发送过于频繁",
}
PERMANENT = {
    40003: "openid 无效",
    40013: "AppID 无效",
    40036: "模板 id 长度无效",
    40037: "模板 id 无效",
    43004: "用户未关注公众号",
    43101: "用户拒收消息",
    47001: "数据格式错误",
    47003: "模板参数不合法",
    48001: "接口未授权",
}
# Tencent Cloud SMS (SendSms 2021-01-11) codes; the SDK's own when no answer came.
SMS_TRANSIENT = {
    "ClientNetworkError": "短信服务网络错误或超时",
    "ServerNetworkError": "短信服务应答异常",
    "InternalError.Timeout": "短信服务超时",
    "FailedOperation.InsufficientBalanceInSmsPackage": "短信套餐包余量不足",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "该号码30秒内发送过多",
    "LimitExceeded.PhoneNumberOneHourLimit": "该号码1小时内发送过多",
    "LimitExceeded.PhoneNumberDailyLimit": "该号码当日发送已达上限",
    "LimitExceeded.PhoneNumberSameContentDailyLimit": "该号码当日相同内容已达上限",
    "LimitExceeded.DailyLimit": "短信当日发送已达上限",
}
SMS_PERMANENT = {
    "InvalidParameterValue.IncorrectPhoneNumber": "手机号码有误",
    "FailedOperation.PhoneNumberInBlacklist": "号码在免打扰名单中",
    "FailedOperation.TemplateIncorrectOrUnapproved": "短信模板未审核通过或不存在",
    "FailedOperation.SignatureIncorrectOrUnapproved": "短信签名未审核通过或不存在",
    "InvalidParameterValue.TemplateParameterFormatError": "短信模板参数有误",
}
SMS_DAILY_LIMITS = {"LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.DailyLimit"}
UNSUBSCRIBED = 43004
REFUSED = 43101
# TEMPLATESENDJOBFINISH's Status: "success", "failed:user block" (the user refuses the
# account's messages, as 43101 says at the send) or "failed: system failed" (anything else).
REPORT_FAILED = "failed"
REPORT_USER_BLOCK = "failed:userblock"  # compared without spaces
REPORT_MEANING = "微信报告送达失败"
DAILY_QUOTA = 45009
QUOTA_RETRY_HOUR = 8  # Beijing time: a held push reaches the phone in the morning, not at 00:00


@dataclass(frozen=True)
class Decision:
    give_up: bool
    error: str
    retry_at: datetime | None = None
    counts: bool = True  # False: the attempt is given back (the day's quota was used up)


def describe(errcode: int | str | None, errmsg: str | None = None) -> str:
    """A short text for `last_error`: code, our meaning, WeChat's own message."""
    if isinstance(errcode, str):
        meaning = SMS_TRANSIENT.get(errcode) or SMS_PERMANENT.get(errcode) or "未知错误"
    else:
        meaning = TRANSIENT.get(errcode) or PERMANENT.get(errcode) or "未知错误"
    text = f"{errcode if errcode is not None else 'network'} {meaning}"
    if errmsg:
        text += f" ({errmsg})"
    return text[:500]


def backoff_s(attempts: int, base_s: float, cap_s: float) -> float:
    """base, 2·base, 4·base, ... after the 1st, 2nd, 3rd failed attempt; at most cap."""
    return min(cap_s, base_s * 2 ** max(0, attempts - 1))


def decide(
    errcode: int | str | None,
    errmsg: str | None,
    *,
    attempts: int,
    max_attempts: int,
    now: datetime,
    base_s: float,
    cap_s: float,
) -> Decision:
    """Retry or give up after the `attempts`-th failed send (attempts counts this one);
    `errcode` is WeChat's (an int) or Tencent Cloud SMS's (a string)."""
    error = describe(errcode, errmsg)
    if errcode in PERMANENT or errcode in SMS_PERMANENT:
        return Decision(give_up=True, error=error)
    if errcode == DAILY_QUOTA or errcode in SMS_DAILY_LIMITS:
        tomorrow = now.astimezone(SHANGHAI).date() + timedelta(days=1)
        morning = datetime.combine(tomorrow, time(QUOTA_RETRY_HOUR), tzinfo=SHANGHAI)
        if errcode == DAILY_QUOTA:  # the account's quota: every push waits, none is at fault
            return Decision(give_up=False, error=error, retry_at=morning, counts=False)
        # One number's day. This service sends a number at most PHONE_DAILY_CAP +
        # OWNER_DAILY_CAP codes a day and Tencent Cloud's own limit is set above that
        # (docs/operations.md), so only a limit set too low, or another system's sends,
        # reach here, and whoever spends them could hold a notice back for good: each
        # morning counts, and after max_attempts it is given up (and shows in the console).
        if attempts >= max_attempts:
            return Decision(give_up=True, error=f"{error}; 已重试 {attempts} 天"[:500])
        return Decision(give_up=False, error=error, retry_at=morning)
    return _retry_or_give_up(error, attempts, max_attempts, now, base_s, cap_s)


def _retry_or_give_up(
    error: str, attempts: int, max_attempts: int, now: datetime, base_s: float, cap_s: float
) -> Decision:
    if attempts >= max_attempts:
        return Decision(give_up=True, error=f"{error}; 已重试 {attempts} 次"[:500])
    delay = backoff_s(attempts, base_s, cap_s)
    return Decision(give_up=False, error=error, retry_at=now + timedelta(seconds=delay))


def decide_report(
    status: str,
    *,
    attempts: int,
    max_attempts: int,
    now: datetime,
    base_s: float,
    cap_s: float,
) -> Decision | None:
    """What WeChat's delivery report (TEMPLATESENDJOBFINISH) on a sent row's `attempts`-th
    send changes: None for `success` (or a status that is no failure); a user who refuses
    the account's messages is final, as 43101 is; any other failure is retried like a
    failed send, the reported send counting as its attempt."""
    if not status.startswith(REPORT_FAILED):
        return None
    if status.replace(" ", "") == REPORT_USER_BLOCK:
        return Decision(give_up=True, error=describe(REFUSED, status))
    error = f"{REPORT_MEANING} ({status})"[:500]
    return _retry_or_give_up(error, attempts, max_attempts, now, base_s, cap_s)
