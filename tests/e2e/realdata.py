"""Real data for the page tests: orders paid or cancelled through the WeChat Pay sandbox,
progress made by real beacons and the flush worker, the requests a page sends."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from models import Enrollment, Trainee, TrainingPlan, db
from tests.e2e.conftest import seed
from tests.factories import (
    BeaconPlayer,
    credit_hours,
    make_enrollment,
    make_id_number,
    make_plan,
    make_trainee,
    make_unit,
    sign_in,
)
from wxapp.orders.enrollments import grant_enrollment


def posted(page, path: str) -> list:
    """The JSON bodies the page POSTs to `path` (the real server answers them)."""
    seen: list = []

    def on_request(request) -> None:
        if request.method == "POST" and request.url.split("?")[0].endswith(path):
            seen.append(json.loads(request.post_data) if request.post_data else None)

    page.on("request", on_request)
    return seen


def wait_status(page, site, no: str, status: str) -> None:
    """The sandbox notifies from a thread: ask the real order API until it reads `status`."""
    deadline = time.monotonic() + 15
    while page.request.get(f"{site.url}/api/orders/{no}").json()["status"] != status:
        assert time.monotonic() < deadline, f"order {no} never became {status}"
        page.wait_for_timeout(100)


def order(page, site, plan_id: int, invoice=None, pay=False, cancel=False) -> str:
    """A real order through the API, paid in the sandbox cashier (Native) or cancelled."""
    res = page.request.post(f"{site.url}/api/orders", data={"plan_id": plan_id, "invoice": invoice})
    assert res.ok, res.text()
    no = res.json()["out_trade_no"]
    if pay:
        native = page.request.post(f"{site.url}/api/orders/{no}/pay", data={"method": "native"})
        assert native.ok, native.text()
        done = page.request.post(
            f"{site.url}/_sandbox/pay/cashier", form={"out_trade_no": no, "action": "pay"}
        )
        assert done.ok and "支付成功" in done.text()
        wait_status(page, site, no, "SUCCESS")
    if cancel:
        assert page.request.post(f"{site.url}/api/orders/{no}/cancel").ok
    return no


def lowercase_x_id_number() -> str:
    """A valid ID number whose check character is X, written with a lower-case x."""
    n = 990_000
    while not make_id_number(n).endswith("X"):
        n += 1
    return make_id_number(n)[:17] + "x"


PAID = datetime(2025, 6, 1, tzinfo=UTC)


def learner_world(site, *, unit=True):
    """A trainee enrolled in 2025's 专业科目 plan (3 courses of 2 one-minute chapters, 30 学时
    each) and, with 12 of its 30 学时 already counted, 2025's 公需科目 plan."""

    def build():
        u = make_unit() if unit else None
        t = make_trainee(name="孙八", unit=u)
        plan = make_plan(year=2025, courses=3, chapters=2)
        plan.title = "2025年专业科目培训项目（工程建设）"
        courses = [pc.course for pc in plan.courses]
        courses[0].title = "建设工程质量管理"
        courses[1].title = "绿色建筑与节能"
        grant_enrollment(t.id, plan.id, PAID)
        public = make_plan(year=2025, kind="public", required_hours=30, courses=2)
        public.title = "2025年公需科目培训项目"
        make_enrollment(t, public, hours="12")  # display only: 12 学时 already credited
        return {
            "phone": t.phone,
            "trainee": t.id,
            "plan": plan.id,
            "public": public.id,
            "courses": [c.id for c in courses],
            "chapters": [[ch.id for ch in c.chapters] for c in courses],
        }

    return seed(site, build)


def learn(site, data) -> None:
    """Real beacons: both chapters of the first course watched to the end (the course is
    learned: 30 学时), then 24 of the 60 seconds of the second course's first chapter."""
    app = site.app
    clock = app.extensions["clock"]
    with app.test_client() as client:
        sign_in(client, data["trainee"])
        for n, chapter in enumerate(data["chapters"][0]):
            for reply in BeaconPlayer(client, chapter, clock, play_id=f"a{n}").watch(0, 60):
                assert reply.status_code == 200, reply.get_json()
        partial = BeaconPlayer(client, data["chapters"][1][0], clock, play_id="b0")
        for reply in partial.watch(0, 24):
            assert reply.status_code == 200, reply.get_json()
    # What the production flush worker does every few seconds: Redis -> database.
    flushed = app.test_cli_runner().invoke(args=["progress", "flush", "--once"])
    assert flushed.exit_code == 0, flushed.output


def complete(site, data) -> None:
    """The 专业科目 plan complete (display only: its 60 学时 counted, completed_at set)."""

    def build():
        enrollment = db.session.execute(
            db.select(Enrollment).where(
                Enrollment.trainee_id == data["trainee"], Enrollment.plan_id == data["plan"]
            )
        ).scalar_one()
        credit_hours(
            db.session.get(Trainee, data["trainee"]),
            db.session.get(TrainingPlan, data["plan"]),
            "60",
        )
        enrollment.completed_at = datetime(2025, 7, 1, tzinfo=UTC)

    seed(site, build)
