"""A completion whose request never wrote it: what the trainee sees after the flusher's pass.

The beacon script marks a chapter learned in Redis before its request writes the completion
to the database. A worker that dies in between (SIGKILL, OOM, a lost host), or a commit that
fails when the trainee then stops watching, must not cost the trainee the chapter, the
course's 学时 or the push telling them so."""

import pytest
import sqlalchemy as sa

from models import ChapterProgress, CourseCompletion, Outbox, db
from tests.factories import BeaconPlayer, make_learner, sign_in
from wxapp.progress.flusher import flush_all
from wxapp.progress.tracking import get_store


@pytest.fixture
def learner(app, client, clock):
    """One plan (60 学时 required) with one 30-学时 course of two 60 s chapters."""
    with app.app_context():
        trainee, plan = make_learner(clock.now(), courses=1, chapters=2, chapter_seconds=60)
        db.session.commit()
        ids = {
            "trainee": trainee.id,
            "plan": plan.id,
            "course": plan.courses[0].course_id,
            "chapters": [c.id for c in plan.courses[0].course.chapters],
        }
    sign_in(client, ids["trainee"])
    return ids


def outbox(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(Outbox.event_type, Outbox.subject).order_by(Outbox.id)
            ).all()
        ]


def my_course(client) -> tuple[float, dict]:
    """The plan's 学时 done and its one course as 我的进度 shows them."""
    plan = client.get("/api/me/progress?year=2025").json["plans"][0]
    return plan["hours_done"], plan["courses"][0]


def assert_learned_once(app, client, learner):
    """What the trainee notices: the chapter and the course learned, the 学时 counted, and
    one push (course_learned) telling them so; one completion of each kind."""
    hours, course = my_course(client)
    assert hours == 30.0
    assert course["state"] == "learned"
    assert [ch["percent"] for ch in course["chapters"]] == [100, 100]
    second = learner["chapters"][1]
    with app.app_context():
        row = db.session.get(ChapterProgress, (learner["trainee"], second))
        assert row.watched_seconds == 60 and row.completed_at is not None
        completions = db.session.execute(
            sa.select(CourseCompletion.course_id).where(
                CourseCompletion.trainee_id == learner["trainee"]
            )
        ).scalars()
        assert list(completions) == [learner["course"]]
    events = outbox(app)
    assert [e for e in events if e[0] == "course_learned"] == [
        ("course_learned", f"course:{learner['course']}")
    ]
    assert events.count(("chapter_learned", f"chapter:{second}")) == 1


def test_a_worker_dying_between_script_and_commit_loses_no_completion(app, client, clock, learner):
    first, second = learner["chapters"]
    BeaconPlayer(client, first, clock, play_id="a").watch(0, 60)
    player = BeaconPlayer(client, second, clock, play_id="b")
    player.watch(0, 45)
    clock.advance(15)
    store = get_store(app)
    # The script ran (the chapter is learned in Redis); the worker died before the request
    # wrote anything to the database.
    raw = store.beacon(
        learner["trainee"], second, "b", player.seq + 1, 45, 60, 60, clock.now().timestamp()
    )
    assert raw.newly
    for n in range(3):  # the trainee plays it again: no beacon reports it learned anew
        for reply in BeaconPlayer(client, second, clock, play_id=f"r{n}").watch(0, 60):
            assert reply.status_code == 200 and not reply.json["course_done"]
    assert my_course(client)[0] == 0.0

    with app.app_context():
        flush_all(store, clock.now())  # the flusher's next pass
    assert_learned_once(app, client, learner)
    # The next beacon shows the course done (its cached 学时 were dropped), and later passes
    # of the flusher write nothing twice.
    clock.advance(15)
    again = BeaconPlayer(client, second, clock, play_id="later").watch(0, 15)
    assert again[-1].json["course_done"] and again[-1].json["plan_hours_done"] == 30.0
    with app.app_context():
        flush_all(store, clock.now())
        flush_all(store, clock.now())
    assert_learned_once(app, client, learner)


def test_a_failed_completion_commit_is_written_by_the_flusher_if_no_beacon_follows(
    app, client, clock, learner, monkeypatch
):
    """The completion's transaction fails (the database went away for a moment): the request
    answers 503 and sets the chapter back to unlearned in Redis so that the next beacon
    retries. The trainee watched to the end and closed the page: no next beacon comes."""
    from wxapp.progress import tracking

    first, second = learner["chapters"]
    BeaconPlayer(client, first, clock, play_id="a").watch(0, 60)

    def database_gone(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database went away"))

    monkeypatch.setattr(tracking, "complete_chapter", database_gone)
    replies = BeaconPlayer(client, second, clock, play_id="b").watch(0, 60)
    assert replies[-1].status_code == 503
    monkeypatch.undo()
    assert my_course(client)[0] == 0.0

    with app.app_context():
        flush_all(get_store(app), clock.now())
        flush_all(get_store(app), clock.now())
    assert_learned_once(app, client, learner)


def test_the_flushers_check_rides_on_its_upsert(app, client, clock, learner):
    """The backstop costs the flusher no query of its own: whether the database has each
    chapter's completion comes back from the batch's one upsert (RETURNING), and a batch of
    chapters already completed writes nothing else."""
    first, second = learner["chapters"]
    for n, chapter in enumerate((first, second)):
        BeaconPlayer(client, chapter, clock, play_id=f"p{n}").watch(0, 60)
    for n, chapter in enumerate((first, second)):  # watched again: dirty, learned, recorded
        BeaconPlayer(client, chapter, clock, play_id=f"q{n}").watch(0, 30)
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert flush_all(get_store(app), clock.now()) == 2
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    chapter_statements = [s for s in statements if "chapter_progress" in s]
    assert len(chapter_statements) == 1
    assert chapter_statements[0].startswith("INSERT INTO chapter_progress")


def test_one_failed_recovery_holds_up_nothing_else(app, client, clock, learner, monkeypatch):
    """A completion the flusher cannot write (here: a database error) is logged and its
    chapter stays dirty for the next pass; the rest of the batch is written and cleared."""
    from wxapp.progress import flusher
    from wxapp.progress.keys import DIRTY, dirty_member

    first, second = learner["chapters"]
    store = get_store(app)
    for n, chapter in enumerate((first, second)):
        player = BeaconPlayer(client, chapter, clock, play_id=f"p{n}")
        player.watch(0, 45)
        clock.advance(15)
        now = clock.now().timestamp()
        raw = store.beacon(learner["trainee"], chapter, f"p{n}", player.seq + 1, 45, 60, 60, now)
        assert raw.newly  # and the worker died, twice
    real = flusher.complete_chapter

    def first_fails(trainee_id, chapter_id, *args):
        if chapter_id == first:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database went away"))
        return real(trainee_id, chapter_id, *args)

    monkeypatch.setattr(flusher, "complete_chapter", first_fails)
    with app.app_context():
        assert flusher.flush_once(store, clock.now()) == 2
    assert store.redis.smembers(DIRTY) == {dirty_member(learner["trainee"], first)}
    assert [e for e in outbox(app) if e[0] != "chapter_learned"] == []
    monkeypatch.undo()
    with app.app_context():
        flush_all(store, clock.now())
    assert not store.redis.smembers(DIRTY)
    assert_learned_once(app, client, learner)
