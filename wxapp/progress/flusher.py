"""Write-behind: dirty chapters go from Redis to the database in batches.

A batch is read (members of the dirty set, then their hot state), written with ONE
multi-row monotone upsert in a transaction of its own, and only once that has committed
removed from the dirty set. A flusher killed anywhere before that leaves its chapters
dirty for the next one. Removal is followed by a version check: a chapter that changed
while the batch was in flight is marked dirty again, so no beacon's change is ever
dropped from the work list.

The learning record (学习记录) rides along: for each trainee in the batch, the plays the beacon
script keeps in the trainee's record hash are upserted (one multi-row statement) in the same
transaction, a play still going updated in place; the finished ones are then dropped from
Redis unless touched meanwhile, and a trainee whose record changed in flight is marked
dirty again, like a chapter.

It is also the backstop of the completions: a chapter Redis holds as learned whose row came
back from the upsert (RETURNING) without a completion time lost its request's completion (a
worker killed between the beacon script and the commit, or a commit that failed with no
beacon after it to retry). It is completed here after the batch's commit, through the
request's own use case, so within one flush interval and exactly once.

Runs as `flask --app wsgi progress flush` (production: one or more worker processes;
several are safe, the upsert never lowers coverage) or, for `make run`, as a thread in
the dev server when PROGRESS_INPROCESS_FLUSH is on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask

from models import db
from wxapp.infra.transaction import transaction
from wxapp.progress import core
from wxapp.progress.completion import complete_chapter
from wxapp.progress.learning_record import play_rows, upsert_plays
from wxapp.progress.records import upsert_chapters
from wxapp.progress.store import (
    DIRTY,
    ChapterState,
    ProgressStore,
    TraineeRecords,
    parse_member,
)
from wxapp.progress.tracking import get_store

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class Batch:
    members: list[str]
    states: list[ChapterState | None]
    records: list[TraineeRecords] = field(default_factory=list)  # of the members' trainees


def read_batch(store: ProgressStore, size: int = BATCH) -> Batch:
    """Up to `size` dirty chapters, their hot state and their trainees' learning records;
    nothing is removed yet."""
    members = store.redis.srandmember(DIRTY, size) or []
    keys = [parse_member(m) for m in members]
    states = store.chapter_states(keys) if members else []
    records = store.trainee_records(sorted({tid for tid, _ in keys}))
    return Batch(list(members), states, records)


def write_batch(store: ProgressStore, batch: Batch, now: datetime) -> int:
    """Upsert the batch in its own transaction, then clear what was written; returns the
    rows written. A failed batch is rolled back and stays dirty."""
    rows = []
    learned: dict[tuple[int, int], tuple[str, ChapterState]] = {}
    for member, state in zip(batch.members, batch.states, strict=True):
        if state is None:
            continue  # expired or lost with Redis: nothing newer than the database
        trainee_id, chapter_id = parse_member(member)
        intervals = core.decode(state.intervals)
        watched = core.covered(intervals)
        rows.append(
            {
                "trainee_id": trainee_id,
                "chapter_id": chapter_id,
                "intervals": [list(iv) for iv in intervals],
                "watched_seconds": watched,
                "position": state.position,
                "updated_at": now,
            }
        )
        # Learned as the script says (done), or by its coverage: a request whose completion
        # failed to commit set `done` back for the next beacon to retry, and none may come.
        if state.done or core.chapter_learned(watched, state.duration, store.ratio):
            learned[(trainee_id, chapter_id)] = (member, state)
    with transaction():
        incomplete = upsert_chapters(rows)  # the rows without a completion, from RETURNING
        upsert_plays(play_rows(batch.records))
    # After the batch's commit, each in a transaction of its own that takes the trainee's
    # lock before any row, as the request does.
    lost = {key: learned[key] for key in incomplete if key in learned}
    newly_learned, failed = _recover_completions(lost, now)
    for trainee_id in newly_learned:
        store.forget_entitlements(trainee_id)  # its 学时 changed: the next beacon re-reads
    written = [m for m in batch.members if m not in failed]
    if written:
        store.redis.srem(DIRTY, *written)
    if batch.members:
        _redirty_changed(store, batch)
        _redirty_records(store, batch)
    return len(rows)


def _recover_completions(
    lost: dict[tuple[int, int], tuple[str, ChapterState]], now: datetime
) -> tuple[set[int], set[str]]:
    """Complete the chapters Redis holds as learned and the database does not; returns the
    trainees whose course that completed, and the members whose completion failed (they
    stay dirty, and are tried again at the next pass).

    The beacon script marks a chapter learned before its request writes the completion; a
    worker killed in between (SIGKILL, OOM, a lost host) left it learned in Redis only, and
    no later beacon would report it again. The same use case as the request's, so a
    completion written meanwhile by the request is found and nothing is written twice. One
    chapter's failure does not hold up the others, nor the rest of the batch."""
    newly: set[int] = set()
    failed: set[str] = set()
    for trainee_id, chapter_id in sorted(lost):
        member, state = lost[(trainee_id, chapter_id)]
        intervals = core.decode(state.intervals)
        try:
            with transaction():
                done = complete_chapter(
                    trainee_id,
                    chapter_id,
                    state.course_id,
                    intervals,
                    core.covered(intervals),
                    state.position,
                    0,  # no plan on screen: the push names the first plan the course counts for
                    now,
                )
        except Exception:  # rolled back by transaction(); the chapter stays dirty
            log.exception(
                "completion of chapter %s by trainee %s not recovered; retrying",
                chapter_id,
                trainee_id,
            )
            failed.add(member)
            continue
        if done.chapter_newly:  # not a request's own commit landing meanwhile: a lost one
            log.warning(
                "completion of chapter %s by trainee %s recovered by the flusher",
                chapter_id,
                trainee_id,
            )
        if done.course_newly:
            newly.add(trainee_id)
    return newly, failed


