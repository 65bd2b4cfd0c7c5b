"""学习记录 in a real browser at 390x844: a chapter learned in the player, with its presence
checks answered, then shown on the learning record page with its play and its checks.
Screenshot: docs/screenshots/learning-record.png."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.e2e.conftest import (
    PHONE,
    TEST_VIDEO_URL,
    clock_running,
    copy_to_docs,
    login,
    seed,
    wait_for,
)
from tests.factories import make_plan, make_trainee
from wxapp.orders.enrollments import grant_enrollment
from wxapp.progress import core, flusher
from wxapp.progress.tracking import get_store

# Latin words a trainee should not meet; the device label ("Linux 浏览器") is the one allowed.
ENGLISH = re.compile(r"[A-Za-z]{3,}")
DEVICE_WORDS = ("iPhone", "iPad", "Android", "Windows", "Mac", "Linux", "Chromebook")
LEARNED = "document.querySelector('.chapter-item .chapter-state').textContent.includes('已学完')"
CHECK = ".presence-check .weui-dialog"
ENDED = "document.querySelector('#video').ended"
BACK = (
    "() => { const v = document.querySelector('#video');"
    " v.currentTime = Math.max(0, v.currentTime - 15); v.play().catch(() => {}); }"
)


def _learner(site, chapters=2):
    def build():
        t = make_trainee(name="孙八")
        plan = make_plan(year=2025, courses=1, chapters=chapters, chapter_seconds=60)
        course = plan.courses[0].course
        course.title = "建设工程安全生产管理"
        for ch in course.chapters:
            ch.video_url = TEST_VIDEO_URL
        grant_enrollment(t.id, plan.id, datetime(2025, 6, 1, tzinfo=UTC))
        return {
            "phone": t.phone,
            "course": course.id,
            "chapters": [(ch.id, ch.title) for ch in course.chapters],
        }

    return seed(site, build)


def test_the_learning_record_shows_the_plays_and_checks_of_a_chapter_learned(phone, site):
    store = get_store(site.app)
    before = store.presence
    # A check after every 20 s of credited playback: two or more in a 60 s chapter.
    store.presence = core.PresenceRules(min_s=20, max_s=20, answer_s=60)
    try:
        data = _learner(site, chapters=1)
        login(phone, data["phone"])
        page = phone.page
        phone.open(f"/h5/course?id={data['course']}")
        wait_for(page, "window.__player && window.__player.seq >= 1")
        answered = 0
        with clock_running(site.app, speed=8):
            page.evaluate(
                "() => { const v = document.querySelector('#video'); v.muted = true;"
                " v.playbackRate = 8; return v.play(); }"
            )
            # Nothing is credited from a check's due time until it is answered; the player
            # goes back over what played meanwhile by itself, and plays on after the answer.
            for _ in range(12):  # a bounded loop: the test fails rather than hangs
                wait_for(page, f"document.querySelector('{CHECK}') || {ENDED} || {LEARNED}", 30_000)
                if page.evaluate(LEARNED):
                    break
                if page.locator(CHECK).count():
                    page.click(f"{CHECK} .weui-dialog__btn")
                    answered += 1
                    wait_for(page, f"!document.querySelector('{CHECK}')")
                else:
                    page.evaluate(BACK)  # ended short of 95 %: play the end again
            page.evaluate("document.querySelector('#video').pause()")
            page.evaluate("window.__player.flush({ force: true })")
            page.wait_for_timeout(300)
        assert answered >= 2
        with site.app.app_context():
            flusher.flush_all(store, site.app.extensions["clock"].now())

        link = f"/h5/learning-record?course={data['course']}"
        assert page.locator(f"a[href='{link}']").count() == 1  # linked from the course page
        phone.open(link)
        page.wait_for_selector(".record-course")
        ((first_id, first_title),) = data["chapters"]
        learned = page.locator(f".record-chapter[data-chapter-id='{first_id}']")
        text = learned.inner_text()
        assert first_title in text and "1 次" in text
        play = learned.locator(".record-play")
        assert play.count() == 1
        shown = play.inner_text()
        for expected in (
            "开始",
            "结束",
            "观看时长",
            "在线确认",
            f"通过 {answered} 次",
            "设备",
            "地址",
        ):
            assert expected in shown, expected
        # At least the 57 s that learned it (95 %), plus what was gone back over.
        assert re.search(r"观看时长\s*(5[7-9] 秒|1 分)", shown), shown
        assert play.locator(".device .record-value").inner_text() == "Linux 浏览器"
        assert play.locator(".address .record-value").inner_text() == "127.0.0.1"
        assert "2025" in play.locator(".record-line").first.inner_text()  # a date, China time

        # Fits the phone, speaks Chinese (device names aside), no raw JSON.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        body = page.inner_text("#app")
        for word in DEVICE_WORDS:
            body = body.replace(word, "")
        assert not ENGLISH.findall(body), ENGLISH.findall(body)
        assert "{" not in body
        copy_to_docs(phone.shot("learning-record", full_page=True), "learning-record.png")
    finally:
        store.presence = before


def test_the_learning_record_of_nothing_yet_says_so(phone, site):
    data = _learner(site)
    login(phone, data["phone"])
    page = phone.open("/h5/learning-record")
    assert "还没有学习记录" in page.inner_text("#app")
    page = phone.open(f"/h5/learning-record?course={data['course']}")
    assert page.locator(".record-chapter").count() == 2
    assert page.inner_text("#app").count("暂无学习记录") == 2
    page = phone.open("/h5/learning-record?course=999999")
    assert "没有这门课程的学习记录" in page.inner_text("#app")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
