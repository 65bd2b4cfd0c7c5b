"""Granting enrollments: once per trainee and plan, and earlier learning counts at once."""

from decimal import Decimal

from models import CourseCompletion, Enrollment, PlanCourse, TrainingPlan, db
from tests.factories import make_plan, make_trainee
from wxapp.orders.enrollments import grant_enrollment, grant_enrollments


def test_a_grant_happens_once(app, clock):
    with app.app_context():
        trainee, plan = make_trainee(), make_plan()
        assert grant_enrollment(trainee.id, plan.id, clock.now()) is True
        assert grant_enrollment(trainee.id, plan.id, clock.now()) is False
        assert grant_enrollments([trainee.id], plan.id, clock.now()) == 0
        count = db.session.execute(
            db.select(db.func.count()).select_from(Enrollment).where(Enrollment.plan_id == plan.id)
        ).scalar()
        assert count == 1


def test_a_course_learned_under_another_plan_counts_toward_the_new_one(app, clock):
    with app.app_context():
        trainee = make_trainee()
        old = make_plan(year=2025, required_hours=60, courses=2, course_hours="30")
        shared_course_id = old.courses[0].course_id
        db.session.add(
            CourseCompletion(
                trainee_id=trainee.id,
                course_id=shared_course_id,
                hours=Decimal("30"),
                completed_at=clock.now(),
            )
        )
        # Another plan of the same year and kind (the catalogue refuses a course shared by
        # two years or by both kinds: tests/integration/test_catalogue_load.py).
        new = make_plan(year=2025, required_hours=60, courses=1, course_hours="30")
        db.session.add(PlanCourse(plan_id=new.id, course_id=shared_course_id, position=9))
        db.session.flush()

        assert grant_enrollment(trainee.id, new.id, clock.now()) is True
        enrollment = db.session.execute(
            db.select(Enrollment).where(Enrollment.plan_id == new.id)
        ).scalar_one()
        assert enrollment.hours_done == Decimal("30")
        assert enrollment.completed_at is None  # 30 of 60: not yet
        assert db.session.get(TrainingPlan, new.id).required_hours == 60
