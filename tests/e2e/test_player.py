"""播放: the chapter list with states and the player's beacons, in real headless Chromium.
A seek to the end is not learned, and a second page supersedes the first.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from models import Chapter
from tests.e2e.conftest import (
    TEST_VIDEO_URL,
    BeaconLog,
    clock_running,
    copy_to_docs,
    login,
    require_routes,
    seed,
    wait_for,
)
from tests.factories import make_plan, make_trainee
from wxapp.orders.enrollments import grant_enrollment
from wxapp.progress import core
from wxapp.progress.tracking import get_store

BEACON_KEYS = {"chapter_id", "play_id", "seq", "from", "to", "position"}


def _learner(site):
    def build():
        t = make_trainee(name="钱七")
        plan = make_plan(year=2025, courses=2, chapters=3, chapter_seconds=60)
        course = plan.courses[0].course
        course.title = "建设工程质量管理"
        for ch in course.chapters:
            ch.video_url = TEST_VIDEO_URL
        grant_enrollment(t.id, plan.id, datetime(2025, 6, 1, tzinfo=UTC))
        return {
            "phone": t.phone,
            "plan": plan.id,
            "course": course.id,
            "chapters": [ch.id for ch in course.chapters],
        }

    return seed(site, build)


PROGRESS_ROUTES = (("POST", "/api/beacons"), ("GET", "/api/chapters/1/resume"))


def _open_course(phone, site):
    """A new learner signed in on the course page, its play opened (the first beacon sent).

    Returns the learner's ids, the page and the log of the beacons it sent."""
    data = _learner(site)
    login(phone, data["phone"])
    page = phone.page
    beacons = BeaconLog(page)
    phone.open(f"/h5/course?id={data['course']}")
    wait_for(page, "window.__player && window.__player.seq >= 1")
    return data, page, beacons


def _play(page, rate=1.0):
    page.evaluate(
        "r => { const v = document.querySelector('#video'); v.muted = true;"
        " v.playbackRate = r; return v.play(); }",
        rate,
    )


def _time(page):
    return page.evaluate("document.querySelector('#video').currentTime")


def _pause(page) -> float:
    """Pause; the time the player saw in its own 'pause' handler (listeners run in order).

    Read afterwards, currentTime may still move by a frame or so when the media pipeline
    reports where it really stopped (Chromium under load).
    """
    return page.evaluate(
        "() => new Promise(done => { const v = document.querySelector('#video');"
        " v.addEventListener('pause', () => done(v.currentTime), { once: true }); v.pause(); })"
    )


def test_player_shows_chapters_and_reports_what_was_played(phone, site):
    data = _learner(site)
    login(phone, data["phone"])
    page = phone.page
    beacons = BeaconLog(page)
    phone.open(f"/h5/course?id={data['course']}&plan={data['plan']}")

    chapters = page.locator(".chapter-item")
    assert chapters.count() == 3
    assert "本课程有多个章节" in page.inner_text("#credit-rule")
    assert "第1章" in chapters.first.inner_text()
    assert "playing" in (chapters.first.get_attribute("class") or "")
    wait_for(page, "document.querySelector('#video').readyState >= 1")
    assert page.evaluate("document.querySelector('#video').duration") == pytest.approx(60, abs=1)

    # Opening the chapter opens its play_id with an empty stretch.
    wait_for(page, "window.__player && window.__player.seq >= 1")
    first = beacons.sent[0]
    assert set(first) == BEACON_KEYS
    assert first["chapter_id"] == data["chapters"][0]
    assert first["from"] == first["to"] == first["position"] == 0

    _play(page)
    wait_for(page, "document.querySelector('#video').currentTime > 2")
    page.evaluate("document.querySelector('#video').pause()")
    wait_for(page, "window.__player.seq >= 3")
    played = beacons.sent[-1]
    assert played["to"] > played["from"] >= 0
    assert played["to"] - played["from"] == pytest.approx(_time(page), abs=0.6)
    assert played["position"] == played["to"]

    # A seek reports the new position alone (from == to): the jump is not a played stretch.
    page.evaluate("document.querySelector('#video').currentTime = 40")
    wait_for(page, "window.__player.seq >= 4")
    seek = beacons.sent[-1]
    assert seek["from"] == seek["to"] == seek["position"] == pytest.approx(40, abs=0.6)
    assert [b["seq"] for b in beacons.sent] == list(range(1, len(beacons.sent) + 1))
    assert len({b["play_id"] for b in beacons.sent}) == 1
    phone.shot("course")


