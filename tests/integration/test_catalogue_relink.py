"""A catalogue load that changes the courses of plans trainees hold, after they learned.

A learned course counts once toward the year, however many of the trainee's plans hold it;
each plan counts it toward its own 计划完成度. A load that offers a learned course in a
second plan, or takes it out of one, must leave the year's 学时 as they were learned, and
give each plan what it now holds.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import Chapter, Course, Enrollment, Outbox, TrainingPlan, db
from tests.console_helpers import console_app, csrf_of, signed_in_admin
from tests.factories import BeaconPlayer, enroll, make_trainee, make_unit, make_unit_admin, sign_in


def course(code: str) -> dict:
    return {
        "code": code,
        "title": f"课程 {code}",
        "category": "工程建设",
        "hours": 30,
        "teacher": "李老师",
        "chapters": [{"title": "第一章", "duration": 60, "video_url": "/static/media/demo.mp4"}],
    }


def catalogue(year: int, b_courses: list[str]) -> dict:
    def plan(code: str, courses: list[str]) -> dict:
        return {
            "code": code,
            "year": year,
            "kind": "specialist",
            "title": f"{year}年专业科目 {code}",
            "required_hours": 60,
            "price_per_hour_fen": 150,
            "courses": courses,
        }

    return {
        "courses": [course(c) for c in ("zy-a1", "zy-a2", "zy-b1", "zy-b2")],
        "plans": [plan("zy-A", ["zy-a1", "zy-a2"]), plan("zy-B", b_courses)],
    }


class Unit:
    """A unit whose learner holds plans zy-A and zy-B, and its clerk's view of them."""

    def __init__(self, app, clock):
        self.app, self.clock, self.year = app, clock, clock.now().year
        with app.app_context():
            plans = dict(db.session.execute(sa.select(TrainingPlan.code, TrainingPlan.id)).all())
            unit = make_unit()
            learner, clerk = make_trainee(unit=unit), make_trainee(unit=unit)
            make_unit_admin(clerk, unit)
            for code in ("zy-A", "zy-B"):
                enroll(learner.id, plans[code], clock.now())
            db.session.commit()
            self.unit_id, self.learner_id, self.plans = unit.id, learner.id, plans
            clerk_id = clerk.id
        self.learner, self.clerk = app.test_client(), app.test_client()
        sign_in(self.learner, self.learner_id)
        sign_in(self.clerk, clerk_id)

    def learn(self, code: str) -> None:
        """Watch the course's one chapter to its end through the beacon endpoint."""
        with self.app.app_context():
            chapter = db.session.execute(
                sa.select(Chapter.id).join(Course).where(Course.code == code)
            ).scalar_one()
        replies = BeaconPlayer(self.learner, chapter, self.clock, play_id=code).watch(0, 60)
        assert replies[-1].get_json()["course_done"], replies[-1].get_json()

    def specialist_done(self) -> float:
        """The 专业 学时 the unit's clerk sees for the learner."""
        report = self.clerk.get(f"/api/units/{self.unit_id}/report?year={self.year}")
        assert report.status_code == 200, report.get_json()
        row = next(r for r in report.get_json()["trainees"] if r["trainee_id"] == self.learner_id)
        return row["specialist_done"]

    def plan_hours(self) -> dict[str, float]:
        """Each plan's 学时 as 我的进度 shows them."""
        progress = self.learner.get("/api/me/progress").get_json()
        codes = {v: k for k, v in self.plans.items()}
        return {codes[p["id"]]: p["hours_done"] for p in progress["plans"]}


def load(runner, tmp_path: Path, data: dict) -> str:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["catalogue", "load", str(path)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_learned_course_offered_in_a_second_held_plan_keeps_the_years_hours(
    app, runner, clock, tmp_path
):
    year = clock.now().year
    load(runner, tmp_path, catalogue(year, ["zy-b1", "zy-b2"]))
    unit = Unit(app, clock)
    unit.learn("zy-a1")
    assert unit.specialist_done() == 30
    assert unit.plan_hours() == {"zy-A": 30, "zy-B": 0}

    said = load(runner, tmp_path, catalogue(year, ["zy-b1", "zy-b2", "zy-a1"]))
    assert "已按新的课程设置重新计算 1 名学员的学时" in said
    assert unit.specialist_done() == 30  # once, as learned; it read 0
    assert unit.plan_hours() == {"zy-A": 30, "zy-B": 30}  # plan B holds it now


def test_a_shared_course_taken_out_of_one_plan_is_not_counted_twice(app, runner, clock, tmp_path):
    year = clock.now().year
    load(runner, tmp_path, catalogue(year, ["zy-b1", "zy-b2", "zy-a1"]))
    unit = Unit(app, clock)
    unit.learn("zy-a1")
    assert unit.specialist_done() == 30
    assert unit.plan_hours() == {"zy-A": 30, "zy-B": 30}

    load(runner, tmp_path, catalogue(year, ["zy-b1", "zy-b2"]))
    assert unit.specialist_done() == 30  # it read 60
    assert unit.plan_hours() == {"zy-A": 30, "zy-B": 0}
    # Reordering a plan's courses is no change to count.
    assert "重新计算" not in load(runner, tmp_path, catalogue(year, ["zy-b2", "zy-b1"]))


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def test_a_plan_that_now_holds_enough_learned_courses_is_completed_and_told(capp):
    """Through the console's 导入课程目录, as the centre does it."""
    clock = capp.extensions["clock"]
    year = clock.now().year
    console = signed_in_admin(capp)

    def upload(data: dict) -> str:
        token = csrf_of(console.get("/admin/catalogue_load/").text)
        body = io.BytesIO(json.dumps(data).encode())
        reply = console.post(
            "/admin/catalogue_load/",
            data={"csrf_token": token, "file": (body, "catalogue.json")},
            content_type="multipart/form-data",
        )
        assert reply.status_code == 200 and "课程目录已载入" in reply.text, reply.text
        return reply.text

    upload(catalogue(year, ["zy-b1", "zy-b2"]))
    unit = Unit(capp, clock)
    unit.learn("zy-a1")
    unit.learn("zy-a2")
    assert unit.plan_hours() == {"zy-A": 60, "zy-B": 0}

    page = upload(catalogue(year, ["zy-b1", "zy-b2", "zy-a1", "zy-a2"]))
    assert "已按新的课程设置重新计算 1 名学员的学时" in page
    assert unit.plan_hours() == {"zy-A": 60, "zy-B": 60}
    assert unit.specialist_done() == 60
    with capp.app_context():
        enrollment = db.session.execute(
            sa.select(Enrollment).where(Enrollment.plan_id == unit.plans["zy-B"])
        ).scalar_one()
        assert enrollment.completed_at is not None
        told = db.session.execute(
            sa.select(Outbox.payload).where(
                Outbox.trainee_id == unit.learner_id, Outbox.event_type == "plan_completed"
            )
        ).scalars()
        assert sorted(p["plan_id"] for p in told) == sorted(unit.plans.values())
