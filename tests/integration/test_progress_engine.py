"""The progress engine on PostgreSQL and Redis: completions once each, write-behind without
loss, a Redis that forgot everything, and the Lua script agreeing with the pure core."""

import random
from decimal import Decimal

import pytest
import sqlalchemy as sa

from models import (
    ChapterProgress,
    CourseCompletion,
    Enrollment,
    Outbox,
    PlanCourse,
    TrainingPlan,
    db,
)
from tests.factories import (
    BeaconPlayer,
    enroll,
    make_learner,
    make_plan,
    make_trainee,
    session_cookie,
    sign_in,
)
from wxapp import events
from wxapp.accounts import session_ends, session_rules
from wxapp.orders import refunds
from wxapp.progress import completion, core, flusher, records
from wxapp.progress.records import upsert_chapters
from wxapp.progress.store import DIRTY, dirty_member, entitlement_key
from wxapp.progress.tracking import forget_entitlements, get_store


@pytest.fixture
def world(app, client, clock):
    """Plan of 60 学时: three 30-学时 courses of two 60 s chapters each."""
    with app.app_context():
        trainee, plan = make_learner(
            clock.now(), required_hours=60, courses=3, course_hours="30", chapter_seconds=60
        )
        db.session.commit()
        ids = {
            "trainee": trainee.id,
            "plan": plan.id,
            "courses": [pc.course_id for pc in plan.courses],
            "chapters": [[c.id for c in pc.course.chapters] for pc in plan.courses],
        }
    sign_in(client, ids["trainee"])
    return ids


def rows(app, model, **where):
    with app.app_context():
        query = sa.select(model).filter_by(**where)
        return db.session.execute(query).scalars().all()


def outbox(app):
    with app.app_context():
        return sorted(
            (o.event_type, o.subject) for o in db.session.execute(sa.select(Outbox)).scalars()
        )


def flush(app, clock):
    with app.app_context():
        return flusher.flush_all(get_store(app), clock.now())


def test_whole_plan_in_15_second_beacons_completes_each_thing_once(app, client, world, clock):
    started = clock.now()
    for course in world["chapters"][:2]:
        for chapter in course:
            replies = BeaconPlayer(client, chapter, clock, play_id=f"p{chapter}").watch(0, 60)
            assert all(r.status_code == 200 for r in replies)
            # Re-watching a learned chapter completes nothing again.
            BeaconPlayer(client, chapter, clock, play_id=f"again{chapter}").watch(0, 30)
    assert replies[-1].json["plan_done"]

    chapters = rows(app, ChapterProgress, trainee_id=world["trainee"])
    assert len(chapters) == 4 and all(c.completed_at is not None for c in chapters)
    assert all(started < c.completed_at <= clock.now() for c in chapters)
    courses = rows(app, CourseCompletion, trainee_id=world["trainee"])
    assert sorted(c.course_id for c in courses) == world["courses"][:2]
    (enrollment,) = rows(app, Enrollment, trainee_id=world["trainee"])
    assert float(enrollment.hours_done) == 60.0
    assert enrollment.completed_at is not None
    assert outbox(app) == sorted(
        [("chapter_learned", f"chapter:{c}") for course in world["chapters"][:2] for c in course]
        + [("course_learned", f"course:{c}") for c in world["courses"][:2]]
        + [("plan_completed", f"plan:{world['plan']}")]
    )
    with app.app_context():
        learned = [
            events.parse(row.event_type, row.payload)
            for row in db.session.execute(
                sa.select(Outbox)
                .where(Outbox.event_type.in_(["course_learned", "plan_completed"]))
                .order_by(Outbox.id)
            ).scalars()
        ]
        title = db.session.get(TrainingPlan, world["plan"]).title
    # The last course's push comes before the plan's, which ends with what the year lacks.
    assert [type(e) for e in learned] == [
        events.CourseLearned,
        events.CourseLearned,
        events.PlanCompleted,
    ]
    # Each course carries the plan's 学时 done and required, as the course message shows them.
    first, second = (e for e in learned if isinstance(e, events.CourseLearned))
    assert (first.course_id, first.hours) == (world["courses"][0], Decimal("30"))
    assert first.course_title.startswith("课程")
    assert first.plan == events.PlanProgress(world["plan"], title, Decimal("30"), 60)
    assert second.plan == events.PlanProgress(world["plan"], title, Decimal("60"), 60)
    [plan_done] = (e for e in learned if isinstance(e, events.PlanCompleted))
    assert (plan_done.plan_id, plan_done.hours_done, plan_done.required_hours) == (
        world["plan"],
        Decimal("60"),
        60,
    )

    # The third course still counts (自选: more than required is fine), the plan stays done once.
    for chapter in world["chapters"][2]:
        BeaconPlayer(client, chapter, clock, play_id=f"p{chapter}").watch(0, 60)
    (enrollment,) = rows(app, Enrollment, trainee_id=world["trainee"])
    assert float(enrollment.hours_done) == 90.0
    assert [e for e in outbox(app) if e[0] == "plan_completed"] == [
        ("plan_completed", f"plan:{world['plan']}")
    ]


