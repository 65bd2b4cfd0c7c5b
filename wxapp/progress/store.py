"""The hot progress state in Redis: key names, the beacon script call, loading and reading.

Every key that belongs to a trainee carries the hash tag {t:<id>}, so the one script a
beacon runs touches a single Redis Cluster slot. The dirty set is global (the flusher's
work list); it is added to in the same round trip as the script, after it (a separate
command, so no script ever touches two slots), so a flusher that sees the member always
reads the state the beacon wrote. It is global because the flusher must find every dirty
chapter without scanning the keyspace; on Redis Cluster it lives on one master and costs
one SADD per beacon there (a second round trip, to that node), which one master carries
far beyond the learners one app core serves (docs/operations.md, sizing).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import NoScriptError

from wxapp.accounts import session_ends
from wxapp.accounts.session_rules import NO_MARK, SessionMark
from wxapp.infra import limits
from wxapp.progress.core import NO_PRESENCE, RAND_HEX, PresenceRules
from wxapp.progress.hot_reads import (
    ChapterState,
    FlushReads,
    PlayRecord,
    TraineeRecords,
)
from wxapp.progress.keys import (
    DIRTY,
    ENTITLEMENT_GENERATION_TTL_S,
    ENTITLEMENT_TTL_S,
    RECORD_FIELDS,
    STATE_FIELDS,
    STATE_TTL_S,
    chapter_key,
    dirty_member,
    entitlement_generation_key,
    entitlement_key,
    parse_member,
    play_key,
    rate_key,
    record_key,
    superseded_key,
    tag,
)
from wxapp.progress.wire import Wire

HERE = Path(__file__).resolve().parent

__all__ = [
    "DIRTY",
    "ENTITLEMENT_GENERATION_TTL_S",
    "ENTITLEMENT_TTL_S",
    "HERE",
    "RECORD_FIELDS",
    "STATE_FIELDS",
    "STATE_TTL_S",
    "ChapterState",
    "PlayRecord",
    "ProgressStore",
    "ScriptResult",
    "TraineeRecords",
    "chapter_key",
    "dirty_member",
    "drop_entitlements",
    "drop_entitlements_of",
    "entitlement_generation_key",
    "entitlement_key",
    "parse_member",
    "play_key",
    "rate_key",
    "record_key",
    "superseded_key",
    "tag",
]


@dataclass(frozen=True)
class ScriptResult:
    status: str
    watched: int = 0
    duration: int = 0
    done: bool = False
    newly: bool = False
    course_id: int | None = None
    plan_id: int | None = None
    plan_info: str = ""
    course_done: bool = False
    field: str = ""
    check_id: str = ""  # a presence check waiting for an answer, when not ""
    check_due_ms: int = 0
    entitlements_cached: bool = True  # with "nochapter": whether the trainee's are in Redis


# The entitlement cache written as one hash (KEYS[1]), only if the trainee's generation
# (KEYS[2]) is still ARGV[1], the one seen before the database was read.
_SET_ENTITLEMENTS = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if #ARGV > 2 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def drop_entitlements(pipe: Any, trainee_id: int) -> None:
    """Queue on `pipe` what drops the trainee's cached entitlements: a new generation first,
    so a reader that read the database before this cannot write its (stale) answer back
    after, then the cache itself. A reader that starts after reads afresh and may cache."""
    pipe.incr(entitlement_generation_key(trainee_id))
    pipe.expire(entitlement_generation_key(trainee_id), ENTITLEMENT_GENERATION_TTL_S)
    pipe.delete(entitlement_key(trainee_id))


DROP_BATCH = 1000


def drop_entitlements_of(client: Any, trainee_ids: Iterable[int]) -> None:
    """`drop_entitlements` for each trainee, a pipeline per DROP_BATCH of them (one key per
    command: on a cluster they span slots)."""
    ids = iter(trainee_ids)
    while batch := list(islice(ids, DROP_BATCH)):
        pipe = client.pipeline(transaction=False)
        for trainee_id in batch:
            drop_entitlements(pipe, trainee_id)
        pipe.execute()


class ProgressStore(FlushReads):
    """The Redis client and the registered scripts, built once per app."""

    def __init__(
        self,
        client: redis.Redis,
        slack_s: float,
        ratio: float,
        presence: PresenceRules = NO_PRESENCE,
    ):
        self.redis = client
        self.slack_s = slack_s
        self.ratio = ratio
        self.presence = presence
        self._beacon = client.register_script((HERE / "beacon.lua").read_text())
        self._load = client.register_script((HERE / "load_chapter.lua").read_text())
        self._answer = client.register_script((HERE / "presence.lua").read_text())
        self._written = client.register_script((HERE / "record_written.lua").read_text())
        self._set_entitlements = client.register_script(_SET_ENTITLEMENTS)
        # On Redis Cluster the script and the dirty mark live on different nodes: they go
        # through the cluster client, which routes each command to its slot's master.
        self._wire = None if isinstance(client, redis.RedisCluster) else Wire(client)

    def beacon(
        self,
        trainee_id: int,
        chapter_id: int,
        play_id: str,
        seq: int,
        start: float,
        end: float,
        position: float,
        now_s: float,
        session: SessionMark = NO_MARK,
        rand: str | None = None,
        device: str = "",
        address: str = "",
    ) -> ScriptResult:
        """Run the beacon script and mark the chapter dirty, in one round trip.

        `device` and `address` go into the learning record of the play when it opens in the
        chapter (the first beacon of the play there).

        The script first refuses ("ended") a beacon whose session (`session`, the mark of
        its cookie) has ended: the trainee's ended sessions (accounts.session_ends) share
        the trainee's hash tag, so they are read in the same call. `rand` (tests) replaces
        the server's randomness behind presence checks.
        """
        presence = self.presence
        keys = [
            play_key(trainee_id),
            chapter_key(trainee_id, chapter_id),
            entitlement_key(trainee_id),
            superseded_key(trainee_id),
            rate_key(trainee_id, now_s),
            session_ends.key(trainee_id),
            record_key(trainee_id),
        ]
        args = [
            play_id,
            seq,
            repr(start),
            repr(end),
            repr(position),
            f"{now_s:.3f}",
            math.floor(self.slack_s * 1000),
            repr(self.ratio),
            STATE_TTL_S,
            chapter_id,
            limits.BEACON.count,
            limits.BEACON.window_s,
            session.epoch,
            session_ends.ended_field(session.session_id),
            rand or secrets.token_hex(RAND_HEX // 2),
            presence.min_s,
            presence.max_s,
            math.floor(presence.answer_s * 1000),
            device,
            address,
        ]
        member = dirty_member(trainee_id, chapter_id)
        try:
            raw = self._beacon_call(keys, args, member)
        except NoScriptError:
            # Redis restarted (or SCRIPT FLUSH): load it once and go on. redis-py's own
            # pipeline support for scripts would ask SCRIPT EXISTS on every call instead.
            self._beacon.sha = self.redis.script_load(self._beacon.script)
            raw = self._beacon_call(keys, args, member)
        if len(raw) == 1:
            return ScriptResult(raw[0])
        if raw[0] == "nochapter":
            return ScriptResult(raw[0], entitlements_cached=bool(int(raw[1])))
        status, w, dur, done, newly, course, plan, info, cdone, field, *check = raw
        qid, qdue = check or ("", 0)  # refusals before the play is read carry no check
        return ScriptResult(
            status=status,
            watched=int(w),
            duration=int(dur),
            done=bool(int(done)),
            newly=bool(int(newly)),
            course_id=int(course),
            plan_id=int(plan),
            plan_info=info or "",
            course_done=bool(int(cdone)),
            field=field or "",
            check_id=qid or "",
            check_due_ms=int(qdue or 0),
        )

    def answer(
        self, trainee_id: int, play_id: str, check_id: str, now_s: float, rand: str | None = None
    ) -> str:
        """Answer a presence check (presence.lua): ok, paused, superseded or unknown.

        A counted answer (passed, or missed for being late) changed the learning record of
        the play in its chapter: that chapter is marked dirty for the flusher.
        """
        presence = self.presence
        status = self._answer(
            keys=[play_key(trainee_id), record_key(trainee_id)],
            args=[
                play_id,
                check_id,
                f"{now_s:.3f}",
                math.floor(presence.answer_s * 1000),
                rand or secrets.token_hex(RAND_HEX // 2),
                presence.min_s,
                presence.max_s,
            ],
        )
        if len(status) > 1 and status[1]:
            self.redis.sadd(DIRTY, dirty_member(trainee_id, int(status[1])))
        return str(status[0])

    def _beacon_call(self, keys: list[str], args: list[Any], member: str) -> list[Any]:
        if self._wire is None:  # Redis Cluster: the script, then the mark (see module doc)
            raw = self._beacon(keys=keys, args=args)
            self.redis.sadd(DIRTY, member)
            return raw
        raw, _ = self._wire.call(
            ("EVALSHA", self._beacon.sha, len(keys), *keys, *args), ("SADD", DIRTY, member)
        )
        return raw

    def load_chapter(
        self,
        trainee_id: int,
        chapter_id: int,
        *,
        duration: int,
        course_id: int,
        intervals: str,
        watched: int,
        position: int,
        done: bool,
    ) -> bool:
        """Seed the chapter's hot state from the database; False when it was already there."""
        loaded = self._load(
            keys=[chapter_key(trainee_id, chapter_id)],
            args=[duration, course_id, intervals, watched, position, int(done), STATE_TTL_S],
        )
        return bool(loaded)

    def entitlement_generation(self, trainee_id: int) -> str:
        """Read before the database: `set_entitlements` caches only if it has not changed."""
        value = self.redis.get(entitlement_generation_key(trainee_id))
        return value.decode() if isinstance(value, bytes) else str(value or "0")

    def set_entitlements(self, trainee_id: int, mapping: dict[str, Any], generation: str) -> bool:
        """Cache what was read of the trainee's paid plans, unless the cache was dropped since
        `generation` was read (a refund committed meanwhile): then the next beacon reads again.
        What was read is still the truth for the request that read it."""
        args: list[Any] = [generation, ENTITLEMENT_TTL_S]
        for field, value in mapping.items():
            args += [field, value]
        keys = [entitlement_key(trainee_id), entitlement_generation_key(trainee_id)]
        return bool(self._set_entitlements(keys=keys, args=args))

    def forget_entitlements(self, trainee_id: int) -> None:
        pipe = self.redis.pipeline(transaction=False)
        drop_entitlements(pipe, trainee_id)
        pipe.execute()
