"""防挂机 presence checks over the API: the beacon reply carries a check when it falls due,
nothing is credited until POST /api/presence answers it from the same play, and a check
left unanswered past PRESENCE_ANSWER_S pauses the play until a new one resumes."""

from __future__ import annotations

import pytest

from models import db
from tests.factories import BeaconPlayer, make_learner, sign_in
from wxapp.config import load_config
from wxapp.progress import core
from wxapp.progress.tracking import get_store, presence_rules


@pytest.fixture
def chapter(app, client, clock):
    get_store(app).presence = core.PresenceRules(min_s=30, max_s=30, answer_s=60)
    with app.app_context():
        trainee, plan = make_learner(clock.now(), courses=1, chapters=1, chapter_seconds=200)
        db.session.commit()
        chapter_id, trainee_id = plan.courses[0].course.chapters[0].id, trainee.id
    sign_in(client, trainee_id)
    return chapter_id


def play_to_check(client, chapter, clock, play_id="a"):
    player = BeaconPlayer(client, chapter, clock, play_id=play_id)
    player.send(0, 0)
    clock.advance(15)
    assert player.send(0, 15).json["presence"] is None  # not told in advance
    clock.advance(20)
    reply = player.send(15, 35).json
    return player, reply


def answer(client, play_id, check_id):
    return client.post("/api/presence", json={"play_id": play_id, "check_id": check_id})


def test_a_check_stops_credit_until_it_is_answered(client, chapter, clock):
    player, reply = play_to_check(client, chapter, clock)
    check = reply["presence"]
    assert reply["watched_seconds"] == 30  # credited up to the moment it fell due
    assert set(check) == {"check_id", "due", "answer_by"} and len(check["check_id"]) == 12
    clock.advance(15)
    waiting = player.send(35, 50).json
    assert waiting["watched_seconds"] == 30 and waiting["presence"] == check
    assert answer(client, "a", "not-it").status_code == 404
    clock.advance(5)
    ok = answer(client, "a", check["check_id"])
    assert ok.status_code == 200 and ok.json == {"ok": True}
    assert answer(client, "a", check["check_id"]).status_code == 200  # a second tap
    clock.advance(15)
    resumed = player.send(50, 65).json
    assert resumed["watched_seconds"] == 45 and resumed["presence"] is None


def test_a_script_silent_through_the_check_gets_no_credit_for_the_wait(client, chapter, clock):
    player, reply = play_to_check(client, chapter, clock)
    assert reply["watched_seconds"] == 30
    clock.advance(58)  # nothing sent while the check waits, then answered just in time
    assert answer(client, "a", reply["presence"]["check_id"]).status_code == 200
    clock.advance(1)
    after = player.send(35, 100).json  # the whole wait claimed as played
    assert after["watched_seconds"] == 36  # 1 s since the answer, plus the 5 s of slack


def test_an_unanswered_check_pauses_the_play_until_it_is_resumed(client, chapter, clock):
    player, reply = play_to_check(client, chapter, clock)
    clock.advance(61)
    paused = player.send(35, 50)
    assert paused.status_code == 409 and paused.json["error"] == "presence_missed"
    assert "继续学习" in paused.json["message"]
    late = answer(client, "a", reply["presence"]["check_id"])
    assert late.status_code == 409 and late.json["error"] == "presence_missed"
    clock.advance(1)
    assert player.send(50, 51).status_code == 409  # still paused
    again = BeaconPlayer(client, chapter, clock, play_id="b")  # 继续学习: a new play
    assert again.send(35, 35).json["presence"] is None
    clock.advance(15)
    assert again.send(35, 50).json["watched_seconds"] == 45


def test_a_new_play_does_not_escape_the_check(client, chapter, clock):
    _, reply = play_to_check(client, chapter, clock)
    other = BeaconPlayer(client, chapter, clock, play_id="b")
    assert other.send(35, 35).json["presence"] == reply["presence"]
    clock.advance(15)
    assert other.send(35, 50).json["watched_seconds"] == 30
    check_id = reply["presence"]["check_id"]
    assert answer(client, "a", check_id).json["error"] == "superseded"
    assert answer(client, "b", check_id).status_code == 200


def test_the_answer_needs_the_fields_and_a_session(app, client, chapter):
    assert answer(client, "", "x").status_code == 422
    assert client.post("/api/presence", json={"play_id": "a"}).json["field"] == "check_id"
    assert app.test_client().post("/api/presence", json={}).status_code == 401


def test_the_settings(tmp_path):
    off = load_config(tmp_path, {"WXAPP_SANDBOX": "1", "PRESENCE_CHECKS": "0"})
    assert presence_rules(off) == core.NO_PRESENCE
    on = load_config(tmp_path, {"WXAPP_SANDBOX": "1"})
    assert (on["PRESENCE_CHECKS"], on["PRESENCE_MIN_S"], on["PRESENCE_MAX_S"]) == (True, 600, 1200)
    assert on["PRESENCE_ANSWER_S"] == 60
    assert presence_rules(on) == core.PresenceRules(600, 1200, 60)