def test_flushdb_mid_chapter_loses_nothing_flushed_and_no_completion(
    app, client, world, clock, redis_client
):
    done_chapter, chapter = world["chapters"][0]
    BeaconPlayer(client, done_chapter, clock, play_id="a").watch(0, 60)
    player = BeaconPlayer(client, chapter, clock, play_id="b")
    player.watch(0, 30)
    flush(app, clock)
    redis_client.flushdb()  # Redis restarted without persistence (FLUSHALL, for our index)

    resumed = client.get(f"/api/chapters/{chapter}/resume").json
    assert resumed["intervals"] == [[0, 30]] and resumed["position"] == 30
    assert client.get(f"/api/chapters/{done_chapter}/resume").json["chapter_done"]
    # The same player goes on: its play was forgotten, so its next beacon opens a new one.
    clock.advance(15)
    assert player.send(30, 45).json["watched_seconds"] == 30
    clock.advance(15)
    assert player.send(45, 60).json["watched_seconds"] == 45
    BeaconPlayer(client, done_chapter, clock, play_id="c").watch(0, 15)
    player = BeaconPlayer(client, chapter, clock, play_id="d")
    reply = player.watch(30, 60)[-1].json
    assert reply["chapter_done"] and reply["course_done"]
    kinds = [e[0] for e in outbox(app)]
    assert kinds.count("chapter_learned") == 2 and kinds.count("course_learned") == 1


def test_a_flusher_killed_between_read_and_write_loses_nothing(app, client, world, clock):
    chapter = world["chapters"][0][0]
    BeaconPlayer(client, chapter, clock).watch(0, 30)
    with app.app_context():
        store = get_store(app)
        batch = flusher.read_batch(store)
        assert batch.members == [dirty_member(world["trainee"], chapter)]
        # ... the process dies here: nothing written, nothing removed.
        del batch
        assert store.redis.sismember(DIRTY, dirty_member(world["trainee"], chapter))
        assert rows(app, ChapterProgress, trainee_id=world["trainee"]) == []
        assert flusher.flush_once(store, clock.now()) == 1
        assert not store.redis.sismember(DIRTY, dirty_member(world["trainee"], chapter))
    (row,) = rows(app, ChapterProgress, trainee_id=world["trainee"])
    assert row.intervals == [[0, 30]] and row.watched_seconds == 30 and row.position == 30


def test_a_failed_write_keeps_the_batch_dirty(app, client, world, clock):
    chapter = world["chapters"][0][0]
    BeaconPlayer(client, chapter, clock).watch(0, 30)
    with app.app_context():
        store = get_store(app)
        batch = flusher.read_batch(store)
        broken = flusher.Batch(batch.members, batch.states)
        # A chapter id the database refuses (foreign key) fails the whole upsert.
        broken.members.append(dirty_member(world["trainee"], 10**9))
        broken.states.append(batch.states[0])
        with pytest.raises(sa.exc.IntegrityError):
            flusher.write_batch(store, broken, clock.now())
        assert store.redis.sismember(DIRTY, dirty_member(world["trainee"], chapter))


def test_a_beacon_during_a_flush_stays_dirty(app, client, world, clock):
    chapter = world["chapters"][0][0]
    player = BeaconPlayer(client, chapter, clock)
    player.watch(0, 15)
    with app.app_context():
        store = get_store(app)
        batch = flusher.read_batch(store)
        clock.advance(15)
        player.send(15, 30)  # lands while the batch is being written
        flusher.write_batch(store, batch, clock.now())
        assert store.redis.sismember(DIRTY, dirty_member(world["trainee"], chapter))
        flusher.flush_all(store, clock.now())
    (row,) = rows(app, ChapterProgress, trainee_id=world["trainee"])
    assert row.watched_seconds == 30


