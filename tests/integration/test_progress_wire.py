"""The beacon's own Redis round trip (wxapp/progress/wire.py) on the real Redis."""

from __future__ import annotations

import pytest
from redis.exceptions import ResponseError

from models import db
from tests.factories import BeaconPlayer, enroll, make_plan, make_trainee, sign_in
from wxapp.progress.store import DIRTY
from wxapp.progress.tracking import get_store
from wxapp.progress.wire import Wire


def test_an_error_reply_is_raised_after_every_reply_was_read(redis_client):
    wire = Wire(redis_client)
    redis_client.set("wire:text", "not a number")
    with pytest.raises(ResponseError):
        wire.call(("INCR", "wire:text"), ("SET", "wire:after", "1"))
    assert redis_client.get("wire:after") == "1"  # the command after the error still ran
    # and the connection went back in step: the next call reads its own replies
    assert wire.call(("INCR", "wire:n"), ("GET", "wire:after")) == [1, "1"]


def enrolled(app, clock, chapter_seconds: int) -> tuple[int, int]:
    """A trainee enrolled in a one-course plan: (trainee id, the first chapter's id)."""
    with app.app_context():
        trainee = make_trainee()
        plan = make_plan(
            required_hours=60, courses=1, course_hours="30", chapter_seconds=chapter_seconds
        )
        enroll(trainee.id, plan.id, clock.now())
        db.session.commit()
        return trainee.id, plan.courses[0].course.chapters[0].id


def test_beacons_go_on_after_redis_drops_the_connection(app, client, clock, redis_client):
    trainee_id, chapter = enrolled(app, clock, chapter_seconds=60)
    sign_in(client, trainee_id)
    player = BeaconPlayer(client, chapter, clock)
    assert [r.status_code for r in player.watch(0, 15)] == [200, 200]
    wire = get_store(app)._wire
    (conn,) = wire._free
    conn.send_command("CLIENT", "ID")
    redis_client.client_kill_filter(_id=conn.read_response())  # as a Redis restart would
    clock.advance(15)
    reply = player.send(15, 30)
    assert reply.status_code == 200
    assert reply.json["watched_seconds"] == 30
    assert redis_client.sismember(DIRTY, f"{trainee_id}:{chapter}")


def test_a_forked_worker_opens_its_own_connections(redis_client):
    """gunicorn forks workers from the master: no two processes may share a socket."""
    import os

    wire = Wire(redis_client)
    parent_id = wire.call(("CLIENT", "ID"))[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first call must not read from the parent's socket
        try:
            child_id = wire.call(("CLIENT", "ID"))[0]
            os.write(write, str(child_id).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child_id = int(os.read(read, 64).decode())
    os.close(read)
    assert child_id != parent_id
    assert wire.call(("CLIENT", "ID"))[0] == parent_id  # the parent keeps its own


def test_hot_state_expires_a_week_after_the_last_hour_of_learning(app, client, clock, redis_client):
    """Idle trainees' hot state leaves Redis; a learner's stays (renewed hourly, not per beacon)."""
    from wxapp.progress.store import STATE_TTL_S, chapter_key, play_key

    trainee_id, chapter = enrolled(app, clock, chapter_seconds=7200)
    sign_in(client, trainee_id)
    player = BeaconPlayer(client, chapter, clock)
    player.watch(0, 15)
    keys = [play_key(trainee_id), chapter_key(trainee_id, chapter)]
    assert all(STATE_TTL_S - 60 < redis_client.ttl(k) <= STATE_TTL_S for k in keys)
    for key in keys:
        redis_client.expire(key, 1000)  # as if a week had nearly gone by
    at = 15
    while clock.now().minute != 59:  # beacons within the same hour leave the TTL alone
        clock.advance(15)
        player.send(at, at + 15)
        at += 15
    assert all(redis_client.ttl(k) <= 1000 for k in keys)
    clock.advance(60)  # the next hour: the next beacon renews both
    assert player.send(at, at + 15).status_code == 200
    assert all(STATE_TTL_S - 60 < redis_client.ttl(k) <= STATE_TTL_S for k in keys)
