"""The console's 课程, 培训项目 and 章节 forms keep the rules the catalogue loader keeps: a
plan's courses offer at least the 学时 it requires, and a chapter trainees have learned stays
in its course. What is refused is said on the page, and nothing is written, not even an
audit row; the edits the rules allow still save."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import Chapter, ChapterProgress, Course, OperatorAudit, PlanCourse, TrainingPlan, db
from tests.console_helpers import console_app, csrf_of, flashes, plan_form, signed_in_admin
from tests.factories import make_plan, make_trainee

SAVED = "保存记录成功"


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _audited(app, action: str, target_id: int) -> int:
    with app.app_context():
        return len(
            db.session.execute(
                db.select(OperatorAudit).where(
                    OperatorAudit.action == action, OperatorAudit.target_id == str(target_id)
                )
            )
            .scalars()
            .all()
        )


def _name(plan: TrainingPlan) -> str:
    return f"培训项目「{plan.title}」（{plan.code}）"


# --- 课程: its 学时 ------------------------------------------------------------------------


def _course_form(client, course_id: int, hours: str) -> dict[str, str]:
    page = client.get(f"/admin/courses/edit/?id={course_id}").text
    with client.application.app_context():
        course = db.session.get(Course, course_id)
        return {
            "csrf_token": csrf_of(page),
            "code": course.code,
            "title": course.title,
            "category": course.category,
            "hours": hours,
            "teacher": course.teacher,
            "description": course.description,
        }


def _plans_sharing_a_course(app) -> tuple[int, list[str], str]:
    """A course of 30 学时 in three plans: two it leaves no slack (90 of 90 and 60 of 60 学时
    offered), one with 30 to spare (60 offered, 30 required). Returns its id, the names of
    the two tight plans, and the name of the other."""
    with app.app_context():
        tight = make_plan(required_hours=90, courses=3)
        shared = tight.courses[0].course
        other_tight = make_plan(required_hours=60, courses=1)
        spare = make_plan(required_hours=30, courses=1)
        for plan in (other_tight, spare):
            plan.courses.append(PlanCourse(course=shared, position=1))
        db.session.commit()
        return shared.id, [_name(tight), _name(other_tight)], _name(spare)


def test_a_course_edit_cannot_leave_any_of_its_plans_short_of_their_hours(capp):
    course_id, tight, spare = _plans_sharing_a_course(capp)
    client = signed_in_admin(capp)
    form = _course_form(client, course_id, hours="20")
    refused = client.post(f"/admin/courses/edit/?id={course_id}", data=form, follow_redirects=True)
    shown = flashes(refused.text)
    assert SAVED not in shown
    assert f"{tight[0]}的课程学时合计 80 少于要求的 90 学时" in shown, shown
    assert f"{tight[1]}的课程学时合计 50 少于要求的 60 学时" in shown, shown
    assert spare not in shown
    with capp.app_context():
        assert db.session.get(Course, course_id).hours == Decimal(30)
    assert _audited(capp, "courses.update", course_id) == 0


def test_a_course_may_lose_the_hours_its_plans_can_spare(capp):
    with capp.app_context():
        plan = make_plan(required_hours=60, courses=3)  # 90 学时 offered
        db.session.commit()
        course_id = plan.courses[0].course_id
    client = signed_in_admin(capp)
    form = _course_form(client, course_id, hours="0.5")  # 60.5 offered
    saved = client.post(f"/admin/courses/edit/?id={course_id}", data=form, follow_redirects=True)
    assert SAVED in flashes(saved.text), flashes(saved.text)
    with capp.app_context():
        assert db.session.get(Course, course_id).hours == Decimal("0.5")
    assert _audited(capp, "courses.update", course_id) == 1


# --- 培训项目: its 要求学时 -----------------------------------------------------------------


def _plan(app, **kwargs) -> int:
    with app.app_context():
        plan = make_plan(year=2032, required_hours=60, **kwargs)
        db.session.commit()
        return plan.id


def _post_plan(client, plan_id: int, required_hours: str):
    """The plan's edit form sent back with its 要求学时 changed."""
    page = client.get(f"/admin/plans/edit/?id={plan_id}").text
    with client.application.app_context():
        plan = db.session.get(TrainingPlan, plan_id)
        form = plan_form(
            csrf_of(page), code=plan.code, title=plan.title, required_hours=required_hours
        )
    return client.post(f"/admin/plans/edit/?id={plan_id}", data=form, follow_redirects=True)