def test_the_upsert_never_lowers_coverage(app, world, clock):
    tid, chapter = world["trainee"], world["chapters"][0][0]
    base = {"trainee_id": tid, "chapter_id": chapter, "updated_at": clock.now()}
    with app.app_context():
        upsert_chapters([{**base, "intervals": [[0, 40]], "watched_seconds": 40, "position": 40}])
        upsert_chapters([{**base, "intervals": [[0, 10]], "watched_seconds": 10, "position": 10}])
        db.session.commit()
    (row,) = rows(app, ChapterProgress, trainee_id=tid)
    assert row.intervals == [[0, 40]] and row.watched_seconds == 40


def test_a_failed_completion_write_is_retried_by_the_next_beacon(
    app, client, world, clock, monkeypatch
):
    chapter = world["chapters"][0][0]
    real = completion.complete_chapter
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database went away"))
        return real(*args, **kwargs)

    monkeypatch.setattr("wxapp.progress.tracking.complete_chapter", fails_once)
    replies = BeaconPlayer(client, chapter, clock).watch(0, 60)
    assert replies[-1].status_code == 503
    clock.advance(1)
    retry = BeaconPlayer(client, chapter, clock, play_id="p2")
    retry.send(59, 59)
    clock.advance(1)
    assert retry.send(59, 60).json["chapter_done"]
    assert [e[0] for e in outbox(app)] == ["chapter_learned"]


def expected_reply(app, clock, state, play_id, seq, start, end, **kwargs):
    """What the pure core says a 60 s chapter's beacon gets, with the app's settings."""
    return core.apply_beacon(
        state,
        play_id=play_id,
        seq=seq,
        start=start,
        end=end,
        position=end,
        now=clock.now().timestamp(),
        duration_s=60,
        slack_s=app.config["PROGRESS_SLACK_S"],
        ratio=app.config["PROGRESS_COMPLETE_RATIO"],
        **kwargs,
    )


def test_lua_script_agrees_with_the_pure_core(app, client, world, clock, redis_client):
    """Random beacons (seeks, speed-ups, replays, a second device) through both."""
    rng = random.Random(7)
    chapter, other = world["chapters"][0]
    players = {name: BeaconPlayer(client, chapter, clock, play_id=name) for name in "ab"}
    state, superseded = core.PlayState(), set()
    statuses = []
    order = ["a"] * 30 + ["b"] * 10 + ["a"] * 5
    for name in order:
        player = players[name]
        clock.advance(rng.choice([0, 0.5, 3, 15, 15, 15, 40]))
        start = rng.uniform(0, 60)
        end = min(60.0, start + rng.choice([0, 5, 15, 30]))
        if rng.random() < 0.15 and player.seq > 0:
            player.seq -= 1  # send the previous seq again: a replay
        reply = player.send(start, end)
        seq = player.seq
        expected = expected_reply(
            app, clock, state, name, seq, start, end, superseded=superseded, chapter_id=chapter
        )
        statuses.append(expected.status)
        if expected.status == "superseded":
            assert reply.status_code == 409
            continue
        assert reply.status_code == 200
        assert reply.json["watched_seconds"] == expected.watched_s
    resumed = client.get(f"/api/chapters/{chapter}/resume").json
    assert resumed["intervals"] == [list(iv) for iv in state.intervals or []]
    assert {"ok", "stale", "superseded"} <= set(statuses)  # every branch was taken
    assert 0 < core.covered(state.intervals) < 60
    assert client.get(f"/api/chapters/{other}/resume").json["intervals"] == []


