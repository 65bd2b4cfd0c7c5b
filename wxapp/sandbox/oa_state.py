"""State of the official-account sandbox, all in Redis under `sandbox:` keys.

Tests drive the sandbox through these functions (or the /_sandbox/switches endpoint):
`set_switches` makes the API slow, busy (errcode -1) or refuse openids as unsubscribed
(43004), or has WeChat's delivery report say a template message to an openid failed
(`blocked`: the user refuses the account's messages; `undelivered`: "system failed");
`inbox` lists what reached an openid; `reports` counts the delivery reports /wechat
answered; `token_fetches` counts token calls.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import redis

CODE_TTL_S = 300  # 网页授权 codes live five minutes and serve once
TOKEN_TTL_S = 7200
# stable_token in normal mode hands out the current token unless it is about to expire.
STABLE_REISSUE_BELOW_S = 300

K_CODE = "sandbox:oauth:code:"
K_USED = "sandbox:oauth:used:"
K_TOKEN = "sandbox:token"  # the stable token
K_PLAIN_TOKEN = "sandbox:token:plain"  # cgi-bin/token's, independent of the stable one
K_FETCHES = "sandbox:token:fetches"
K_MENU = "sandbox:menu"
K_INBOX = "sandbox:inbox:"
K_MSGID = "sandbox:msgid"
K_SWITCH = "sandbox:switch"
K_UNSUBSCRIBED = "sandbox:unsubscribed"
K_BLOCKED = "sandbox:blocked"
K_UNDELIVERED = "sandbox:undelivered"
K_REPORTS = "sandbox:reports"
K_CLIENT_MSG = "sandbox:client_msg_id:"
K_REPEATS = "sandbox:repeats"
CLIENT_MSG_TTL_S = 600  # WeChat drops a repeated client_msg_id within ten minutes

# TEMPLATESENDJOBFINISH's Status values, as WeChat spells them.
DELIVERED = "success"
USER_BLOCK = "failed:user block"
SYSTEM_FAILED = "failed: system failed"

DEMO_USERS = [
    {"openid": "o_demo_zhangsan_0000000001", "nickname": "微信用户·张三"},
    {"openid": "o_demo_lisi_000000000002", "nickname": "微信用户·李四"},
    {"openid": "o_demo_wangwu_0000000003", "nickname": "微信用户·王五"},
]


# --- 网页授权 codes ---------------------------------------------------------------------


def issue_code(r: redis.Redis, openid: str) -> str:
    code = secrets.token_urlsafe(24)
    r.set(K_CODE + code, openid, ex=CODE_TTL_S)
    return code


def redeem_code(r: redis.Redis, code: str) -> tuple[str | None, int]:
    """(openid, 0), or (None, 40029 invalid code / 40163 code been used)."""
    openid = r.getdel(K_CODE + code) if code else None
    if openid is not None:
        r.set(K_USED + code, 1, ex=CODE_TTL_S * 12)
        return openid, 0
    return None, 40163 if code and r.exists(K_USED + code) else 40029


# --- access_token -----------------------------------------------------------------------


def _new_token(r: redis.Redis, key: str) -> tuple[str, int]:
    token = "sbx_" + secrets.token_urlsafe(32)
    r.set(key, token, ex=TOKEN_TTL_S)
    return token, TOKEN_TTL_S


def issue_token(r: redis.Redis, *, stable: bool, force: bool = False) -> tuple[str, int]:
    """cgi-bin/token always replaces its token (as WeChat's does, invalidating the previous
    one); stable_token hands out the current stable token unless forced or nearly expired."""
    r.incr(K_FETCHES)
    if not stable:
        return _new_token(r, K_PLAIN_TOKEN)
    if not force:
        current, ttl = r.get(K_TOKEN), r.ttl(K_TOKEN)
        if current and ttl > STABLE_REISSUE_BELOW_S:
            return current, ttl
    return _new_token(r, K_TOKEN)


def check_token(r: redis.Redis, token: str | None) -> int:
    """0 if `token` is a current one, else 42001 (none current: expired) or 40001."""
    current = [t for t in (r.get(K_TOKEN), r.get(K_PLAIN_TOKEN)) if t]
    if not current:
        return 42001
    return 0 if token and any(secrets.compare_digest(token, t) for t in current) else 40001


def expire_token(r: redis.Redis) -> None:
    """Make the current tokens invalid, as tokens expired at WeChat would be."""
    r.delete(K_TOKEN, K_PLAIN_TOKEN)


def token_fetches(r: redis.Redis) -> int:
    return int(r.get(K_FETCHES) or 0)


# --- menu and messages ------------------------------------------------------------------


def save_menu(r: redis.Redis, menu: dict[str, Any]) -> None:
    r.set(K_MENU, json.dumps(menu, ensure_ascii=False))


def load_menu(r: redis.Redis) -> dict[str, Any] | None:
    raw = r.get(K_MENU)
    return json.loads(raw) if raw else None


def deliver(r: redis.Redis, kind: str, message: dict[str, Any], now_iso: str) -> int:
    """Keep `message` in the inbox; a repeat of a `client_msg_id` seen within ten minutes
    is answered with the first send's msgid and not delivered again, as WeChat does."""
    return accept(r, kind, message, now_iso)[0]


