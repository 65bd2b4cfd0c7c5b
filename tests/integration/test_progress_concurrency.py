"""Races on real commits (live_app) with threads: players fighting over one trainee,
50 beacons for one chapter at once, and completions racing each other."""

import threading

import pytest
import sqlalchemy as sa

from models import Chapter, ChapterProgress, CourseCompletion, Outbox, db
from tests.factories import BeaconPlayer, enroll, make_plan, make_trainee, sign_in
from wxapp.infra import limits
from wxapp.infra.ratelimit import Limit
from wxapp.progress import core, flusher
from wxapp.progress.store import chapter_key
from wxapp.progress.tracking import get_store


def run_together(functions):
    """Start every function at the same moment on its own thread; return their results."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)
    errors = []

    def runner(i, fn):
        try:
            barrier.wait(10)
            results[i] = fn()
        except BaseException as exc:  # surfaced below, with its traceback
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def world(live_app):
    clock = live_app.extensions["clock"]
    with live_app.app_context():
        trainee = make_trainee()
        plan = make_plan(required_hours=30, courses=2, course_hours="30", chapter_seconds=60)
        long = make_plan(courses=1, chapters=1, chapter_seconds=510)
        enroll(trainee.id, plan.id, clock.now())
        enroll(trainee.id, long.id, clock.now())
        db.session.commit()
        return {
            "trainee": trainee.id,
            "chapters": [[c.id for c in pc.course.chapters] for pc in plan.courses],
            "long_chapter": long.courses[0].course.chapters[0].id,
        }


def client_for(app, trainee_id):
    client = app.test_client()
    sign_in(client, trainee_id)
    return client


def test_two_concurrent_players_leave_exactly_one_in_control(live_app, world):
    clock = live_app.extensions["clock"]
    chapter = world["chapters"][0][0]
    players = [
        BeaconPlayer(client_for(live_app, world["trainee"]), chapter, clock, play_id=name)
        for name in ("phone", "tablet")
    ]
    opened = run_together([lambda p=p: p.send(0, 0).status_code for p in players])
    assert opened == [200, 200]  # each opened in turn; the later one took over
    clock.advance(15)
    for _ in range(3):
        codes = run_together([lambda p=p: p.send(0, 15).status_code for p in players])
        assert sorted(codes) == [200, 409]
        clock.advance(15)


def test_fifty_beacons_at_once_make_a_consistent_union(live_app, world, monkeypatch):
    """A cold chapter with durable progress, hit by 50 beacons of one play at the same time."""
    clock = live_app.extensions["clock"]
    live_app.config["PROGRESS_SLACK_S"] = 600  # the clamp is not what this test is about
    # Nor is the rate limit (30 a minute): 50 at once is the point here.
    monkeypatch.setattr(limits, "BEACON", Limit("beacon", 1000, 60))
    tid, chapter = world["trainee"], world["long_chapter"]
    with live_app.app_context():
        db.session.add(
            ChapterProgress(
                trainee_id=tid,
                chapter_id=chapter,
                intervals=[[500, 510]],
                watched_seconds=10,
                position=510,
                updated_at=clock.now(),
            )
        )
        db.session.commit()
    # The play is open on another chapter, so the 50 all credit and all find the chapter cold.
    opener = BeaconPlayer(client_for(live_app, tid), world["chapters"][0][0], clock)
    opener.send(0, 0)
    clock.advance(30)
    players = []
    for i in range(50):
        player = BeaconPlayer(client_for(live_app, tid), chapter, clock, play_id="play-1")
        player.seq = i  # sends seq i + 1: in arrival order, later ones may find theirs stale
        players.append((player, 10 * i))
    replies = run_together([lambda p=p, a=a: p.send(a, a + 10) for p, a in players])
    assert all(r.status_code == 200 for r in replies)

    redis = live_app.extensions["redis"]
    state = redis.hgetall(chapter_key(tid, chapter))
    intervals = core.decode(state["iv"])
    accepted = int(state["v"])  # the script counts the beacons it applied
    assert accepted >= 1
    # No lost update: every applied beacon added its own 10 seconds to the durable ten.
    assert int(state["w"]) == core.covered(intervals) == 10 + 10 * accepted
    assert (500, 510) in intervals or intervals[-1][1] == 510
    assert all(a % 10 == 0 and b % 10 == 0 for a, b in intervals)
    assert max(r.json["watched_seconds"] for r in replies) == int(state["w"])
    with live_app.app_context():
        flusher.flush_all(get_store(live_app), clock.now())
        row = db.session.get(ChapterProgress, (tid, chapter))
        assert [tuple(iv) for iv in row.intervals] == intervals


def test_racing_completions_complete_the_course_once(live_app, world):
    """Both chapters of a course finish at the same moment on two devices' beacons."""
    clock = live_app.extensions["clock"]
    tid = world["trainee"]
    live_app.config["PROGRESS_SLACK_S"] = 600
    first, second = world["chapters"][0]
    players = [
        BeaconPlayer(client_for(live_app, tid), first, clock, play_id="one"),
        BeaconPlayer(client_for(live_app, tid), second, clock, play_id="one"),
    ]
    players[0].send(0, 0)
    clock.advance(120)
    players[0].send(0, 50)
    players[1].send(0, 50)
    clock.advance(30)
    replies = run_together([lambda p=p: p.send(50, 60) for p in players])
    assert all(r.status_code == 200 and r.json["chapter_done"] for r in replies)
    assert any(r.json["course_done"] for r in replies)
    with live_app.app_context():
        events = db.session.execute(sa.select(Outbox.event_type, Outbox.subject)).all()
        completions = db.session.execute(sa.select(CourseCompletion)).scalars().all()
        course_id = db.session.get(Chapter, first).course_id
    assert sorted(e.event_type for e in events) == [
        "chapter_learned",
        "chapter_learned",
        "course_learned",
        "plan_completed",
    ]
    assert [c.course_id for c in completions] == [course_id]


