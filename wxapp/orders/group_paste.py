"""What a 团体购买 paste leaves in Redis beside its order: each payer's daily count of
distinct ID numbers looked up (`count_checked`, the cap a stranger mining public ID numbers
meets) and the payer's error files of rejected lines (`store_rejects`, `stored_rejects`).
The lines themselves are checked in `wxapp.orders.group`."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

from wxapp.errors import NotFound, TooManyRequests
from wxapp.infra.clock import day_start, local
from wxapp.infra.redis_keys import trainee_tag


@dataclass(frozen=True)
class Reject:
    line: int  # 1-based line of the pasted text, blank lines counted
    id_number: str  # the line as pasted (trimmed), cut to group.REJECT_TEXT_MAX characters
    reason: str


# What an error file keeps, whatever was pasted: the line number, the reason and the
# line's first group.REJECT_TEXT_MAX characters, for REJECTS_TTL_S, the newest REJECTS_KEPT
# files of a payer. A 2 MB paste of junk then stores well under 1 MB, and only for a day.
REJECTS_TTL_S = 24 * 3600
REJECTS_KEPT = 3

# 每日核查上限: distinct well-formed ID numbers one payer may have looked up per local day,
# re-pastes of the same numbers counted once. Twice the largest paste (group.MAX_LINES), so a unit
# fixing and re-sending its list never meets it; a stranger learns about at most this many
# numbers a day per account (it was 100,000 a minute). Counted in a HyperLogLog (12 KB a
# payer-day, about 1% error), which never stores the numbers themselves.
DAILY_DISTINCT_IDS = 20_000
CAP_KEY_TTL_S = 26 * 3600
# Add the numbers to the payer's day count only if the total stays within the cap; one
# script, so two pastes at once cannot both slip under it. KEYS: the day's count, scratch.
# ARGV: cap, ttl, numbers... Returns {1 if counted, the day's total}.
_COUNT_SCRIPT = """
redis.call('DEL', KEYS[2])
redis.call('PFMERGE', KEYS[2], KEYS[1])
for i = 3, #ARGV, 500 do
  redis.call('PFADD', KEYS[2], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
local total = redis.call('PFCOUNT', KEYS[2])
if total > tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[2])
  return {0, redis.call('PFCOUNT', KEYS[1])}
end
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return {1, total}
"""


def _rejects_key(payer_id: int) -> str:
    """A payer's error files: a hash of token -> file, and beside it their tokens in order."""
    return f"{trainee_tag(payer_id)}:group-rejects"


def store_rejects(r: redis.Redis, payer_id: int, rejects: list[Reject], now: datetime) -> str:
    """Keep the rejects as a new error file of the payer (dropping the oldest beyond
    REJECTS_KEPT); its token."""
    token = secrets.token_urlsafe(12)
    key, tokens = _rejects_key(payer_id), _rejects_key(payer_id) + ":order"
    # Each distinct reason sentence once, the rows pointing at it: the sentences are long.
    reasons: dict[str, int] = {}
    rows = [[j.line, j.id_number, reasons.setdefault(j.reason, len(reasons))] for j in rejects]
    payload = json.dumps(
        {"at": int(now.timestamp()), "reasons": list(reasons), "rows": rows},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    pipe = r.pipeline(transaction=True)
    pipe.hset(key, token, payload)
    pipe.rpush(tokens, token)
    pipe.lrange(tokens, 0, -REJECTS_KEPT - 1)  # the older ones, to drop
    pipe.ltrim(tokens, -REJECTS_KEPT, -1)
    pipe.expire(key, REJECTS_TTL_S)
    pipe.expire(tokens, REJECTS_TTL_S)
    dropped = pipe.execute()[2]
    if dropped:
        r.hdel(key, *dropped)
    return token


def _cap_key(payer_id: int, now: datetime) -> str:
    return f"{trainee_tag(payer_id)}:group-ids:{local(now):%Y%m%d}"


def count_checked(r: redis.Redis, payer_id: int, numbers: list[str], now: datetime) -> None:
    """Count `numbers` toward the payer's daily cap, or raise 429 (counting nothing) past it."""
    if not numbers:
        return
    key = _cap_key(payer_id, now)
    script = r.register_script(_COUNT_SCRIPT)
    counted, _ = script(
        keys=[key, key + ":new"], args=[DAILY_DISTINCT_IDS, CAP_KEY_TTL_S, *numbers]
    )
    if not counted:
        today = local(now)
        midnight = day_start(today.date() + timedelta(days=1))
        raise TooManyRequests(
            f"今天核查的身份证号码已达上限（每个账号每天最多 {DAILY_DISTINCT_IDS} 个不同号码），"
            "请明天再提交；如需更多，请联系平台客服",
            code="group_daily_cap",
            cap=DAILY_DISTINCT_IDS,
            retry_after=max(int((midnight - today).total_seconds()), 1),
        )


def stored_rejects(r: redis.Redis, payer_id: int, token: str, now: datetime) -> list[Reject]:
    """The payer's error file `token`; 404 once it is older than a day or was dropped."""
    raw = r.hget(_rejects_key(payer_id), token)
    stored = json.loads(raw) if raw else None
    if stored is None or now.timestamp() - stored["at"] > REJECTS_TTL_S:
        raise NotFound("错误文件不存在或已过期，请重新提交", code="rejects_not_found")
    reasons = stored.get("reasons")
    if reasons is None:  # a file kept before the reasons were listed apart (its rows hold them)
        return [Reject(*row) for row in stored["rows"]]
    return [Reject(line, id_number, reasons[k]) for line, id_number, k in stored["rows"]]