def test_lua_script_agrees_with_the_pure_core_on_ended_sessions(app, world, clock):
    """Random logins, logouts and endings of every session, between beacons of several
    browsers: the script refuses exactly the beacons the core says have ended (401), and
    the rest as before (superseded plays, credit)."""
    rng = random.Random(11)
    tid, chapter = world["trainee"], world["chapters"][0][0]
    r = app.extensions["redis"]
    serializer = app.session_interface.get_signing_serializer(app)
    state, superseded = core.PlayState(), set()
    ended = session_rules.EndedSessions()  # the model of what Redis keeps
    browsers: list[tuple[BeaconPlayer, session_rules.SessionMark]] = []

    def new_browser() -> None:
        cookie = session_cookie(app, tid).split("=", 1)[1]
        client = app.test_client()
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        player = BeaconPlayer(client, chapter, clock, play_id=f"b{len(browsers)}")
        browsers.append((player, session_rules.mark_of(serializer.loads(cookie))))

    new_browser()
    new_browser()
    statuses = []
    for _ in range(100):
        clock.advance(rng.choice([0.5, 3, 15, 15, 40]))
        roll = rng.random()
        if roll < 0.12:
            new_browser()
        elif roll < 0.16:  # 退出登录 in one browser
            _, mark = rng.choice(browsers)
            with app.app_context():  # the ending is also kept in PostgreSQL
                session_ends.end_one(r, tid, mark, clock.now())
            ended = session_rules.EndedSessions(ended.epoch, ended.ended_ids | {mark.session_id})
        elif roll < 0.19:  # password change, unbind, 忘记密码
            with app.app_context():
                epoch = session_ends.end_all(r, tid, clock.now())
            now_ms = int(clock.now().timestamp() * 1000)
            assert epoch == session_rules.next_epoch(ended.epoch, now_ms)
            ended = session_rules.EndedSessions(epoch)
        player, mark = rng.choice(browsers[-3:])  # mostly the recent ones: some still live
        start = rng.uniform(0, 60)
        end = min(60.0, start + rng.choice([0, 5, 15]))
        if rng.random() < 0.15 and player.seq > 0:
            player.seq -= 1  # send the previous seq again: a replay
        reply = player.send(start, end)
        expected = expected_reply(
            app,
            clock,
            state,
            player.play_id,
            player.seq,
            start,
            end,
            superseded=superseded,
            chapter_id=chapter,
            session=mark,
            ended=ended,
        )
        statuses.append(expected.status)
        if expected.status == "ended":
            assert (reply.status_code, reply.json["error"]) == (401, "session_ended")
        elif expected.status == "superseded":
            assert reply.status_code == 409
        else:
            assert reply.status_code == 200, reply.json
            assert reply.json["watched_seconds"] == expected.watched_s
    assert {"ok", "stale", "superseded", "ended"} <= set(statuses), statuses  # every branch


def test_a_redis_that_lost_its_scripts_reloads_them(app, client, world, clock):
    with app.app_context():
        get_store(app)._beacon.sha = "0" * 40  # as after a restart: the sha is unknown
    replies = BeaconPlayer(client, world["chapters"][0][0], clock).watch(0, 30)
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert replies[-1].json["watched_seconds"] == 30


def test_a_refund_takes_effect_at_the_next_beacon(app, client, world, clock):
    chapter = world["chapters"][0][0]
    player = BeaconPlayer(client, chapter, clock)
    player.watch(0, 15)
    with app.app_context():
        db.session.execute(sa.update(Enrollment).values(status="refunded"))
        db.session.commit()
        forget_entitlements(world["trainee"])
    clock.advance(15)
    assert player.send(15, 30).status_code == 403


def test_a_refund_racing_a_beacons_entitlement_read_is_not_written_back(
    app, client, world, clock, redis_client, monkeypatch
):
    """A beacon reads the paid plans, the refund commits and drops the cache, then the
    beacon caches what it read: the refunded plan would go on being learned for the
    cache's hour. The refund fences the cache off, so the next beacon reads again."""
    chapter = world["chapters"][0][0]
    player = BeaconPlayer(client, chapter, clock)
    player.watch(0, 15)
    redis_client.delete(entitlement_key(world["trainee"]))  # the cached hour ran out
    read_paid_plans = records.paid_plans

    def refund_right_after_the_read(trainee_id):
        plans = read_paid_plans(trainee_id)
        db.session.execute(sa.update(Enrollment).values(status="refunded"))
        db.session.commit()
        refunds.forget_entitlements(redis_client, [trainee_id])
        monkeypatch.setattr(records, "paid_plans", read_paid_plans)
        return plans

    monkeypatch.setattr(records, "paid_plans", refund_right_after_the_read)
    clock.advance(15)
    player.send(15, 30)  # the beacon in flight at the refund
    clock.advance(15)
    assert player.send(30, 45).status_code == 403
    assert redis_client.hget(entitlement_key(world["trainee"]), f"p:{world['plan']}") is None


