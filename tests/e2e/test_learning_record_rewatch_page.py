"""学习记录 after a chapter is watched twice: each play shows the time it watched, and the
chapter's 计入 is what the progress engine credited (the union of what was played), not
the two plays added up; it says so."""

from __future__ import annotations

from tests.e2e.conftest import login
from tests.e2e.realdata import learner_world
from tests.factories import BeaconPlayer, sign_in


def test_a_chapter_watched_twice_is_credited_once_on_the_page(phone, site):
    data = learner_world(site)
    app, clock = site.app, site.app.extensions["clock"]
    chapter = data["chapters"][0][0]
    with app.test_client() as client:
        sign_in(client, data["trainee"])
        for play_id in ("first", "again"):
            for reply in BeaconPlayer(client, chapter, clock, play_id=play_id).watch(0, 60):
                assert reply.status_code == 200, reply.get_json()
            clock.advance(30)
    flushed = app.test_cli_runner().invoke(args=["progress", "flush", "--once"])
    assert flushed.exit_code == 0, flushed.output

    login(phone, data["phone"])
    page = phone.open(f"/h5/learning-record?course={data['courses'][0]}")
    block = page.locator(f".record-chapter[data-chapter-id='{chapter}']")
    plays = block.locator(".record-play")
    assert plays.count() == 2
    for n in range(2):
        assert "观看时长1 分钟" in plays.nth(n).inner_text().replace("\n", "").replace("\t", "")
    totals = block.locator(".chapter-totals").inner_text()
    assert totals.startswith("计入 1 分钟（共观看 2 分钟，重复观看的部分只计一次）"), totals
    course = page.locator(".record-course .meta").first.inner_text()
    assert "计入 1 分钟" in course and "计入 2 分钟" not in course
    phone.shot("learning-record-rewatch", full_page=True)
