"""The notification worker against the sandbox over real HTTP: what reaches the inbox,
what is retried, given up or skipped, and that each row is sent once.

The events come from their real producer (`progress.completion.complete_chapter`); the
tests about claiming alone build the typed event (`wxapp.events`), never a payload dict.
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from models import Outbox, WechatBinding, db
from tests.conftest import serve
from tests.factories import enroll, make_binding, make_plan, make_trainee
from wxapp.events import ChapterLearned, CourseLearned
from wxapp.notifications import claims, signal
from wxapp.notifications.worker import Worker
from wxapp.outbox import add_event
from wxapp.progress.completion import complete_chapter
from wxapp.sandbox import oa_state
from wxapp.wechat.client import build_wechat_client

OPENID = "o_notify_trainee_000000000001"


def _trainee(app, openid: str | None = OPENID, name: str = "张三") -> int:
    with app.app_context():
        trainee = make_trainee(name=name)
        if openid:
            make_binding(trainee, openid)
        db.session.commit()
        return trainee.id


def _learn(app, trainee_id: int, *, chapters: int = 1, learned: int = 1) -> str:
    """A paid 60-学时 plan holding one 30-学时 course; `learned` of its `chapters` chapters
    completed by the progress engine's completion (the events' real producer), committed.
    Returns the course's title."""
    with app.app_context():
        now = app.extensions["clock"].now()
        plan = make_plan(required_hours=60, courses=1, course_hours="30", chapters=chapters)
        course = plan.courses[0].course
        enroll(trainee_id, plan.id, now)
        for chapter in course.chapters[:learned]:
            complete_chapter(trainee_id, chapter.id, course.id, [(0, 60)], 60, 60, plan.id, now)
        db.session.commit()
        return course.title


def _course_learned(app, trainee_id: int) -> str:
    """A course learned: a course_learned row (30/60 学时 of its plan) and the
    chapter_learned row of its one chapter, which is never pushed."""
    return _learn(app, trainee_id)


def _rows(app) -> list[Outbox]:
    """The rows of pushed events (chapter_learned rows are always skipped)."""
    with app.app_context():
        rows = (
            db.session.execute(
                sa.select(Outbox)
                .where(Outbox.event_type != ChapterLearned.event_type)
                .order_by(Outbox.id)
            )
            .scalars()
            .all()
        )
        db.session.expunge_all()
        return rows


def _worker(app, **kwargs) -> Worker:
    return Worker(app, app.extensions["wechat"], **kwargs)


def test_a_learned_course_sends_one_template_message(live_server):
    app = live_server.app
    trainee_id = _trainee(app)
    title = _course_learned(app, trainee_id)

    assert _worker(app).drain() == 2  # the course sent, its chapter skipped
    assert _worker(app).drain() == 0  # nothing left: a second run sends nothing again

    inbox = oa_state.inbox(app.extensions["redis"], OPENID)
    assert len(inbox) == 1
    message = inbox[0]
    assert message["template_id"] == app.config["WECHAT_TEMPLATE_COURSE"]
    assert message["url"] == f"{live_server.url}/auth/wechat?next=/h5/progress"
    assert message["data"] == {
        "thing1": {"value": title},
        "thing2": {"value": "30学时"},
        "thing3": {"value": "计划已完成30/60学时"},
    }
    [row] = _rows(app)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_a_killed_workers_claim_is_sent_once_by_another(live_server):
    app = live_server.app
    clock = app.extensions["clock"]
    _course_learned(app, _trainee(app))

    with app.app_context():  # worker A claims, then dies before sending
        jobs, _ = claims.claim_due(
            clock.now(),
            lease_s=app.config["NOTIFY_LEASE_S"],
            limit=10,
            pushed={"course_learned"},
            max_attempts=8,
        )
    assert len(jobs) == 1
    assert _worker(app).drain() == 0  # the claim still holds: nobody else sends it

    clock.advance(app.config["NOTIFY_LEASE_S"] + 1)
    assert _worker(app).drain() == 1  # worker B takes the expired claim
    assert _worker(app).drain() == 0
    assert len(oa_state.inbox(app.extensions["redis"], OPENID)) == 1
    with app.app_context():  # A's late outcome does not overwrite B's
        assert claims.mark_sent(jobs[0], clock.now()) is False
    [row] = _rows(app)
    assert row.status == "sent" and row.attempts == 2


