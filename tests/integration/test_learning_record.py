"""The learning record (学习记录) on PostgreSQL and Redis: plays written by the flusher in
batches (never a write per beacon), a play flushed mid-way updated rather than duplicated,
presence checks passed and missed, device and address, and the retention prune."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import LearningPlay, db
from tests.factories import BeaconPlayer, make_learner, sign_in
from wxapp.progress import core, flusher, learning_record
from wxapp.progress.store import DIRTY, record_key
from wxapp.progress.tracking import get_store

IPHONE_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)


@pytest.fixture
def world(app, client, clock):
    """One trainee enrolled in a plan of two courses, two 60 s chapters each."""
    with app.app_context():
        trainee, plan = make_learner(clock.now(), courses=2, chapters=2, chapter_seconds=60)
        db.session.commit()
        ids = {
            "trainee": trainee.id,
            "plan": plan.id,
            "courses": [pc.course_id for pc in plan.courses],
            "chapters": [[c.id for c in pc.course.chapters] for pc in plan.courses],
        }
    sign_in(client, ids["trainee"])
    return ids


def plays(app, **where) -> list[LearningPlay]:
    with app.app_context():
        query = sa.select(LearningPlay).filter_by(**where).order_by(LearningPlay.started_at)
        found = db.session.execute(query).scalars().all()
        db.session.expunge_all()
        return found


def flush(app, clock) -> int:
    with app.app_context():
        return flusher.flush_all(get_store(app), clock.now())


def player(client, chapter, clock, play_id, user_agent=IPHONE_WECHAT, address="10.0.0.7"):
    client.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address})
    return BeaconPlayer(client, chapter, clock, play_id=play_id)


def test_plays_are_written_by_the_flusher_in_one_statement_not_per_beacon(
    app, client, world, clock
):
    (a, b), (c, _) = world["chapters"]
    started = clock.now()
    player(client, a, clock, "p1").watch(0, 60)
    player(client, b, clock, "p2", user_agent=WINDOWS_CHROME, address="10.0.0.8").watch(0, 30)
    player(client, c, clock, "p3").watch(0, 15)
    assert plays(app) == []  # eleven beacons, not one row: the database waits for the flusher

    statements = []

    def count(_conn, _cursor, statement, *_args):
        if "learning_plays" in statement:
            statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            flusher.flush_all(get_store(app), clock.now())
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("INSERT")

    rows = plays(app, trainee_id=world["trainee"])
    assert [(r.chapter_id, r.play_id, r.credited_seconds) for r in rows] == [
        (a, "p1", 60),
        (b, "p2", 30),
        (c, "p3", 15),
    ]
    first = rows[0]
    assert first.started_at == started and first.ended_at == started + timedelta(seconds=60)
    assert (first.device, first.address) == ("iPhone 微信", "10.0.0.7")
    assert (rows[1].device, rows[1].address) == ("Windows 浏览器", "10.0.0.8")
    assert all((r.checks_passed, r.checks_missed) == (0, 0) for r in rows)


def test_a_play_flushed_mid_way_is_updated_not_duplicated(app, client, world, clock):
    chapter = world["chapters"][0][0]
    watching = player(client, chapter, clock, "p1")
    watching.watch(0, 30)
    flush(app, clock)
    (row,) = plays(app)
    assert row.credited_seconds == 30
    clock.advance(15)
    watching.send(30, 45)
    clock.advance(15)
    watching.send(45, 60)
    flush(app, clock)
    (row,) = plays(app)
    assert row.credited_seconds == 60 and row.ended_at == clock.now()
    # The play still going stays in Redis (the next flush updates the same row again)...
    assert get_store(app).redis.hlen(record_key(world["trainee"])) > 1


def test_a_superseded_play_is_final_and_leaves_redis(app, client, world, clock):
    chapter = world["chapters"][0][0]
    player(client, chapter, clock, "phone").watch(0, 30)
    flush(app, clock)
    clock.advance(5)
    player(client, chapter, clock, "desktop", user_agent=WINDOWS_CHROME).watch(30, 60)
    flush(app, clock)
    phone, desktop = plays(app)
    assert (phone.play_id, phone.credited_seconds, phone.device) == ("phone", 30, "iPhone 微信")
    assert (desktop.play_id, desktop.credited_seconds) == ("desktop", 30)
    assert desktop.device == "Windows 浏览器"
    fields = get_store(app).redis.hkeys(record_key(world["trainee"]))
    assert not [f for f in fields if f.endswith(":phone")]  # written, then dropped
    assert [f for f in fields if f.endswith(":desktop")]  # still the current play


def test_a_play_moving_between_chapters_has_a_row_per_chapter(app, client, world, clock):
    a, b = world["chapters"][0]
    first = player(client, a, clock, "p1")
    first.watch(0, 30)
    moved = BeaconPlayer(client, b, clock, play_id="p1")  # the same play, the next chapter
    moved.seq = -1
    moved.watch(0, 15)
    flush(app, clock)
    back = BeaconPlayer(client, a, clock, play_id="p1")
    back.seq = first.seq
    back.watch(30, 45)
    flush(app, clock)
    rows = {r.chapter_id: r for r in plays(app)}
    assert rows[a].credited_seconds == 45 and rows[b].credited_seconds == 15
    assert len(plays(app)) == 2


def test_a_beacon_during_a_flush_is_not_lost_from_the_record(app, client, world, clock):
    chapter = world["chapters"][0][0]
    watching = player(client, chapter, clock, "p1")
    watching.watch(0, 15)
    with app.app_context():
        store = get_store(app)
        batch = flusher.read_batch(store)
        clock.advance(15)
        watching.send(15, 30)  # lands while the batch is being written
        flusher.write_batch(store, batch, clock.now())
        assert store.redis.scard(DIRTY) == 1
        flusher.flush_all(store, clock.now())
    (row,) = plays(app)
    assert row.credited_seconds == 30


def test_presence_checks_passed_and_missed_are_recorded(app, client, world, clock):
    get_store(app).presence = core.PresenceRules(min_s=20, max_s=20, answer_s=60)
    chapter = world["chapters"][0][0]
    watching = player(client, chapter, clock, "p1")
    watching.send(0, 0)
    clock.advance(15)
    watching.send(0, 15)
    clock.advance(10)
    check = watching.send(15, 25).json["presence"]
    assert check is not None
    answered = client.post("/api/presence", json={"play_id": "p1", "check_id": check["check_id"]})
    assert answered.status_code == 200
    flush(app, clock)  # the answer alone marks the record dirty
    (row,) = plays(app)
    assert (row.checks_passed, row.checks_missed, row.credited_seconds) == (1, 0, 20)

    clock.advance(15)
    watching.send(25, 40)
    clock.advance(15)
    assert watching.send(40, 55).json["presence"] is not None
    clock.advance(61)  # nobody there
    assert watching.send(55, 60).json["error"] == "presence_missed"
    flush(app, clock)
    (row,) = plays(app)
    assert (row.checks_passed, row.checks_missed) == (1, 1)
    with app.app_context():
        record = learning_record.record_for(world["trainee"], world["courses"][0])
    (shown,) = record["courses"][0]["chapters"][0]["plays"]
    assert (shown["checks_passed"], shown["checks_missed"]) == (1, 1)


def test_a_check_missed_when_a_new_play_opens_counts_for_the_old_play(app, client, world, clock):
    get_store(app).presence = core.PresenceRules(min_s=20, max_s=20, answer_s=60)
    chapter = world["chapters"][0][0]
    watching = player(client, chapter, clock, "old")
    watching.send(0, 0)
    clock.advance(15)
    watching.send(0, 15)
    clock.advance(10)
    assert watching.send(15, 25).json["presence"] is not None
    clock.advance(120)
    player(client, chapter, clock, "new").send(20, 20)
    flush(app, clock)
    old, new = plays(app)
    assert (old.play_id, old.checks_missed) == ("old", 1)
    assert (new.play_id, new.checks_missed) == ("new", 0)


def test_record_for_lists_each_chapter_with_its_plays_and_totals(app, client, world, clock):
    a, b = world["chapters"][0]
    player(client, a, clock, "p1").watch(0, 60)
    clock.advance(60)
    player(client, a, clock, "p2", user_agent=WINDOWS_CHROME).watch(0, 15)
    flush(app, clock)
    with app.app_context():
        record = learning_record.record_for(world["trainee"], world["courses"][0])
        everything = learning_record.record_for(world["trainee"])
    (course,) = record["courses"]
    assert [ch["id"] for ch in course["chapters"]] == [a, b]
    first, second = course["chapters"]
    assert [p["device"] for p in first["plays"]] == [
        "Windows 浏览器",
        "iPhone 微信",
    ]  # newest first
    assert first["totals"] == {
        "plays": 2,
        "watched_seconds": 75,  # p2 watched 0-15 again...
        "credited_seconds": 60,  # ...which credits nothing more
        "hours": 0.0,
        "checks_passed": 0,
        "checks_missed": 0,
    }
    assert second["plays"] == [] and second["totals"]["plays"] == 0
    assert [c["id"] for c in everything["courses"]] == [world["courses"][0]]
    assert everything["totals"]["plays"] == 2


def test_prune_deletes_plays_older_than_the_retention(app, client, world, runner, clock):
    a, b = world["chapters"][0]
    player(client, a, clock, "old").watch(0, 30)
    flush(app, clock)
    clock.advance(3 * 365 * 86400)
    player(client, b, clock, "newer").watch(0, 30)
    flush(app, clock)
    clock.advance(2 * 365 * 86400 + 5 * 86400)  # the first play is now more than 5 years old
    assert app.config["LEARNING_RECORD_RETENTION_YEARS"] == 5
    result = runner.invoke(args=["progress", "prune-records"])
    assert result.exit_code == 0, result.output
    assert "已删除 1 条 5 年前的学习记录" in result.output
    assert [p.play_id for p in plays(app)] == ["newer"]
    # The 学时 behind it stay: pruning touches only the detail of each play.
    assert client.get(f"/api/chapters/{a}/resume").json["watched_seconds"] == 30
    result = runner.invoke(args=["progress", "prune-records", "--years", "1"])
    assert "已删除 1 条 1 年前的学习记录" in result.output
    assert plays(app) == []
    refused = runner.invoke(args=["progress", "prune-records", "--years", "0"])
    assert refused.exit_code != 0


def test_retention_cutoff_is_calendar_years():
    from datetime import UTC, datetime

    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert learning_record.retention_cutoff(leap, 5) == datetime(2023, 2, 28, 12, tzinfo=UTC)
    assert learning_record.retention_cutoff(datetime(2030, 6, 1, tzinfo=UTC), 5) == datetime(
        2025, 6, 1, tzinfo=UTC
    )
