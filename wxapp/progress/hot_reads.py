"""Reading the hot progress state and learning records, and the flusher's calls on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from wxapp.progress.keys import RECORD_FIELDS, STATE_FIELDS, chapter_key, play_key, record_key
from wxapp.progress.wire import Wire


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


class FlushReads:
    """ProgressStore's reads of chapter state and learning records, and the flush side."""

    redis: redis.Redis
    _wire: Wire | None
    _written: Any

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
        Redis Cluster, where redis-py runs no script in a pipeline: there each trainee's is
        its own call)."""
        pipe = self.redis.pipeline(transaction=False)
        for records in written:
            keys = [play_key(records.trainee_id), record_key(records.trainee_id)]
            args: list[Any] = []
            for play in records.plays:
                args += [play.suffix, str(play.ended_ms)]
            if args:
                self._written(
                    keys=keys, args=args, client=self.redis if self._wire is None else pipe
                )
        for records in written:
            pipe.hget(record_key(records.trainee_id), "v")
        replies = pipe.execute()
        return [int(v or 0) for v in replies[-len(written) :]] if written else []

    def mark_undone(self, trainee_id: int, chapter_id: int) -> None:
        """Let the next beacon complete the chapter again: its database write failed."""
        self.redis.hset(chapter_key(trainee_id, chapter_id), "done", 0)


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
