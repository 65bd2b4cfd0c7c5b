"""POST /api/beacons and GET /api/chapters/<id>/resume over HTTP (test client)."""

import pytest
import sqlalchemy as sa

from models import Outbox, db
from tests.factories import BeaconPlayer, enroll, make_plan, make_trainee, sign_in
from wxapp.errors import FIELD_LABELS


@pytest.fixture
def world(app, clock):
    """A trainee enrolled in a plan (60 学时: two 30-学时 courses of two 60 s chapters)."""
    with app.app_context():
        trainee = make_trainee()
        plan = make_plan(required_hours=60, courses=3, course_hours="30", chapter_seconds=60)
        other = make_plan(courses=1)
        enroll(trainee.id, plan.id, clock.now())
        db.session.commit()
        return {
            "trainee": trainee.id,
            "plan": plan.id,
            "chapters": [[ch.id for ch in pc.course.chapters] for pc in plan.courses],
            "courses": [pc.course_id for pc in plan.courses],
            "other_chapter": other.courses[0].course.chapters[0].id,
            "other_plan": other.id,
        }


@pytest.fixture
def signed_in(client, world):
    sign_in(client, world["trainee"])
    return client


def test_beacons_need_a_session(client, world):
    res = client.post("/api/beacons", json={"chapter_id": world["chapters"][0][0]})
    assert res.status_code == 401


