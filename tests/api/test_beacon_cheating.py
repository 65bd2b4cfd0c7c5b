"""The cheating scripts of issue 15 against the beacon API: a new play_id, then beacons
sent back to back (or every 2 s) with from=pos, to=pos+5, with or without switching plays.
The clock is a budget: nothing earns more than the real time plus PROGRESS_SLACK_S."""

from __future__ import annotations

import time

import pytest
import requests

from models import db
from tests.factories import BeaconPlayer, enroll, make_plan, make_trainee, session_cookie, sign_in
from wxapp.infra import limits
from wxapp.infra.clock import SystemClock
from wxapp.infra.ratelimit import Limit

SLACK = 5.0


@pytest.fixture
def no_beacon_limit(monkeypatch):
    # The rate limit (30 a minute) would stop the script early: the clock is the point here.
    monkeypatch.setattr(limits, "BEACON", Limit("beacon", 100_000, 60))


def seed(app, *, chapter_seconds=600, chapters=1, course_hours="30", required=30):
    clock = app.extensions["clock"]
    with app.app_context():
        trainee = make_trainee()
        plan = make_plan(
            required_hours=required,
            courses=1,
            course_hours=course_hours,
            chapters=chapters,
            chapter_seconds=chapter_seconds,
        )
        enroll(trainee.id, plan.id, clock.now())
        db.session.commit()
        return trainee.id, [c.id for c in plan.courses[0].course.chapters]


class Script:
    """The cheater's script over HTTP: from=pos, to=pos+5 as fast as the server answers."""

    def __init__(self, server, trainee_id, chapter_id):
        self.url = server.url + "/api/beacons"
        self.http = requests.Session()
        cookie = session_cookie(server.app, trainee_id)
        self.headers = {"Cookie": cookie, "Origin": server.url}
        self.chapter, self.pos, self.plays, self.seq = chapter_id, 0, 0, 0
        self.new_play()

    def new_play(self):
        self.plays += 1
        self.seq = 0
        return self.send(self.pos, self.pos)

    def send(self, start, end):
        body = {
            "chapter_id": self.chapter,
            "play_id": f"cheat-{self.plays}",
            "seq": self.seq,
            "from": start,
            "to": end,
            "position": end,
        }
        self.seq += 1
        res = self.http.post(self.url, json=body, headers=self.headers, timeout=10)
        assert res.status_code == 200, res.text
        return res.json()

    def step(self):
        reply = self.send(self.pos, self.pos + 5)
        self.pos += 5
        return reply


def run_for(script, seconds, *, new_play_every=0):
    started = time.monotonic()
    watched, beacons = 0, 0
    while time.monotonic() - started < seconds and script.pos + 5 <= 600:
        if new_play_every and beacons and beacons % new_play_every == 0:
            script.new_play()
        watched = script.step()["watched_seconds"]
        beacons += 1
    return watched, time.monotonic() - started, beacons


@pytest.mark.parametrize("new_play_every", [0, 2], ids=["one play", "a new play every 2"])
def test_back_to_back_beacons_for_3_s_credit_at_most_3_s_plus_slack(
    live_server, no_beacon_limit, new_play_every
):
    live_server.app.extensions["clock"] = SystemClock()  # real time, as a cheater has it
    trainee, (chapter,) = seed(live_server.app)
    opened = time.monotonic()
    script = Script(live_server, trainee, chapter)
    watched, elapsed, beacons = run_for(script, 3, new_play_every=new_play_every)
    assert beacons > 20  # it did send as fast as it could
    assert watched <= (time.monotonic() - opened) + SLACK
    assert watched <= 3.5 + SLACK


def test_a_beacon_every_2_s_credits_no_more_than_real_time(app, client, clock, no_beacon_limit):
    trainee, (chapter,) = seed(app)
    sign_in(client, trainee)
    player = BeaconPlayer(client, chapter, clock)
    player.send(0, 0)
    for i in range(60):  # 2 minutes of the clock, 5 minutes claimed
        clock.advance(2)
        watched = player.send(5 * i, 5 * i + 5).json["watched_seconds"]
        assert watched <= 2 * (i + 1) + SLACK
    assert watched <= 120 + SLACK


def test_switching_play_ids_repeatedly_earns_no_new_slack(app, client, clock, no_beacon_limit):
    trainee, (chapter,) = seed(app)
    sign_in(client, trainee)
    pos = 0
    for n in range(30):  # a new play every 2 beacons, half a second apart
        player = BeaconPlayer(client, chapter, clock, play_id=f"p{n}")
        player.send(pos, pos)
        for _ in range(2):
            clock.advance(0.5)
            watched = player.send(pos, pos + 5).json["watched_seconds"]
            pos += 5
    assert watched <= 30 * 2 * 0.5 + SLACK


def test_a_30_hour_plan_cannot_complete_faster_than_real_time(app, client, clock, no_beacon_limit):
    """Two 5-minute chapters make a 30-学时 course of the plan: a beacon every 2 s claiming
    5 s learned them in 2/5 of the time before; now only as fast as the video plays."""
    trainee, chapters = seed(app, chapter_seconds=300, chapters=2)
    sign_in(client, trainee)
    started = clock.now()
    reply = {}
    for chapter in chapters:
        player = BeaconPlayer(client, chapter, clock, play_id=f"p{chapter}")
        player.send(0, 0)
        pos = watched = 0
        for _ in range(2000):
            clock.advance(2)
            reply = player.send(pos, min(pos + 5, 300)).json
            if reply["chapter_done"]:
                break
            # on from where the credit ended (a smarter script than the issue's)
            pos, watched = pos + reply["watched_seconds"] - watched, reply["watched_seconds"]
    assert reply["course_done"] and reply["plan_done"], reply
    spent = (clock.now() - started).total_seconds()
    assert spent >= 2 * 300 * 0.95 - SLACK