def test_an_unsubscribed_users_message_is_given_up(live_server):
    app = live_server.app
    r = app.extensions["redis"]
    _course_learned(app, _trainee(app))
    oa_state.set_switches(r, unsubscribed=[OPENID])

    _worker(app).drain()

    [row] = _rows(app)
    assert row.status == "given_up"
    assert "43004" in row.last_error
    assert oa_state.inbox(r, OPENID) == []
    with app.app_context():  # later events for this openid are skipped without a call
        binding = db.session.execute(sa.select(WechatBinding)).scalar_one()
        assert binding.following is False


def test_system_busy_is_retried_later_then_sent(live_server):
    app = live_server.app
    r = app.extensions["redis"]
    clock = app.extensions["clock"]
    _course_learned(app, _trainee(app))
    oa_state.set_switches(r, fail_errcode=-1, fail_times=1)

    _worker(app).drain()
    [row] = _rows(app)
    assert row.status == "pending" and row.attempts == 1
    assert "-1" in row.last_error
    assert (row.next_attempt_at - clock.now()).total_seconds() == app.config["NOTIFY_BACKOFF_S"]
    assert oa_state.inbox(r, OPENID) == []

    assert _worker(app).drain() == 0  # not due yet
    clock.advance(app.config["NOTIFY_BACKOFF_S"])
    assert _worker(app).drain() == 1
    [row] = _rows(app)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert len(oa_state.inbox(r, OPENID)) == 1


def test_without_a_bound_openid_nothing_is_pushed_and_nothing_fails(live_server):
    app = live_server.app
    unbound = _trainee(app, openid=None, name="李四")
    unfollowed = _trainee(app, openid="o_notify_unfollowed_0000002", name="王五")
    with app.app_context():
        db.session.execute(sa.update(WechatBinding).values(following=False))
        db.session.commit()
    _course_learned(app, unbound)
    _course_learned(app, unfollowed)

    worker = _worker(app)
    assert worker.drain() == 4  # two courses, two chapters
    assert worker.counts["skipped"] == 4 and worker.counts["given_up"] == 0
    assert [row.status for row in _rows(app)] == ["skipped", "skipped"]
    assert oa_state.inbox(app.extensions["redis"], "o_notify_unfollowed_0000002") == []


def test_chapter_events_are_not_pushed(live_server):
    app = live_server.app
    trainee_id = _trainee(app)
    _learn(app, trainee_id, chapters=2, learned=1)  # a chapter learned, its course not yet
    _worker(app).drain()
    with app.app_context():
        rows = db.session.execute(sa.select(Outbox.event_type, Outbox.status)).all()
    assert rows == [("chapter_learned", "skipped")]
    assert oa_state.inbox(app.extensions["redis"], OPENID) == []


def test_two_concurrent_workers_never_send_a_row_twice(live_server):
    app = live_server.app
    trainee_id = _trainee(app)
    with app.app_context():
        for i in range(200):
            event = CourseLearned(course_id=i, course_title=f"课程{i}", hours=Decimal(1))
            add_event(event, trainee_id, app.extensions["clock"].now())
        db.session.commit()

    workers = [Worker(app, build_wechat_client(app), batch=7, name=f"w{n}") for n in range(2)]
    start = threading.Barrier(2)

    def run(worker: Worker) -> None:
        start.wait()
        worker.drain()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    titles = [m["data"]["thing1"]["value"] for m in oa_state.inbox(app.extensions["redis"], OPENID)]
    assert sorted(titles) == sorted(f"课程{i}" for i in range(200))  # each exactly once
    assert sum(w.counts["sent"] for w in workers) == 200
    assert {row.status for row in _rows(app)} == {"sent"}