def test_reply_shape_and_first_beacon_credits_nothing(signed_in, world, clock):
    player = BeaconPlayer(signed_in, world["chapters"][0][0], clock)
    first = player.send(0, 10)
    assert first.status_code == 200
    assert first.json == {
        "chapter_id": world["chapters"][0][0],
        "watched_seconds": 0,
        "duration": 60,
        "percent": 0,
        "chapter_done": False,
        "course_done": False,
        "plan_id": world["plan"],
        "plan_hours_done": 0.0,
        "plan_hours_required": 60,
        "plan_done": False,
        "presence": None,
    }
    clock.advance(15)
    assert player.send(10, 25).json["watched_seconds"] == 15


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"chapter_id": None}, "chapter_id"),
        ({"chapter_id": "7"}, "chapter_id"),
        ({"chapter_id": 0}, "chapter_id"),
        ({"play_id": ""}, "play_id"),
        ({"play_id": "x" * 65}, "play_id"),
        ({"seq": -1}, "seq"),
        ({"seq": 1.5}, "seq"),
        ({"from": "a"}, "from"),
        ({"from": -1}, "from"),
        ({"to": None}, "to"),
        ({"position": -0.5}, "position"),
        ({"from": 20, "to": 10}, "from"),
        ({"to": 61}, "to"),  # past the end of a 60 s chapter
        ({"from": 60.5, "to": 61}, "from"),
        ({"position": 75}, "position"),
        ({"to": 10**400}, "to"),  # too large for a float: not a 500
        ({"position": -(10**400)}, "position"),
    ],
)
def test_malformed_beacons_are_422_naming_the_field(signed_in, world, change, field):
    body = {
        "chapter_id": world["chapters"][0][0],
        "play_id": "p",
        "seq": 0,
        "from": 0,
        "to": 10,
        "position": 10,
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    res = signed_in.post("/api/beacons", json=body)
    assert res.status_code == 422
    assert res.json["field"] == field
    assert FIELD_LABELS[field] in res.json["message"]  # as people say it: 章节, 播放起点


def test_non_json_body_is_422(signed_in):
    res = signed_in.post("/api/beacons", data="chapter_id=1")
    assert res.status_code == 422 and res.json["field"] == "body"


def test_unknown_chapter_is_404(signed_in):
    res = BeaconPlayer(signed_in, 987654).send(0, 0)
    assert res.status_code == 404
    assert signed_in.get("/api/chapters/987654/resume").status_code == 404


def test_chapter_outside_paid_plans_is_403_until_paid(app, signed_in, world, clock):
    player = BeaconPlayer(signed_in, world["other_chapter"], clock)
    res = player.send(0, 0)
    assert res.status_code == 403 and res.json["error"] == "not_enrolled"
    assert signed_in.get(f"/api/chapters/{world['other_chapter']}/resume").status_code == 403
    # The payment lands (the orders area calls grant_enrollment in its transaction) ...
    with app.app_context():
        enroll(world["trainee"], world["other_plan"], clock.now())
        db.session.commit()
    # ... and the very next beacon is accepted, although the cache said no a moment ago.
    res = player.send(0, 0)
    assert res.status_code == 200 and res.json["plan_id"] == world["other_plan"]


def test_a_second_player_takes_over_and_the_first_gets_409(signed_in, world, clock):
    chapter = world["chapters"][0][0]
    phone = BeaconPlayer(signed_in, chapter, clock, play_id="phone")
    laptop = BeaconPlayer(signed_in, chapter, clock, play_id="laptop")
    phone.watch(0, 15)
    assert laptop.send(15, 15).status_code == 200
    clock.advance(15)
    res = phone.send(15, 30)
    assert res.status_code == 409
    assert res.json["error"] == "superseded"
    assert res.json["message"].startswith("正在其他设备学习")
    assert laptop.send(15, 30).json["watched_seconds"] == 30


def test_resume_gives_position_and_intervals(signed_in, world, clock):
    chapter = world["chapters"][0][0]
    assert signed_in.get(f"/api/chapters/{chapter}/resume").json == {
        "chapter_id": chapter,
        "position": 0,
        "intervals": [],
        "watched_seconds": 0,
        "duration": 60,
        "percent": 0,
        "chapter_done": False,
    }
    player = BeaconPlayer(signed_in, chapter, clock)
    player.watch(0, 30)
    player.send(45, 45)  # a seek forward: a gap
    clock.advance(10)
    player.send(45, 55)
    res = signed_in.get(f"/api/chapters/{chapter}/resume").json
    assert res["position"] == 55
    assert res["intervals"] == [[0, 30], [45, 55]]
    assert res["watched_seconds"] == 40


def test_completions_are_in_the_reply(app, signed_in, world, clock):
    replies = []
    for chapter in world["chapters"][0]:
        replies += BeaconPlayer(signed_in, chapter, clock).watch(0, 60)
    last = replies[-1].json
    assert last["chapter_done"] and last["course_done"]
    assert last["plan_hours_done"] == 30.0 and not last["plan_done"]
    assert [r.json["chapter_done"] for r in replies].count(True) == 2  # the last of each
    for chapter in world["chapters"][1]:
        replies = BeaconPlayer(signed_in, chapter, clock, play_id=f"p{chapter}").watch(0, 60)
    assert replies[-1].json["plan_done"] and replies[-1].json["plan_hours_done"] == 60.0
    with app.app_context():
        kinds = [o.event_type for o in db.session.execute(db.select(Outbox)).scalars()]
    assert sorted(kinds) == sorted(
        ["chapter_learned"] * 4 + ["course_learned"] * 2 + ["plan_completed"]
    )


def test_a_warm_beacon_costs_no_database_query(app, signed_in, world, clock):
    player = BeaconPlayer(signed_in, world["chapters"][0][0], clock)
    player.send(0, 0)  # cold: the chapter and the entitlements are loaded once
    statements = []

    def count(*_args):
        statements.append(_args[2])

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            clock.advance(15)
            assert player.send(player.seq * 15, player.seq * 15 + 15).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert statements == []


def test_a_completion_lost_with_its_worker_is_written_by_the_flusher(
    app, signed_in, world, clock, monkeypatch
):
    """The worker dies between the beacon script (the chapter learned in Redis) and the
    completion's commit: no later beacon reports it again, and the flusher's next pass
    writes it, with its course's 学时 and one message each, never two."""
    from wxapp.progress import tracking
    from wxapp.progress.flusher import flush_all

    first, second = world["chapters"][0]
    BeaconPlayer(signed_in, first, clock, play_id="a").watch(0, 60)
    player = BeaconPlayer(signed_in, second, clock, play_id="b")
    player.watch(0, 45)
    store = tracking.get_store(app)

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")  # nothing after this point runs in a dead worker

    monkeypatch.setattr(tracking, "complete_chapter", killed)
    monkeypatch.setattr(store, "mark_undone", lambda *a: None)
    clock.advance(15)
    with pytest.raises(SystemExit):
        player.send(45, 60)
    monkeypatch.undo()
    for n in range(2):  # the trainee plays it again: shown learned, but nothing is written
        for reply in BeaconPlayer(signed_in, second, clock, play_id=f"r{n}").watch(0, 60):
            assert reply.status_code == 200 and not reply.json["course_done"]
    assert signed_in.get("/api/me/progress?year=2025").json["plans"][0]["hours_done"] == 0
    with app.app_context():
        flush_all(store, clock.now())
        flush_all(store, clock.now())  # a second pass finds it written
    plan = signed_in.get("/api/me/progress?year=2025").json["plans"][0]
    assert plan["hours_done"] == 30
    with app.app_context():
        kinds = [o.event_type for o in db.session.execute(db.select(Outbox)).scalars()]
    assert kinds.count("course_learned") == 1 and kinds.count("chapter_learned") == 2
