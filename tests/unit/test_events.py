"""The outbox events as types: each round-trips through its payload, the payloads of rows
written before the classes still parse, and a bad payload is refused naming the field."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from wxapp import events

PLAN = events.PlanProgress(
    plan_id=3, title="2025年专业科目培训项目", hours_done=Decimal("30.0"), required_hours=60
)
EXAMPLES = [
    events.PaymentSucceeded(
        out_trade_no="WX2025061600000001",
        kind="group",
        plan_id=3,
        plan_title="2025年专业科目培训项目",
        description="2025年专业科目培训项目 x2",
        amount_fen=18000,
        quantity=2,
    ),
    events.ChapterLearned(chapter_id=11, course_id=7),
    events.CourseLearned(
        course_id=7, course_title="建筑安全实务", hours=Decimal("30.0"), plan=PLAN
    ),
    events.CourseLearned(course_id=8, course_title="选修课", hours=Decimal("1.5")),
    events.PlanCompleted(
        plan_id=3,
        plan_title="2025年专业科目培训项目",
        year=2025,
        kind="specialist",
        hours_done=Decimal("61.5"),
        required_hours=60,
    ),
    events.CertificateIssued(
        certificate_id=42,
        serial="CQJX2025ZY0000042",
        plan_id=3,
        plan_title="2025年专业科目培训项目",
        year=2025,
        kind="specialist",
        hours=Decimal("60.0"),
    ),
    events.WechatRebound(
        old_openid="o_old_wechat_user_000000001",
        rebound_at="2025-06-16T02:00:00+00:00",
        name_masked="王*",
    ),
    events.UnitReminded(
        reminder_id=5, unit_name="垫江县人民医院", year=2025, shortfall="还差公需30学时"
    ),
    events.PhoneReplaced(
        old_phone="13800138000",
        new_phone_masked="139****5678",
        by=events.ReplacedBy.SUPPORT,
        replaced_at="2025-06-16T02:00:00+00:00",
    ),
]


def test_every_event_type_has_a_class_and_an_example():
    assert set(events.EVENT_CLASSES) == {type(e).event_type for e in EXAMPLES}


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_each_event_round_trips_through_json(event):
    stored = json.loads(json.dumps(events.to_payload(event)))  # as the JSON column keeps it
    assert events.parse(event.event_type, stored) == event


def test_subjects_are_todays_unique_keys():
    assert [e.subject for e in EXAMPLES] == [
        "order:WX2025061600000001",
        "chapter:11",
        "course:7",
        "course:8",
        "plan:3",
        "certificate:CQJX2025ZY0000042",
        "rebind:2025-06-16T02:00:00+00:00",
        "reminder:5",
        "phone:2025-06-16T02:00:00+00:00",
    ]


def test_hours_are_decimal_strings_and_money_integer_fen():
    payload = events.to_payload(EXAMPLES[2])
    assert payload["hours"] == "30.0" and payload["plan"]["hours_done"] == "30.0"
    assert events.to_payload(EXAMPLES[0])["amount_fen"] == 18000


def test_rows_written_before_the_classes_still_parse():
    """What the producers wrote until now: 学时 as floats, the plan in flat plan_* keys."""
    course = events.parse(
        "course_learned",
        {
            "course_id": 7,
            "course_title": "建筑安全实务",
            "hours": 30.0,
            "plan_id": 3,
            "plan_title": "2025年专业科目培训项目",
            "plan_hours_done": 30.0,
            "plan_hours_required": 60,
            "plan_percent": 50,
        },
    )
    assert course == EXAMPLES[2]
    alone = events.parse("course_learned", {"course_id": 8, "course_title": "选修课", "hours": 1.5})
    assert alone == EXAMPLES[3]
    plan = events.parse(
        "plan_completed",
        {
            "plan_id": 3,
            "plan_title": "2025年专业科目培训项目",
            "year": 2025,
            "kind": "specialist",
            "hours_done": 61.5,
            "hours_text": "61.5",
            "required_hours": 60,
        },
    )
    assert plan == EXAMPLES[4]
    certificate = events.to_payload(EXAMPLES[5]) | {"hours": "60"}  # hours_text's "60"
    assert events.parse("certificate_issued", certificate).hours == Decimal("60")
    # A field added since (a rebound's `by_support`) takes its default in an older row.
    rebound = {k: v for k, v in events.to_payload(EXAMPLES[6]).items() if k != "by_support"}
    assert events.parse("wechat_rebound", rebound) == EXAMPLES[6]


def test_a_support_unbinding_round_trips_with_its_own_subject():
    unbound = events.WechatRebound(
        old_openid="o_old_wechat_user_000000001",
        rebound_at="2025-06-16T02:00:00+00:00",
        name_masked="王*",
        by_support=True,
    )
    assert events.parse("wechat_rebound", json.loads(json.dumps(events.to_payload(unbound)))) == (
        unbound
    )
    assert unbound.subject == "support:2025-06-16T02:00:00+00:00"
    bad = events.to_payload(unbound) | {"by_support": "yes"}
    with pytest.raises(events.MalformedEvent, match="field 'by_support' must be true or false"):
        events.parse("wechat_rebound", bad)


def _error(event_type, payload) -> events.MalformedEvent:
    with pytest.raises(events.MalformedEvent) as info:
        events.parse(event_type, payload)
    return info.value


def test_a_missing_field_is_named():
    payload = events.to_payload(EXAMPLES[2])
    del payload["course_title"]
    err = _error("course_learned", payload)
    assert (err.event_type, err.field) == ("course_learned", "course_title")
    assert str(err) == "course_learned: field 'course_title' is missing"


def test_a_missing_field_of_the_plan_is_named_with_its_path():
    payload = events.to_payload(EXAMPLES[2])
    del payload["plan"]["required_hours"]
    assert _error("course_learned", payload).field == "plan.required_hours"
    legacy = {"course_id": 7, "course_title": "x", "hours": 1.0, "plan_id": 3, "plan_title": "p"}
    assert _error("course_learned", legacy).field == "plan.hours_done"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("amount_fen", "90.00", "must be an integer, got str"),
        ("amount_fen", 90.0, "must be an integer, got float"),
        ("quantity", True, "must be an integer, got bool"),
        ("plan_title", 3, "must be a string, got int"),
        ("out_trade_no", None, "is missing"),
    ],
)
def test_a_wrong_type_is_named(field, value, problem):
    payload = events.to_payload(EXAMPLES[0]) | {field: value}
    err = _error("payment_succeeded", payload)
    assert str(err) == f"payment_succeeded: field {field!r} {problem}"


@pytest.mark.parametrize("hours", ["abc", "NaN", [30], {"value": 30}, True])
def test_hours_that_are_no_number_are_refused(hours):
    payload = events.to_payload(EXAMPLES[4]) | {"hours_done": hours}
    err = _error("plan_completed", payload)
    assert err.field == "hours_done" and "decimal number" in err.problem


def test_an_unknown_type_or_a_payload_that_is_no_object_is_refused():
    err = _error("grade_posted", {"plan_id": 3})
    assert str(err) == "grade_posted: unknown event type" and err.field is None
    assert "payload is list" in str(_error("plan_completed", [1, 2]))
    assert "payload is NoneType" in str(_error("plan_completed", None))


def test_a_producer_cannot_build_an_event_with_a_wrong_type():
    with pytest.raises(events.MalformedEvent, match="'hours' must be a Decimal, got float"):
        events.CourseLearned(course_id=7, course_title="x", hours=30.0)
    with pytest.raises(events.MalformedEvent, match="'plan.hours_done' must be a Decimal"):
        events.CourseLearned(
            course_id=7,
            course_title="x",
            hours=Decimal(30),
            plan=events.PlanProgress(plan_id=3, title="p", hours_done=30.0, required_hours=60),
        )
    with pytest.raises(events.MalformedEvent, match="'course_title' is missing"):
        events.CourseLearned(course_id=7, course_title=None, hours=Decimal(30))