def test_every_fifteen_seconds_of_playback_sends_a_beacon(phone, site):
    data, page, beacons = _open_course(phone, site)
    _play(page, rate=8)
    wait_for(page, "document.querySelector('#video').currentTime > 40")
    paused_at = round(_pause(page), 2)
    beacons.wait_for(page, lambda sent: sent[-1]["to"] == paused_at)
    stretches = [b for b in beacons.sent if b["to"] > b["from"]]
    # Two full 15-second stretches while playing, then the rest on pause.
    assert len(stretches) >= 3
    for b in stretches[:2]:
        assert 15 <= b["to"] - b["from"] < 20
    assert stretches[1]["from"] == stretches[0]["to"]
    assert stretches[-1]["from"] == stretches[-2]["to"]


def test_switching_chapters_and_leaving_flush_the_stretch(phone, site):
    data, page, beacons = _open_course(phone, site)
    _play(page, rate=4)
    wait_for(page, "document.querySelector('#video').currentTime > 6")
    page.locator(".chapter-item").nth(1).click()
    wait_for(
        page, f"window.__player.chapter.id === {data['chapters'][1]} && window.__player.seq >= 1"
    )
    assert any(b["chapter_id"] == data["chapters"][0] and b["to"] > b["from"] for b in beacons.sent)
    assert beacons.sent[-1]["chapter_id"] == data["chapters"][1]
    assert "chapter=" in page.url


def test_leaving_the_page_sends_the_last_stretch_with_send_beacon(phone, site):
    data, page, _ = _open_course(phone, site)
    page.evaluate(
        "() => { window.__sent = []; const orig = navigator.sendBeacon.bind(navigator);"
        " navigator.sendBeacon = (url, blob) => { blob.text().then(t => window.__sent.push([url, t]));"
        " return orig(url, blob); }; }"
    )
    _play(page, rate=4)
    wait_for(page, "document.querySelector('#video').currentTime > 5")
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    wait_for(page, "window.__sent.length >= 1")
    url, body = page.evaluate("window.__sent[0]")
    last = json.loads(body)
    assert url == "/api/beacons"
    assert set(last) == BEACON_KEYS
    assert last["to"] > 5 and last["to"] > last["from"]


def test_seek_to_the_end_does_not_mark_the_chapter_learned(phone, site):
    require_routes(site, *PROGRESS_ROUTES)
    data, page, beacons = _open_course(phone, site)
    page.evaluate("document.querySelector('#video').currentTime = 58.5")
    wait_for(page, "window.__player.seq >= 2")
    _play(page)
    wait_for(page, "document.querySelector('#video').ended")
    wait_for(page, "window.__player.seq >= 4")
    page.wait_for_timeout(500)
    assert all(s == 200 for s in beacons.statuses), beacons.statuses
    state = page.request.get(f"{site.url}/api/chapters/{data['chapters'][0]}/resume").json()
    assert state["watched_seconds"] <= 3
    assert "已学完" not in page.locator(".chapter-item").first.inner_text()
    phone.shot("seek-to-end")


