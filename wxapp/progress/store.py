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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import NoScriptError

from wxapp.accounts import session_ends
from wxapp.accounts.session_rules import NO_MARK, SessionMark
from wxapp.infra import limits
from wxapp.infra.redis_keys import trainee_tag
from wxapp.progress.core import NO_PRESENCE, RAND_HEX, PresenceRules
from wxapp.progress.wire import Wire

HERE = Path(__file__).resolve().parent
DIRTY = "progress:dirty"
# Hot state of an idle trainee goes away after a week; the database has it by then.
STATE_TTL_S = 7 * 24 * 3600
# Cached entitlements are re-read from the database at least this often (a cached "no" is
# always re-checked at once); a refund should call service.forget_entitlements.
ENTITLEMENT_TTL_S = 3600


def tag(trainee_id: int) -> str:
    return trainee_tag(trainee_id)


def play_key(trainee_id: int) -> str:
    return f"{tag(trainee_id)}:play"


def chapter_key(trainee_id: int, chapter_id: int) -> str:
    return f"{tag(trainee_id)}:ch:{chapter_id}"


def entitlement_key(trainee_id: int) -> str:
    return f"{tag(trainee_id)}:ent"


def superseded_key(trainee_id: int) -> str:
    return f"{tag(trainee_id)}:old"


def record_key(trainee_id: int) -> str:
    """The learning record of the trainee's plays not yet written (or still going)."""
    return f"{tag(trainee_id)}:rec"


def rate_key(trainee_id: int, now_s: float) -> str:
    """The beacon counter of the current window, by the app clock (tests move it)."""
    return f"{tag(trainee_id)}:rl:beacon:{int(now_s // limits.BEACON.window_s)}"


def dirty_member(trainee_id: int, chapter_id: int) -> str:
    return f"{trainee_id}:{chapter_id}"


def parse_member(member: str) -> tuple[int, int]:
    tid, cid = member.split(":", 1)
    return int(tid), int(cid)


STATE_FIELDS = ("iv", "w", "pos", "dur", "course", "done", "v")
# The learning record's fields of one play in one chapter, "<field>:<chapter>:<play id>".
RECORD_FIELDS = ("s", "e", "c", "qp", "qm", "d", "a")


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


@dataclass(frozen=True)
class PlayRecord:
    """One play of a chapter as the beacon script keeps it (times in epoch ms)."""

    chapter_id: int
    play_id: str
    started_ms: int
    ended_ms: int
    credited: int
    passed: int
    missed: int
    device: str
    address: str

    @property
    def suffix(self) -> str:
        return f":{self.chapter_id}:{self.play_id}"


@dataclass(frozen=True)
class TraineeRecords:
    """A trainee's learning record hash as read at once: its plays and its change count."""

    trainee_id: int
    plays: list[PlayRecord]
    version: int


@dataclass(frozen=True)
class ChapterState:
    intervals: str
    watched: int
    position: int
    duration: int
    course_id: int
    done: bool
    version: int


class ProgressStore:
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

    def chapter_state(self, trainee_id: int, chapter_id: int) -> ChapterState | None:
        return _state(self.redis.hmget(chapter_key(trainee_id, chapter_id), *STATE_FIELDS))

    def chapter_states(self, keys: list[tuple[int, int]]) -> list[ChapterState | None]:
        """Several chapters' hot state in one round trip (the flusher's batches)."""
        if not keys:
            return []
        if self._wire is None:  # Redis Cluster: one pipeline, split by node
            pipe = self.redis.pipeline(transaction=False)
            for tid, cid in keys:
                pipe.hmget(chapter_key(tid, cid), *STATE_FIELDS)
            return [_state(values) for values in pipe.execute()]
        replies = self._wire.call(
            *[("HMGET", chapter_key(tid, cid), *STATE_FIELDS) for tid, cid in keys]
        )
        return [_state(values) for values in replies]

    def trainee_records(self, trainee_ids: list[int]) -> list[TraineeRecords]:
        """Several trainees' learning record hashes in one round trip (the flusher's batches)."""
        if not trainee_ids:
            return []
        if self._wire is None:  # Redis Cluster: one pipeline, split by node
            pipe = self.redis.pipeline(transaction=False)
            for tid in trainee_ids:
                pipe.hgetall(record_key(tid))
            replies = pipe.execute()
        else:
            replies = [
                _pairs(flat)
                for flat in self._wire.call(*[("HGETALL", record_key(t)) for t in trainee_ids])
            ]
        return [_records(tid, fields) for tid, fields in zip(trainee_ids, replies, strict=True)]

    def drop_written(self, written: list[TraineeRecords]) -> list[int]:
        """After the flusher wrote these records: drop the finished plays (no longer the
        trainee's current play) unless a beacon touched them since, then answer each
        trainee's change count as it is now; one round trip (a pipeline, split by node on
        Redis Cluster)."""
        pipe = self.redis.pipeline(transaction=False)
        for records in written:
            keys = [play_key(records.trainee_id), record_key(records.trainee_id)]
            args: list[Any] = []
            for play in records.plays:
                args += [play.suffix, str(play.ended_ms)]
            if args:
                self._written(keys=keys, args=args, client=pipe)
        for records in written:
            pipe.hget(record_key(records.trainee_id), "v")
        replies = pipe.execute()
        return [int(v or 0) for v in replies[-len(written) :]] if written else []

    def mark_undone(self, trainee_id: int, chapter_id: int) -> None:
        """Let the next beacon complete the chapter again: its database write failed."""
        self.redis.hset(chapter_key(trainee_id, chapter_id), "done", 0)

    def set_entitlements(self, trainee_id: int, mapping: dict[str, Any]) -> None:
        key = entitlement_key(trainee_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        if mapping:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, ENTITLEMENT_TTL_S)
        pipe.execute()

    def forget_entitlements(self, trainee_id: int) -> None:
        self.redis.delete(entitlement_key(trainee_id))


def _pairs(flat: Any) -> dict[str, str]:
    """HGETALL through the wire: a flat list of field, value (RESP2) or already a dict."""
    if isinstance(flat, dict):
        return flat
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _records(trainee_id: int, fields: dict[str, str]) -> TraineeRecords:
    plays: dict[str, dict[str, str]] = {}
    for name, value in fields.items():
        kind, sep, suffix = name.partition(":")
        if sep and kind in RECORD_FIELDS:
            plays.setdefault(suffix, {})[kind] = value
    found = []
    for suffix, values in plays.items():
        if "s" not in values or "e" not in values:
            continue  # a count left behind by a play whose record is gone: nothing to show
        chapter, _, play_id = suffix.partition(":")
        found.append(
            PlayRecord(
                chapter_id=int(chapter),
                play_id=play_id,
                started_ms=int(values["s"]),
                ended_ms=int(values["e"]),
                credited=int(values.get("c", 0)),
                passed=int(values.get("qp", 0)),
                missed=int(values.get("qm", 0)),
                device=values.get("d", ""),
                address=values.get("a", ""),
            )
        )
    return TraineeRecords(trainee_id, found, int(fields.get("v", 0)))


def _state(values: list[Any]) -> ChapterState | None:
    iv, w, pos, dur, course, done, version = values
    if dur is None:
        return None
    return ChapterState(
        intervals=iv or "",
        watched=int(w or 0),
        position=int(pos or 0),
        duration=int(dur),
        course_id=int(course),
        done=done == "1",
        version=int(version or 0),
    )
