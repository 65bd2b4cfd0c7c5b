"""Ending sessions: what Redis keeps of a trainee's ended sessions, and the endings.

One hash per trainee, `{t:<id>}:sess` (the trainee's hash tag, so the beacon's script can
read it on the same Redis Cluster slot): `ep`, the session epoch, and `x:<session id>` for
each session ended one by one. The rule that reads it is session_rules.is_ended.

- `end_all`: every session of the trainee (password change, unbind, and the coming
  忘记密码). The caller then starts the current browser a fresh session, if it keeps one.
- `end_one`: this browser's session only (退出登录); a cookie without a session id
  (signed before ids existed) cannot be told apart, so every session of the trainee ends,
  as it does past MAX_ENDED sessions ended one by one.

The hash expires KEEP_S after its last ending: by then every cookie it ended is older than
the longest session lifetime allowed, and the sessions still alive carry the current epoch
or a later one, which a missing hash (epoch 0) never refuses. A bump also drops the ended
ids: the new epoch ends those sessions anyway.

Each ending is also kept in PostgreSQL (`SessionEnd`, in the ending's transaction): Redis
can lose it (a failover to an asynchronous replica, a restore of an older copy, a flush),
and a lost ending lets the cookies it ended back in until they expire. `restore` writes the
kept endings back: all of them after such a loss, the last minutes' every few minutes
(`flask sessions restore`, docs/operations.md).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa

from models import SessionEnd, db
from wxapp.accounts.session_rules import (
    EPOCH,
    MAX_LIFETIME_DAYS,
    SESSION_ID,
    TRAINEE,
    EndedSessions,
    SessionMark,
    is_ended,
    mark_of,
)
from wxapp.infra.redis_keys import trainee_tag
from wxapp.infra.transaction import end_read, transaction

ENDED_PREFIX = "x:"
# Sessions ended one by one that the hash keeps; past them a logout ends every session of
# the trainee (one epoch), so logging in and out in a loop cannot grow one Redis key (and
# the restore's one script call) without bound. A person logging out twice a day stays
# well under it within the hash's 32 days.
MAX_ENDED = 100
KEEP_S = (MAX_LIFETIME_DAYS + 1) * 24 * 3600

# session_rules.next_epoch, atomically: max(stored + 1, now in ms); the ended ids go.
_BUMP = """
local stored = tonumber(redis.call('HGET', KEYS[1], 'ep')) or 0
local epoch = math.max(stored + 1, tonumber(ARGV[1]))
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'ep', string.format('%.0f', epoch))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return epoch
"""


def key(trainee_id: int) -> str:
    return f"{trainee_tag(trainee_id)}:sess"


def ended_field(session_id: str) -> str:
    return ENDED_PREFIX + session_id


def read(r: redis.Redis, trainee_id: int, session_id: str = "") -> EndedSessions:
    """The stored epoch, and whether `session_id` was ended (one command)."""
    epoch, ended = r.hmget(key(trainee_id), "ep", ended_field(session_id))
    return EndedSessions(int(epoch or 0), frozenset([session_id] if ended else []))


def has_ended(r: redis.Redis, opened: Mapping[str, Any]) -> bool:
    """Whether an opened session of a trainee was ended (False without a trainee)."""
    trainee_id = opened.get(TRAINEE)
    if not isinstance(trainee_id, int):
        return False
    mark = mark_of(opened)
    return is_ended(mark, read(r, trainee_id, mark.session_id))


def new_session(r: redis.Redis, trainee_id: int) -> dict[str, Any]:
    """The fields a new session's cookie carries: the current epoch and a fresh id."""
    return {EPOCH: read(r, trainee_id).epoch, SESSION_ID: secrets.token_urlsafe(6)}


def end_all(r: redis.Redis, trainee_id: int, now: datetime) -> int:
    """End every session of the trainee; the new epoch (start the current one again)."""
    bump = r.register_script(_BUMP)
    epoch = int(bump(keys=[key(trainee_id)], args=[int(now.timestamp() * 1000), KEEP_S]))
    _keep(trainee_id, now, epoch=epoch)
    return epoch


def end_one(r: redis.Redis, trainee_id: int, mark: SessionMark, now: datetime) -> None:
    """End the session `mark` names (every session, for a cookie without an id)."""
    if not mark.session_id:
        end_all(r, trainee_id, now)
        return
    pipe = r.pipeline(transaction=True)
    pipe.hset(key(trainee_id), ended_field(mark.session_id), 1)
    pipe.expire(key(trainee_id), KEEP_S)
    pipe.hlen(key(trainee_id))
    fields = pipe.execute()[-1]
    if fields > MAX_ENDED:  # the ended ids (and `ep`)
        end_all(r, trainee_id, now)
        return
    _keep(trainee_id, now, session_id=mark.session_id)


def end_this_session(r: redis.Redis, opened: Mapping[str, Any], now: datetime) -> None:
    """退出登录: end the opened session, if it is a trainee's."""
    trainee_id = opened.get(TRAINEE)
    if isinstance(trainee_id, int):
        end_one(r, trainee_id, mark_of(opened), now)


# A kept ending written back (restore): the epoch only goes up, the ended ids are added,
# and the hash is kept at least as long as the newest of them needs.
_RESTORE = """
local stored = tonumber(redis.call('HGET', KEYS[1], 'ep')) or 0
if tonumber(ARGV[1]) > stored then
  redis.call('HSET', KEYS[1], 'ep', ARGV[1])
end
for i = 3, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], 1)
end
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def _keep(
    trainee_id: int, now: datetime, *, epoch: int | None = None, session_id: str = ""
) -> None:
    """The ending's copy in PostgreSQL, in the caller's transaction (or one of its own)."""
    with transaction():
        db.session.add(
            SessionEnd(
                trainee_id=trainee_id, epoch=epoch, session_id=session_id or None, ended_at=now
            )
        )


@dataclass(frozen=True)
class Restored:
    trainees: int
    endings: int
    pruned: int


def restore(
    r: redis.Redis,
    now: datetime,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Restored:
    """Write the kept endings back into Redis: those since `since`, or every one still in
    force. Run after Redis lost data (every ending), and every few minutes for the last
    ones (what a failover to an asynchronous replica can lose). Idempotent: an epoch never
    goes down and an ended id is ended once. Copies no longer needed are deleted first."""
    oldest = now - timedelta(seconds=KEEP_S)
    with transaction():
        pruned = db.session.execute(
            sa.delete(SessionEnd).where(SessionEnd.ended_at < oldest)
        ).rowcount
    rows = db.session.execute(
        sa.select(
            SessionEnd.trainee_id, SessionEnd.epoch, SessionEnd.session_id, SessionEnd.ended_at
        )
        .where(SessionEnd.ended_at >= max(since or oldest, oldest))
        .order_by(SessionEnd.trainee_id, SessionEnd.id)
        .execution_options(yield_per=1000)
    )
    script = r.register_script(_RESTORE)
    trainees = endings = 0
    for trainee_id, group in itertools.groupby(rows, key=lambda row: row.trainee_id):
        epoch, ended, newest = 0, [], oldest
        for row in group:
            endings += 1
            newest = max(newest, row.ended_at)
            if row.epoch is not None:  # every session before it ended: the ids before go
                epoch, ended = max(epoch, row.epoch), []
            else:
                ended.append(ended_field(row.session_id))
        keep = max(1, KEEP_S - int((now - newest).total_seconds()))
        script(keys=[key(trainee_id)], args=[epoch, keep, *ended])
        trainees += 1
        if progress is not None and trainees % 1000 == 0:
            progress(trainees)
    end_read()
    return Restored(trainees, endings, pruned)