def test_a_stretch_refused_by_a_failing_server_is_sent_again(phone, site):
    """The beacon sent at pause gets 503 (Redis failing over, a database blip): paused,
    the player would send nothing more, so it sends the same stretch again a few seconds
    later, and the seconds watched are counted."""
    require_routes(site, *PROGRESS_ROUTES)
    data, page, beacons = _open_course(phone, site)
    _play(page)
    wait_for(page, "document.querySelector('#video').currentTime > 3")
    refused: list[str] = []

    def refuse_once(route):
        if refused:
            return route.continue_()
        refused.append(route.request.post_data)
        return route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"error": "unavailable", "message": "服务暂时不可用，请稍后再试"}),
        )

    page.route("**/api/beacons", refuse_once)
    paused_at = round(_pause(page), 2)
    beacons.wait_for(page, lambda sent: sum(b["to"] == paused_at for b in sent) >= 2)
    first, again = [b for b in beacons.sent if b["to"] == paused_at][:2]
    assert (again["from"], again["to"]) == (first["from"], first["to"])
    # At least the three seconds played before the pause (the player rounds to 0.01 s: a
    # pause at 3.004 s sends [0, 3]).
    assert again["to"] - again["from"] >= 3
    assert again["seq"] == first["seq"] + 1 and again["play_id"] == first["play_id"]
    wait_for(page, "window.__player.retries === 0")  # the second one was answered
    state = page.request.get(f"{site.url}/api/chapters/{data['chapters'][0]}/resume").json()
    assert state["watched_seconds"] >= 3


def test_a_second_page_on_the_same_chapter_supersedes_the_first(phone, site):
    require_routes(site, *PROGRESS_ROUTES)
    data, first, _ = _open_course(phone, site)
    _play(first)
    wait_for(first, "document.querySelector('#video').currentTime > 1")

    second = phone.new_page()
    phone.open(f"/h5/course?id={data['course']}", page=second)
    wait_for(second, "window.__player && window.__player.seq >= 1")
    # The first page's next beacon (here: on pause) is refused and the page says why.
    first.evaluate("document.querySelector('#video').pause()")
    banner = first.wait_for_selector("#superseded:not([hidden])")
    assert "正在其他设备学习" in banner.inner_text()
    assert first.evaluate("document.querySelector('#video').paused")
    _play(first)
    first.wait_for_timeout(300)
    assert first.evaluate("document.querySelector('#video').paused")
    phone.shot("superseded", page=first, full_page=False)
    assert second.locator("#superseded:not([hidden])").count() == 0


def test_chapter_durations_match_the_test_video(site):
    # The player scales the learned bar by the chapter's duration: keep the fixture honest.
    data = _learner(site)
    with site.app.app_context():
        from models import db

        assert db.session.get(Chapter, data["chapters"][0]).duration_s == 60


def _watched(page, chapter_id) -> int:
    res = page.request.get(f"{page.url.split('/h5/')[0]}/api/chapters/{chapter_id}/resume")
    return res.json()["watched_seconds"]


