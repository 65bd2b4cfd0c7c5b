"""The beacon's own Redis round trip (wxapp/progress/wire.py) on the real Redis."""

from __future__ import annotations

import pytest
from redis.exceptions import ResponseError

from models import db
from tests.factories import BeaconPlayer, enroll, make_plan, make_trainee, sign_in
from wxapp.progress.service import get_store
from wxapp.progress.store import DIRTY
from wxapp.progress.wire import Wire


def test_an_error_reply_is_raised_after_every_reply_was_read(redis_client):
    wire = Wire(redis_client)
    redis_client.set("wire:text", "not a number")
    with pytest.raises(ResponseError):
        wire.call(("INCR", "wire:text"), ("SET", "wire:after", "1"))
    assert redis_client.get("wire:after") == "1"  # the command after the error still ran
    # and the connection went back in step: the next call reads its own replies
    assert wire.call(("INCR", "wire:n"), ("GET", "wire:after")) == [1, "1"]


def test_beacons_go_on_after_redis_drops_the_connection(app, client, clock, redis_client):
    with app.app_context():
        trainee = make_trainee()
        plan = make_plan(required_hours=60, courses=1, course_hours="30", chapter_seconds=60)
        enroll(trainee.id, plan.id, clock.now())
        db.session.commit()
        trainee_id, chapter = trainee.id, plan.courses[0].course.chapters[0].id
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