def test_the_same_chapter_completed_by_racing_beacons_counts_once(live_app, world):
    clock = live_app.extensions["clock"]
    tid = world["trainee"]
    live_app.config["PROGRESS_SLACK_S"] = 600
    chapter = world["chapters"][1][0]
    base = BeaconPlayer(client_for(live_app, tid), chapter, clock)
    base.send(0, 0)
    clock.advance(120)
    base.send(0, 50)
    players = []
    for i in range(10):
        player = BeaconPlayer(client_for(live_app, tid), chapter, clock)
        player.seq = 1 + i
        players.append(player)
    replies = run_together([lambda p=p: p.send(50, 60) for p in players])
    assert all(r.status_code == 200 for r in replies)
    with live_app.app_context():
        events = db.session.execute(sa.select(Outbox.event_type)).scalars().all()
    assert events == ["chapter_learned"]


def test_make_run_flushes_in_process(base_config):
    """PROGRESS_INPROCESS_FLUSH (set by `make run`) starts a flusher thread in the server."""
    from tests.conftest import app_with, truncate_all

    with app_with(base_config, PROGRESS_INPROCESS_FLUSH="1") as app:
        try:
            with app.app_context():
                trainee = make_trainee()
                plan = make_plan(courses=1, chapters=1)
                chapter = plan.courses[0].course.chapters[0].id
                enroll(trainee.id, plan.id, app.extensions["clock"].now())
                db.session.commit()
                tid = trainee.id
            player = BeaconPlayer(client_for(app, tid), chapter, app.extensions["clock"])
            player.watch(0, 30)
            row = None
            for _ in range(100):  # the thread flushes every PROGRESS_FLUSH_S (0.2 s here)
                with app.app_context():
                    row = db.session.get(ChapterProgress, (tid, chapter))
                    db.session.remove()
                if row is not None and row.watched_seconds == 30:
                    break
                threading.Event().wait(0.1)
            assert row is not None and row.intervals == [[0, 30]]
        finally:
            app.extensions["progress_flusher_stop"].set()
            truncate_all(app)


def _racers(app, player, out, errors):
    """The two sides of a race on a chapter's last stretch, to run in threads named
    "request" and "flusher": the beacon that plays [45, 60] (its reply in `out`), and one
    pass of the flusher (what it raised, a deadlock say, in `errors`)."""
    clock = app.extensions["clock"]

    def request():
        clock.advance(15)
        out["reply"] = player.send(45, 60)

    def flush():
        try:
            with app.app_context():
                flusher.flush_all(get_store(app), clock.now())
        except BaseException as exc:
            errors.append(exc)

    return request, flush


