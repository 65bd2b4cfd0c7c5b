"""GET /api/me/progress: the year's 学时, each plan's 计划完成度, started courses and chapters."""

import pytest
import sqlalchemy as sa

from models import db
from tests.factories import BeaconPlayer, enroll, make_plan, make_trainee, sign_in
from wxapp.progress.flusher import flush_all
from wxapp.progress.tracking import get_store


@pytest.fixture
def learner(app, client, clock):
    with app.app_context():
        trainee = make_trainee()
        specialist = make_plan(kind="specialist", required_hours=60, courses=3, course_hours="30")
        public = make_plan(kind="public", required_hours=30, courses=2, course_hours="15")
        last_year = make_plan(year=2024, courses=1)
        for plan in (specialist, public, last_year):
            enroll(trainee.id, plan.id, clock.now())
        db.session.commit()
        ids = {
            "trainee": trainee.id,
            "specialist": specialist.id,
            "public": public.id,
            "chapters": {
                pc.course_id: [c.id for c in pc.course.chapters]
                for plan in (specialist, public)
                for pc in plan.courses
            },
            "spec_courses": [pc.course_id for pc in specialist.courses],
            "public_courses": [pc.course_id for pc in public.courses],
        }
    sign_in(client, ids["trainee"])
    return ids


def count_queries(app):
    counter = {"n": 0}

    def before(_conn, _cursor, statement, *_args, **_kwargs):
        # The tests' app wraps each request in a savepoint: count only the service's SQL.
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
            counter["n"] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    return counter, lambda: sa.event.remove(engine, "before_cursor_execute", before)


def flush(app, clock):
    with app.app_context():
        flush_all(get_store(app), clock.now())


def test_progress_of_the_year(app, client, learner, clock):
    first = learner["spec_courses"][0]
    for chapter in learner["chapters"][first]:
        BeaconPlayer(client, chapter, clock, play_id=f"p{chapter}").watch(0, 60)
    second = learner["public_courses"][1]
    player = BeaconPlayer(client, learner["chapters"][second][0], clock, play_id="q")
    player.watch(0, 15)
    flush(app, clock)
    clock.advance(15)
    player.send(15, 30)

    res = client.get("/api/me/progress?year=2025")
    assert res.status_code == 200
    body = res.json
    assert body["year"] == 2025
    assert body["totals"]["specialist"] == {
        "name": "专业科目",
        "done": 30.0,
        "counted": 30.0,
        "surplus": 0.0,
        "short": 30.0,
        "required": 60,
        "met": False,
    }
    assert body["totals"]["public"]["done"] == 0.0
    assert body["totals"]["shortfall"] == "还差 公需 30 学时、专业 30 学时"
    assert body["years"] == [2025, 2024]  # every year with a plan, the one shown included
    plans = {p["id"]: p for p in body["plans"]}
    assert set(plans) == {learner["specialist"], learner["public"]}  # 2024 is another year
    spec = plans[learner["specialist"]]
    assert (spec["required_hours"], spec["hours_done"], spec["percent"]) == (60, 30.0, 50)
    assert [c["id"] for c in spec["courses"]] == [first]  # only courses started
    course = spec["courses"][0]
    assert course["state"] == "learned" and course["hours"] == 30.0
    assert [ch["percent"] for ch in course["chapters"]] == [100, 100]
    pub = plans[learner["public"]]
    assert pub["percent"] == 0
    started = pub["courses"][0]
    assert started["state"] == "learning"
    # The last beacon is not flushed yet: chapters are read from the hot state too.
    assert [ch["percent"] for ch in started["chapters"]] == [50, 0]


def test_default_year_is_this_year_in_china(client, learner):
    assert client.get("/api/me/progress").json["year"] == 2025


def test_bad_year_is_422(client, learner):
    res = client.get("/api/me/progress?year=abc")
    assert res.status_code == 422 and res.json["field"] == "year"


def test_query_count_does_not_grow_with_courses(app, client, learner, clock):
    def queries_for_progress():
        counter, stop = count_queries(app)
        try:
            assert client.get("/api/me/progress?year=2025").status_code == 200
        finally:
            stop()
        return counter["n"]

    BeaconPlayer(client, learner["chapters"][learner["spec_courses"][0]][0], clock).watch(0, 15)
    flush(app, clock)
    one_course = queries_for_progress()
    for course in learner["spec_courses"][1:] + learner["public_courses"]:
        for chapter in learner["chapters"][course]:
            BeaconPlayer(client, chapter, clock, play_id=f"c{chapter}").watch(0, 15)
    flush(app, clock)
    many_courses = queries_for_progress()
    assert many_courses == one_course
    assert one_course == 2  # the plans held, the started courses with their chapters


def test_first_beacon_after_my_progress_reads_only_its_chapter(app, client, learner, clock):
    """我的进度 caches the entitlements it read: the year-end arrival (我的进度, then the
    player's first beacon) asks the database for the chapter alone."""
    with app.app_context():
        get_store(app).redis.flushdb()
    assert client.get("/api/me/progress?year=2025").status_code == 200
    counter, stop = count_queries(app)
    try:
        chapter = learner["chapters"][learner["spec_courses"][0]][0]
        BeaconPlayer(client, chapter, clock, play_id="arrival").watch(0, 15)
    finally:
        stop()
    assert counter["n"] == 1


def test_first_cold_beacon_reads_chapter_and_entitlements_in_one_visit(app, client, learner, clock):
    with app.app_context():
        get_store(app).redis.flushdb()
    counter, stop = count_queries(app)
    try:
        chapter = learner["chapters"][learner["spec_courses"][0]][0]
        replies = BeaconPlayer(client, chapter, clock, play_id="cold").watch(0, 15)
    finally:
        stop()
    assert replies[-1].json["watched_seconds"] == 15
    assert counter["n"] == 2  # the chapter, then the plans held (one query)


def test_my_progress_after_a_refund_does_not_entitle_again(app, client, learner, clock):
    """A refunded trainee replays 我的进度 (which now fills the entitlement cache) and then
    the player's beacon: the cache it writes comes from the database, so the beacon is
    refused and the refunded plan is no longer shown."""
    from models import Enrollment, EnrollmentStatus
    from wxapp.orders.refunds import forget_entitlements

    chapter = learner["chapters"][learner["spec_courses"][0]][0]
    assert client.get("/api/me/progress?year=2025").status_code == 200  # caches "entitled"
    assert BeaconPlayer(client, chapter, clock, play_id="before").send(0, 0).status_code == 200
    with app.app_context():  # the refund's effect, as orders.refunds writes it
        db.session.execute(
            sa.update(Enrollment)
            .where(
                Enrollment.trainee_id == learner["trainee"],
                Enrollment.plan_id == learner["specialist"],
            )
            .values(status=EnrollmentStatus.REFUNDED)
        )
        db.session.commit()
        forget_entitlements(get_store(app).redis, [learner["trainee"]])
    shown = client.get("/api/me/progress?year=2025").get_json()
    assert learner["specialist"] not in [p["id"] for p in shown["plans"]]
    refused = BeaconPlayer(client, chapter, clock, play_id="after").send(0, 0)
    assert refused.status_code == 403 and refused.get_json()["error"] == "not_enrolled"