def accept(
    r: redis.Redis, kind: str, message: dict[str, Any], now_iso: str, *, reaches: bool = True
) -> tuple[int, bool]:
    """`deliver`, and whether this send is new (False: a repeat, dropped); a message that
    does not reach the user (`reaches=False`) gets its msgid but stays out of the inbox."""
    client_msg_id = message.get("client_msg_id")
    if client_msg_id:
        key = K_CLIENT_MSG + str(client_msg_id)
        first = r.get(key)
        if first is not None:
            r.incr(K_REPEATS)
            return int(first), False
    msgid = int(r.incr(K_MSGID))
    if client_msg_id:
        r.set(key, msgid, ex=CLIENT_MSG_TTL_S)
    if reaches:
        entry = {"msgid": msgid, "kind": kind, "received_at": now_iso, **message}
        r.rpush(K_INBOX + str(message["touser"]), json.dumps(entry, ensure_ascii=False))
    return msgid, True


def delivery_status(r: redis.Redis, openid: str) -> str:
    """What WeChat's delivery report on a template message to `openid` says."""
    if r.sismember(K_BLOCKED, openid):
        return USER_BLOCK
    if r.sismember(K_UNDELIVERED, openid):
        return SYSTEM_FAILED
    return DELIVERED


def count_report(r: redis.Redis) -> None:
    r.incr(K_REPORTS)


def reports(r: redis.Redis) -> int:
    """How many delivery reports /wechat has answered."""
    return int(r.get(K_REPORTS) or 0)


def inbox(r: redis.Redis, openid: str) -> list[dict[str, Any]]:
    """Messages sent to `openid`, oldest first."""
    return [json.loads(item) for item in r.lrange(K_INBOX + openid, 0, -1)]


# --- failure switches -------------------------------------------------------------------


def set_switches(
    r: redis.Redis,
    *,
    slow_ms: int | None = None,
    fail_errcode: int | None = None,
    fail_times: int | None = None,
    unsubscribed: list[str] | None = None,
    fail_http: int | None = None,
    blocked: list[str] | None = None,
    undelivered: list[str] | None = None,
) -> None:
    """slow_ms: delay of every API answer; fail_errcode for the next fail_times message
    sends and menu calls (-1 times: until reset); openids in `unsubscribed` get 43004;
    fail_http: every API call answers this HTTP status (e.g. 502, a failing gateway)
    until reset (0 turns it off). A template message to an openid in `blocked` or
    `undelivered` is accepted (a msgid) but never reaches the inbox, and its delivery
    report says `failed:user block` or `failed: system failed`."""
    values: dict[str, int] = {}
    if slow_ms is not None:
        values["slow_ms"] = slow_ms
    if fail_http is not None:
        values["fail_http"] = fail_http
    if fail_errcode is not None:
        values["fail_errcode"] = fail_errcode
        values["fail_times"] = -1 if fail_times is None else fail_times
    if values:
        r.hset(K_SWITCH, mapping=values)
    for key, openids in (
        (K_UNSUBSCRIBED, unsubscribed),
        (K_BLOCKED, blocked),
        (K_UNDELIVERED, undelivered),
    ):
        if openids is not None:
            r.delete(key)
            if openids:
                r.sadd(key, *openids)


def reset_switches(r: redis.Redis) -> None:
    r.delete(K_SWITCH, K_UNSUBSCRIBED, K_BLOCKED, K_UNDELIVERED)


def switches(r: redis.Redis) -> dict[str, Any]:
    raw = r.hgetall(K_SWITCH)
    return {
        "slow_ms": int(raw.get("slow_ms", 0)),
        "fail_errcode": int(raw["fail_errcode"]) if "fail_errcode" in raw else None,
        "fail_times": int(raw.get("fail_times", 0)),
        "fail_http": int(raw.get("fail_http", 0)),
        "unsubscribed": sorted(r.smembers(K_UNSUBSCRIBED)),
        "blocked": sorted(r.smembers(K_BLOCKED)),
        "undelivered": sorted(r.smembers(K_UNDELIVERED)),
    }


def slow_ms(r: redis.Redis) -> int:
    return int(r.hget(K_SWITCH, "slow_ms") or 0)


def fail_http(r: redis.Redis) -> int:
    return int(r.hget(K_SWITCH, "fail_http") or 0)


def repeats(r: redis.Redis) -> int:
    """How many sends repeated a client_msg_id and were dropped."""
    return int(r.get(K_REPEATS) or 0)


def take_failure(r: redis.Redis) -> int | None:
    """The errcode this call must fail with, if a failure switch is on (consumes one)."""
    raw = r.hgetall(K_SWITCH)
    if "fail_errcode" not in raw:
        return None
    times = int(raw.get("fail_times", -1))
    if times == 0:
        return None
    if times > 0 and r.hincrby(K_SWITCH, "fail_times", -1) < 0:
        return None  # another call took the last one
    return int(raw["fail_errcode"])


def is_unsubscribed(r: redis.Redis, openid: str) -> bool:
    return bool(r.sismember(K_UNSUBSCRIBED, openid))
