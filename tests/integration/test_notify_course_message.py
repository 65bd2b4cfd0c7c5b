"""From beacons to the trainee's WeChat: courses learned through the real progress engine,
the outbox rows it writes, and the notification worker sending them to the sandbox over
real HTTP. Nothing in between is built by the test, so the producer's event and the
template's reading of it must agree."""

from __future__ import annotations

from models import db
from tests.factories import BeaconPlayer, enroll, make_binding, make_plan, make_trainee, sign_in
from tests.integration.test_notify_worker import OPENID, _worker
from wxapp.sandbox import oa_state


def test_learning_a_course_tells_the_trainee_the_plans_hours_done_of_required(live_server):
    app = live_server.app
    clock = app.extensions["clock"]
    with app.app_context():
        trainee = make_trainee()
        make_binding(trainee, OPENID)
        # 60 学时 required: two 30-学时 courses of two 60 s chapters each.
        plan = make_plan(required_hours=60, courses=2, course_hours="30", chapter_seconds=60)
        enroll(trainee.id, plan.id, clock.now())
        db.session.commit()
        trainee_id, plan_title = trainee.id, plan.title
        courses = [(pc.course.title, [c.id for c in pc.course.chapters]) for pc in plan.courses]
    client = app.test_client()
    sign_in(client, trainee_id)

    def learn(chapters: list[int]) -> None:
        for chapter in chapters:
            replies = BeaconPlayer(client, chapter, clock, play_id=f"p{chapter}").watch(0, 60)
            assert all(r.status_code == 200 for r in replies)
            assert replies[-1].json["chapter_done"]

    (first, first_chapters), (second, second_chapters) = courses
    learn(first_chapters)
    _worker(app).drain()
    inbox = oa_state.inbox(app.extensions["redis"], OPENID)
    assert [m["data"] for m in inbox] == [
        {
            "thing1": {"value": first},
            "thing2": {"value": "30学时"},
            "thing3": {"value": "计划已完成30/60学时"},
        }
    ]
    assert inbox[0]["template_id"] == app.config["WECHAT_TEMPLATE_COURSE"]

    # The second course completes the plan: its message, and the plan's.
    learn(second_chapters)
    _worker(app).drain()
    inbox = oa_state.inbox(app.extensions["redis"], OPENID)
    assert {m["template_id"]: m["data"] for m in inbox[1:]} == {
        app.config["WECHAT_TEMPLATE_COURSE"]: {
            "thing1": {"value": second},
            "thing2": {"value": "30学时"},
            "thing3": {"value": "计划已完成60/60学时"},
        },
        # The 专业 plan is done, the year is not: 公需 is still missing.
        app.config["WECHAT_TEMPLATE_PLAN"]: {
            "thing1": {"value": plan_title},
            "thing2": {"value": "60学时"},
            "thing3": {"value": "可打印证书，还差公需30学时"},
        },
    }
    assert len(inbox) == 3

    # A 公需 plan of the same year learned too: the year is met, and its message says so.
    with app.app_context():
        public = make_plan(kind="public", required_hours=30, courses=1, chapters=1)
        enroll(trainee_id, public.id, clock.now())
        db.session.commit()
        public_title = public.title
        public_chapter = public.courses[0].course.chapters[0].id
    learn([public_chapter])
    _worker(app).drain()
    plan_messages = [
        m["data"]
        for m in oa_state.inbox(app.extensions["redis"], OPENID)
        if m["template_id"] == app.config["WECHAT_TEMPLATE_PLAN"]
    ]
    assert plan_messages[-1] == {
        "thing1": {"value": public_title},
        "thing2": {"value": "30学时"},
        "thing3": {"value": "可打印证书，本年度已达标"},
    }