def test_a_refund_of_one_plan_leaves_the_trainees_other_paid_plan_to_learn(app, client, clock):
    """The refund drops the whole cache; the next beacon, in a plan still paid, reads the
    database afresh and learns on (before, a minute-long fence kept refusing to cache what it
    read, and every beacon of the other plan got 403 该课程不在您已购买的培训项目中)."""
    with app.app_context():
        trainee = make_trainee()
        refunded = make_plan(courses=1, chapters=1, chapter_seconds=300)
        kept = make_plan(kind="public", required_hours=30, courses=1, chapters=1)
        enroll(trainee.id, refunded.id, clock.now())
        enroll(trainee.id, kept.id, clock.now())
        db.session.commit()
        tid, refunded_id = trainee.id, refunded.id
        chapter = kept.courses[0].course.chapters[0].id
    sign_in(client, tid)
    player = BeaconPlayer(client, chapter, clock)
    player.watch(0, 15)
    with app.app_context():
        db.session.execute(
            sa.update(Enrollment)
            .where(Enrollment.trainee_id == tid, Enrollment.plan_id == refunded_id)
            .values(status="refunded")
        )
        db.session.commit()
        refunds.forget_entitlements(app.extensions["redis"], [tid])
    clock.advance(15)
    assert player.send(15, 30).status_code == 200
    clock.advance(15)
    assert player.send(30, 45).status_code == 200


def test_a_batch_is_written_by_one_multi_row_upsert(app, world, clock, redis_client):
    tid = world["trainee"]
    chapters = [c for course in world["chapters"] for c in course]
    with app.app_context():
        store = get_store(app)
        for i, chapter in enumerate(chapters):
            store.load_chapter(
                tid,
                chapter,
                duration=60,
                course_id=1,
                intervals=f"0,{i + 1}",
                watched=i + 1,
                position=i + 1,
                done=False,
            )
            redis_client.sadd(DIRTY, dirty_member(tid, chapter))
        statements = []

        def count(_conn, _cursor, statement, *_args):
            if "chapter_progress" in statement:
                statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert flusher.flush_once(store, clock.now()) == len(chapters)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO chapter_progress")
    stored = {r.chapter_id: r.watched_seconds for r in rows(app, ChapterProgress, trainee_id=tid)}
    assert stored == {c: i + 1 for i, c in enumerate(chapters)}


def test_the_upsert_works_on_sqlite_too(base_config, tmp_path):
    """`make run` uses SQLite: the same monotone upsert, completions kept."""
    from flask_migrate import upgrade

    from tests.conftest import app_with

    url = f"sqlite:///{tmp_path / 'progress.sqlite3'}"
    with app_with(base_config, DATABASE_URL=url) as sqlite_app, sqlite_app.app_context():
        upgrade()
        trainee = make_trainee()
        plan = make_plan(courses=1, chapters=1)
        chapter = plan.courses[0].course.chapters[0].id
        db.session.commit()
        clock = sqlite_app.extensions["clock"]
        base = {"trainee_id": trainee.id, "chapter_id": chapter, "updated_at": clock.now()}
        upsert_chapters([{**base, "intervals": [[0, 30]], "watched_seconds": 30, "position": 30}])
        upsert_chapters(
            [
                {
                    **base,
                    "intervals": [[0, 58]],
                    "watched_seconds": 58,
                    "position": 58,
                    "completed_at": clock.now(),
                }
            ]
        )
        upsert_chapters([{**base, "intervals": [[0, 5]], "watched_seconds": 5, "position": 5}])
        db.session.commit()
        row = db.session.get(ChapterProgress, (trainee.id, chapter))
        assert row.intervals == [[0, 58]] and row.watched_seconds == 58
        assert row.completed_at is not None and row.position == 5


def test_a_plan_bought_later_counts_courses_already_learned(app, client, world, clock):
    from wxapp.progress.completion import recount_enrollment

    for chapter in world["chapters"][0]:
        BeaconPlayer(client, chapter, clock, play_id=f"p{chapter}").watch(0, 60)
    with app.app_context():
        other = make_plan(required_hours=30, courses=0)
        other.courses.append(
            PlanCourse(plan_id=other.id, course_id=world["courses"][0], position=0)
        )
        enroll(world["trainee"], other.id, clock.now())
        other_id = other.id
        standing = recount_enrollment(world["trainee"], other_id, clock.now())
        db.session.commit()
        assert standing.hours_done == 30 and standing.completed
    assert ("plan_completed", f"plan:{other_id}") in outbox(app)