def test_a_presence_check_pauses_the_player_until_the_trainee_answers(phone, site):
    """防挂机: the server's check appears as a dialog, the video pauses and nothing is
    credited while it waits; the tap resumes credit. Left unanswered, the play is paused
    and 继续学习 opens a new one."""
    store = get_store(site.app)
    before = store.presence
    store.presence = core.PresenceRules(min_s=10, max_s=10, answer_s=60)
    try:
        data, page, beacons = _open_course(phone, site)
        chapter = data["chapters"][0]
        with clock_running(site.app, speed=8):
            _play(page, rate=8)
            dialog = page.wait_for_selector(".presence-check .weui-dialog", timeout=20_000)
            assert "请点击继续学习" in dialog.inner_text()
            wait_for(page, "document.querySelector('#video').paused")
            waiting = _watched(page, chapter)
            assert waiting == 10  # credited up to the moment the check fell due
            copy_to_docs(phone.shot("presence-check"), "presence-check.png")
            page.wait_for_timeout(1500)  # 12 s of the server's clock: nothing is credited
            page.evaluate("window.__player.flush({ force: true })")
            page.wait_for_timeout(300)
            assert _watched(page, chapter) == waiting

            page.click(".presence-check .weui-dialog__btn")
            wait_for(page, "!document.querySelector('#video').paused")
            assert page.locator(".presence-check").count() == 0
            # Credit goes on (the next check comes 10 s later, then it waits again).
            page.wait_for_selector(".presence-check .weui-dialog", timeout=20_000)
            assert _watched(page, chapter) > waiting
            copy_to_docs(phone.shot("presence-resumed"), "presence-resumed.png")

        # The second check is left unanswered past its 60 s: the play is paused.
        old_play = page.evaluate("window.__player.playId")
        site.app.extensions["clock"].advance(61)
        page.evaluate("window.__player.flush({ force: true })")
        missed = page.wait_for_selector(".presence-check .weui-dialog >> text=学习已暂停")
        assert missed
        assert page.evaluate("document.querySelector('#video').paused")
        copy_to_docs(phone.shot("presence-missed"), "presence-missed.png")
        stuck = _watched(page, chapter)
        page.click(".presence-check .weui-dialog__btn")
        wait_for(page, "window.__player.playId !== " + json.dumps(old_play))
        with clock_running(site.app, speed=8):
            wait_for(page, "!document.querySelector('#video').paused")
            page.wait_for_timeout(2500)
            page.evaluate("window.__player.flush({ force: true })")
            page.wait_for_timeout(300)
        assert _watched(page, chapter) > stuck  # the new play is credited again
        assert 409 in beacons.statuses
    finally:
        store.presence = before


def test_the_seconds_played_past_a_check_are_watched_again_and_the_chapter_is_learned(phone, site):
    """The check falls due inside the stretch a beacon reports; the server credits nothing
    past that moment. The player goes back to where the credit stopped, so answering
    promptly and playing to the end learns the chapter instead of leaving a gap."""
    store = get_store(site.app)
    before = store.presence
    store.presence = core.PresenceRules(min_s=10, max_s=10, answer_s=60)
    try:
        data, page, _ = _open_course(phone, site)
        chapter = data["chapters"][0]
        with clock_running(site.app, speed=8):
            _play(page, rate=8)
            page.wait_for_selector(".presence-check .weui-dialog", timeout=20_000)
            assert _watched(page, chapter) == 10  # credited up to the moment it fell due
            # Back to the 10th second, though the video had played on past it.
            wait_for(page, "Math.abs(document.querySelector('#video').currentTime - 10) < 1")
            # Later replies (the seek's beacons) leave the status line asking for the tap.
            page.evaluate("window.__player.flush({ force: true })")
            page.wait_for_timeout(300)
            assert "请点击继续学习" in page.inner_text("#player-status-text")
            store.presence = core.PresenceRules(min_s=1000, max_s=1000, answer_s=60)
            page.click(".presence-check .weui-dialog__btn")
            wait_for(page, "document.querySelector('#video').ended", timeout=30_000)
            page.wait_for_timeout(800)  # the beacon sent at the end is answered
        assert _watched(page, chapter) >= 57  # 95 % of the 60 s chapter: learned
        assert "已学完" in page.locator(".chapter-item").first.inner_text()
    finally:
        store.presence = before


def test_a_single_chapter_course_does_not_speak_of_many_chapters(phone, site):
    def build():
        t = make_trainee(name="孙九")
        plan = make_plan(year=2025, courses=1, chapters=1, chapter_seconds=60)
        grant_enrollment(t.id, plan.id, datetime(2025, 6, 1, tzinfo=UTC))
        return {"phone": t.phone, "plan": plan.id, "course": plan.courses[0].course.id}

    data = seed(site, build)
    login(phone, data["phone"])
    page = phone.open(f"/h5/course?id={data['course']}&plan={data['plan']}")
    assert page.locator(".chapter-item").count() == 1
    rule = page.inner_text("#credit-rule")
    assert "多个章节" not in rule and "获得学分" in rule