def test_skip_locked_gives_concurrent_claims_disjoint_rows(live_server):
    app = live_server.app
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    trainee_id = _trainee(app)
    with app.app_context():
        for i in range(4):
            event = CourseLearned(course_id=i, course_title=f"课程{i}", hours=Decimal(1))
            add_event(event, trainee_id, app.extensions["clock"].now())
        db.session.commit()
        engine = db.engine
        now = app.extensions["clock"].now()
        due = (
            sa.select(Outbox.id)
            .where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
            .order_by(Outbox.id)
            .limit(2)
            .with_for_update(skip_locked=True)
        )
        with (
            engine.connect() as first,
            engine.connect() as second,
            first.begin(),
            second.begin(),
        ):
            a = first.execute(due).scalars().all()
            b = second.execute(due).scalars().all()  # does not wait for `first`
        assert len(a) == len(b) == 2 and not set(a) & set(b)


def test_a_waiting_worker_wakes_on_commit_not_on_the_poll(live_server):
    app = live_server.app
    trainee_id = _trainee(app)
    worker = Worker(app, build_wechat_client(app), poll_s=30)
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    try:
        assert worker.waiting.wait(10), "the worker never went idle"
        _course_learned(app, trainee_id)
        deadline = time.monotonic() + 5  # far below the 30 s fallback poll
        while not oa_state.inbox(app.extensions["redis"], OPENID) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(oa_state.inbox(app.extensions["redis"], OPENID)) == 1
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_an_idle_worker_keeps_listening_without_errors(live_server, caplog):
    """Idle for longer than one wait on the wake-up list (the Redis client's read timeout is
    as long as that wait by default): no error is logged and a push still leaves at once,
    not after a retry pause."""
    app = live_server.app
    trainee_id = _trainee(app)
    worker = Worker(app, build_wechat_client(app), poll_s=30)
    caplog.set_level(logging.WARNING, logger="wxapp.notifications.worker")
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    try:
        assert worker.waiting.wait(10), "the worker never went idle"
        time.sleep(app.config["REDIS_TIMEOUT_S"] + 1.5)
        assert worker.waiting.is_set(), [r.getMessage() for r in caplog.records]
        started = time.monotonic()
        _course_learned(app, trainee_id)
        while (
            not oa_state.inbox(app.extensions["redis"], OPENID) and time.monotonic() < started + 10
        ):
            time.sleep(0.05)
        took = time.monotonic() - started
    finally:
        worker.stop()
        thread.join(10)
    # The worker's own records: a sandbox thread of an earlier test (WeChat Pay's notifier
    # retrying a server that has stopped) may still log while this one waits.
    worker_logs = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("wxapp.notifications")
    ]
    assert worker_logs == []
    assert len(oa_state.inbox(app.extensions["redis"], OPENID)) == 1
    assert took < 4, took  # the old retry pause was 5 s


def test_the_cli_worker_once_sends_what_is_due(live_server):
    app = live_server.app
    _course_learned(app, _trainee(app))
    result = app.test_cli_runner().invoke(args=["notify", "worker", "--once", "--batch", "5"])
    assert result.exit_code == 0, result.output
    assert "发送 1" in result.output
    assert len(oa_state.inbox(app.extensions["redis"], OPENID)) == 1


def test_make_run_sends_from_a_worker_thread_in_the_web_process(base_config):
    with serve(base_config, NOTIFY_INPROCESS="1") as server:
        app = server.app
        worker = app.extensions["notify_worker"]
        try:
            _course_learned(app, _trainee(app))
            deadline = time.monotonic() + 10
            while not oa_state.inbox(app.extensions["redis"], OPENID):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert len(oa_state.inbox(app.extensions["redis"], OPENID)) == 1
        finally:
            worker.stop()
            signal.wake(app.extensions["redis"])
            worker.thread.join(10)