def test_a_plan_edit_cannot_require_more_hours_than_its_courses_offer(capp):
    plan_id = _plan(capp, courses=3)  # 90 学时 offered
    client = signed_in_admin(capp)
    refused = _post_plan(client, plan_id, required_hours="200")
    shown = flashes(refused.text)
    assert SAVED not in shown
    with capp.app_context():
        plan = db.session.get(TrainingPlan, plan_id)
        assert f"{_name(plan)}的课程学时合计 90 少于要求的 200 学时" in shown, shown
        assert plan.required_hours == 60
    assert _audited(capp, "training_plans.update", plan_id) == 0


def test_a_plan_may_require_all_its_courses_offer(capp):
    plan_id = _plan(capp, courses=3)
    client = signed_in_admin(capp)
    saved = _post_plan(client, plan_id, required_hours="90")
    assert SAVED in flashes(saved.text), flashes(saved.text)
    with capp.app_context():
        assert db.session.get(TrainingPlan, plan_id).required_hours == 90
    assert _audited(capp, "training_plans.update", plan_id) == 1


def test_a_plan_without_courses_yet_may_change_its_required_hours(capp):
    """Made in the console, its courses (and 要求学时) to come from a catalogue file."""
    plan_id = _plan(capp, courses=0)
    client = signed_in_admin(capp)
    saved = _post_plan(client, plan_id, required_hours="90")
    assert SAVED in flashes(saved.text), flashes(saved.text)


# --- 章节: its course ---------------------------------------------------------------------


def _two_courses(app) -> tuple[int, int, int, int]:
    """Two courses of two chapters; the first course's second chapter learned by a trainee.
    Returns the ids of the learned chapter, of the first course's unlearned one, and of the
    two courses."""
    with app.app_context():
        plan = make_plan(courses=2, chapters=2)
        first, second = plan.courses[0].course, plan.courses[1].course
        learned = first.chapters[1]
        now = app.extensions["clock"].now()
        db.session.add(
            ChapterProgress(
                trainee_id=make_trainee(name="学过的人").id,
                chapter_id=learned.id,
                intervals=[[0, 60]],
                watched_seconds=60,
                position=60,
                completed_at=now,
                updated_at=now,
            )
        )
        db.session.commit()
        return learned.id, first.chapters[0].id, first.id, second.id


def _post_chapter(client, chapter_id: int, course_id: int, position: int, title: str = "第2章"):
    page = client.get(f"/admin/chapters/edit/?id={chapter_id}").text
    form = {
        "csrf_token": csrf_of(page),
        "course": str(course_id),
        "position": str(position),
        "title": title,
        "duration_s": "60",
        "video_url": "/static/media/demo.mp4",
    }
    return client.post(f"/admin/chapters/edit/?id={chapter_id}", data=form, follow_redirects=True)


def test_a_learned_chapter_is_not_moved_out_of_its_course(capp):
    learned, _, first, second = _two_courses(capp)
    client = signed_in_admin(capp)
    refused = _post_chapter(client, learned, second, position=3)
    shown = flashes(refused.text)
    assert SAVED not in shown
    assert "该章节已有学员的学习记录，不能移到其他课程" in shown, shown
    with capp.app_context():
        chapter = db.session.get(Chapter, learned)
        assert (chapter.course_id, chapter.position) == (first, 2)
    assert _audited(capp, "chapters.update", learned) == 0


def test_an_unlearned_chapter_moves_and_a_learned_one_is_edited_in_place(capp):
    learned, unlearned, first, second = _two_courses(capp)
    client = signed_in_admin(capp)
    moved = _post_chapter(client, unlearned, second, position=3, title="第1章")
    assert SAVED in flashes(moved.text), flashes(moved.text)
    retitled = _post_chapter(client, learned, first, position=2, title="第2章（修订）")
    assert SAVED in flashes(retitled.text), flashes(retitled.text)
    with capp.app_context():
        assert db.session.get(Chapter, unlearned).course_id == second
        assert db.session.get(Chapter, learned).title == "第2章（修订）"


def test_chapters_name_their_course_in_the_list_and_the_form(capp):
    """An operator adding or checking chapters reads which course each belongs to (the list
    and the 课程 choice showed `<Course 1>`)."""
    with capp.app_context():
        plan = make_plan(courses=2, chapters=1)
        titles = [(link.course.title, link.course.code) for link in plan.courses]
        db.session.commit()
    client = signed_in_admin(capp)
    listing = client.get("/admin/chapters/").text
    form = client.get("/admin/chapters/new/").text
    for title, code in titles:
        assert f"{title}（{code}）" in listing
        assert f"{title}（{code}）" in form
    assert "&lt;Course" not in listing and "&lt;Course" not in form