def _redirty_records(store: ProgressStore, batch: Batch) -> None:
    """Drop the finished plays just written; a trainee whose record changed since it was
    read is marked dirty again (through one of its chapters in the batch)."""
    written = [r for r in batch.records if r.plays or r.version]
    versions = store.drop_written(written)
    changed = {r.trainee_id for r, now in zip(written, versions, strict=True) if now != r.version}
    if not changed:
        return
    again = {}
    for member in batch.members:
        again.setdefault(parse_member(member)[0], member)
    store.redis.sadd(DIRTY, *[again[tid] for tid in changed])


def _redirty_changed(store: ProgressStore, batch: Batch) -> None:
    written = [(m, s) for m, s in zip(batch.members, batch.states, strict=True) if s is not None]
    if not written:
        return
    now_states = store.chapter_states([parse_member(m) for m, _ in written])
    changed = [
        member
        for (member, before), after in zip(written, now_states, strict=True)
        if after is not None and after.version != before.version
    ]
    if changed:
        store.redis.sadd(DIRTY, *changed)


def flush_once(store: ProgressStore, now: datetime, size: int = BATCH) -> int:
    return write_batch(store, read_batch(store, size), now)


def flush_all(store: ProgressStore, now: datetime, size: int = BATCH) -> int:
    """Flush until the dirty set is drained (or a batch comes back short)."""
    total = 0
    while True:
        written = flush_once(store, now, size)
        total += written
        if written < size:
            return total


def run(app: Flask, stop: threading.Event, size: int = BATCH) -> None:
    """Flush at least every PROGRESS_FLUSH_S until `stop` is set; errors are logged, retried."""
    interval = app.config["PROGRESS_FLUSH_S"]
    clock = app.extensions["clock"]
    with app.app_context():
        store = get_store(app)
        while not stop.is_set():
            try:
                written = flush_once(store, clock.now(), size)
            except Exception:
                log.exception("progress flush failed; retrying")
                written = 0
            finally:
                db.session.remove()
            if written < size:
                stop.wait(interval)


def start_inprocess_flusher(app: Flask) -> threading.Thread | None:
    """For `make run`: a daemon flusher thread in the dev server (PROGRESS_INPROCESS_FLUSH)."""
    if not app.config.get("PROGRESS_INPROCESS_FLUSH"):
        return None
    stop = threading.Event()
    app.extensions["progress_flusher_stop"] = stop  # set it to end the thread
    thread = threading.Thread(target=run, args=(app, stop), name="progress-flusher", daemon=True)
    thread.start()
    return thread