def test_the_flusher_and_a_request_completing_the_same_chapter_do_not_deadlock(
    live_app, world, monkeypatch
):
    """The flusher's backstop meets a chapter whose request is still committing its
    completion (Redis already says learned, the database not yet). The request holds the
    trainee's lock; the flusher must not hold the chapter's row while it waits for that lock,
    or each waits for the other and PostgreSQL kills one (a beacon answered 503)."""
    from wxapp.progress import completion

    clock = live_app.extensions["clock"]
    client = client_for(live_app, world["trainee"])
    chapter = world["chapters"][0][0]
    player = BeaconPlayer(client, chapter, clock, play_id="p")
    player.watch(0, 45)
    locked, go_on = threading.Event(), threading.Event()
    real_upsert = completion.upsert_chapters

    def paused_upsert(rows):  # the request: trainee locked, its chapter row not written yet
        if threading.current_thread().name == "request":
            locked.set()
            assert go_on.wait(10)
        return real_upsert(rows)

    monkeypatch.setattr(completion, "upsert_chapters", paused_upsert)
    out, errors = {}, []
    request, flush = _racers(live_app, player, out, errors)
    asker = threading.Thread(target=request, name="request")
    asker.start()
    assert locked.wait(10)
    writer = threading.Thread(target=flush, name="flusher")
    writer.start()
    writer.join(0.5)  # the flusher now waits for the trainee's lock
    go_on.set()
    asker.join(20)
    writer.join(20)
    assert not errors, errors
    assert out["reply"].status_code == 200 and out["reply"].json["chapter_done"]
    with live_app.app_context():
        kinds = [o.event_type for o in db.session.execute(sa.select(Outbox)).scalars()]
        row = db.session.get(ChapterProgress, (world["trainee"], chapter))
    assert kinds.count("chapter_learned") == 1 and row.completed_at is not None


@pytest.mark.parametrize("first_in", ["request", "flusher"])
def test_a_request_and_the_flusher_completing_a_course_write_it_once(
    live_app, world, monkeypatch, first_in
):
    """The beacon that learns a course's last chapter, and the flusher's backstop finding
    that chapter learned in Redis and not in the database, complete it at the same moment;
    whichever takes the trainee's lock first writes it, the other finds it written: one
    completion of each kind, one push (course_learned), one plan completed."""
    from wxapp.progress import completion, tracking

    clock = live_app.extensions["clock"]
    tid = world["trainee"]
    client = client_for(live_app, tid)
    first, last = world["chapters"][0]
    BeaconPlayer(client, first, clock, play_id="a").watch(0, 60)
    player = BeaconPlayer(client, last, clock, play_id="b")
    player.watch(0, 45)
    scripted, locked, go_request, go_flusher = (threading.Event() for _ in range(4))
    real_complete, real_upsert = tracking.complete_chapter, completion.upsert_chapters

    def request_completes(*args, **kwargs):  # the request, after its script said "learned"
        if first_in == "flusher":
            scripted.set()
            assert go_request.wait(10)
        return real_complete(*args, **kwargs)

    writers = []

    def holding_the_lock(rows):  # whoever goes first: trainee locked, row not written yet
        writers.append(threading.current_thread().name)
        if threading.current_thread().name == first_in:
            locked.set()
            assert (go_flusher if first_in == "flusher" else go_request).wait(10)
        return real_upsert(rows)

    monkeypatch.setattr(tracking, "complete_chapter", request_completes)
    monkeypatch.setattr(completion, "upsert_chapters", holding_the_lock)
    out, errors = {}, []
    request, flush = _racers(live_app, player, out, errors)
    asker = threading.Thread(target=request, name="request")
    writer = threading.Thread(target=flush, name="flusher")
    asker.start()
    if first_in == "flusher":
        assert scripted.wait(10)  # Redis says learned; the request has not locked yet
        writer.start()
        assert locked.wait(10)  # the flusher holds the trainee
        go_request.set()
        asker.join(0.5)  # the request now waits for the trainee's lock
        go_flusher.set()
    else:
        assert locked.wait(10)  # the request holds the trainee
        writer.start()
        writer.join(0.5)  # the flusher now waits for the trainee's lock
        go_request.set()
    asker.join(20)
    writer.join(20)
    assert not errors, errors
    assert sorted(writers) == ["flusher", "request"]  # both went through the use case
    reply = out["reply"]
    assert reply.status_code == 200, reply.json
    assert reply.json["chapter_done"] and reply.json["course_done"]
    with live_app.app_context():
        kinds = sorted(o.event_type for o in db.session.execute(sa.select(Outbox)).scalars())
        completions = db.session.execute(sa.select(CourseCompletion)).scalars().all()
        row = db.session.get(ChapterProgress, (tid, last))
        course_id = db.session.get(Chapter, last).course_id
    assert kinds == ["chapter_learned", "chapter_learned", "course_learned", "plan_completed"]
    assert [c.course_id for c in completions] == [course_id]
    assert row.completed_at is not None and row.watched_seconds == 60
