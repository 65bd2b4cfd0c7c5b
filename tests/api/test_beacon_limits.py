"""The beacon's own limits: a body over 4 KB is refused unread, and more than 30 beacons a
minute from one trainee get 429 (counted inside the beacon script, by the app clock)."""

import pytest

from models import db
from tests.factories import BeaconPlayer, make_learner, sign_in
from wxapp.infra import limits


@pytest.fixture
def player(app, client, clock):
    with app.app_context():
        trainee, plan = make_learner(clock.now(), courses=1, chapters=1, chapter_seconds=600)
        db.session.commit()
        chapter_id = plan.courses[0].course.chapters[0].id
        sign_in(client, trainee.id)
    return BeaconPlayer(client, chapter_id, clock)


def test_more_than_the_limit_in_a_minute_is_429(player, clock):
    # A broken player resending the same stretch without pause: replays change nothing, and
    # past the limit they are refused for the rest of the minute.
    assert player.send(0, 0).status_code == 200  # opens the play; loads the chapter (cold)
    clock.advance(60)  # a fresh window
    codes = [player.send(0, 0).status_code for _ in range(limits.BEACON.count)]
    assert codes == [200] * limits.BEACON.count
    refused = player.send(0, 0)
    assert refused.status_code == 429
    assert refused.json["error"] == "rate_limited"
    assert "频繁" in refused.json["message"]
    clock.advance(60)  # the next window
    assert player.send(0, 0).status_code == 200


def test_a_learner_at_the_players_pace_is_never_limited(player, clock):
    replies = player.watch(0, 600)  # 41 beacons over ten minutes of real time
    assert {r.status_code for r in replies} == {200}
    assert replies[-1].json["chapter_done"] is True


def test_an_oversized_beacon_is_refused_unread(player):
    res = player.client.post(
        "/api/beacons", data=b"{" + b" " * (5 * 1024) + b"}", content_type="application/json"
    )
    assert res.status_code == 413
    assert res.json["error"] == "too_large"
