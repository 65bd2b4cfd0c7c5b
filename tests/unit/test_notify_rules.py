"""Template rendering, retry decisions and template settings: pure, no app.

The renderers take the typed events of `wxapp.events`, built here as the producers build
them (tests/integration/test_notify_course_message.py sends ones the real producers wrote).
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from wxapp import events
from wxapp.config import ConfigError, load_config
from wxapp.notifications import rules, templates

NOW = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)
PAYMENT = templates.Template(
    "tpl-pay", {"order_no": "character_string1", "plan": "thing2", "amount": "amount3"}
)
COURSE = templates.Template(
    "tpl-course", {"course": "thing1", "hours": "thing2", "progress": "thing3"}
)


def _render(event, template):
    return templates.render(
        event=event,
        openid="o_x",
        template=template,
        public_base="https://edu.example.cn",
        client_msg_id="outbox-1",
    )


def _payment(plan_title="2025年专业科目", amount_fen=9000):
    return events.PaymentSucceeded(
        out_trade_no="WX2025061600000001",
        kind="individual",
        plan_id=3,
        plan_title=plan_title,
        description=plan_title,
        amount_fen=amount_fen,
        quantity=1,
    )


def test_payment_message_has_order_number_plan_and_amount_in_yuan():
    body = _render(_payment(), PAYMENT)
    assert body["data"] == {
        "character_string1": {"value": "WX2025061600000001"},
        "thing2": {"value": "2025年专业科目"},
        "amount3": {"value": "90.00元"},
    }
    assert body["url"] == "https://edu.example.cn/auth/wechat?next=/h5/orders"
    assert body["touser"] == "o_x" and body["template_id"] == "tpl-pay"


def test_course_message_shows_the_plans_hours_done_of_required():
    plan = events.PlanProgress(
        plan_id=3, title="专业", hours_done=Decimal("31.5"), required_hours=60
    )
    event = events.CourseLearned(
        course_id=7, course_title="建筑安全实务", hours=Decimal("1.50"), plan=plan
    )
    body = _render(event, COURSE)
    assert body["data"] == {
        "thing1": {"value": "建筑安全实务"},
        "thing2": {"value": "1.5学时"},
        "thing3": {"value": "计划已完成31.5/60学时"},
    }
    assert body["url"].endswith("/auth/wechat?next=/h5/progress")


def test_a_course_in_no_paid_plan_points_to_my_progress():
    event = events.CourseLearned(course_id=7, course_title="选修课", hours=Decimal("2.0"))
    assert _render(event, COURSE)["data"]["thing3"] == {"value": "请查看我的进度"}


def test_plan_and_certificate_messages_link_to_the_certificates_page():
    plan = templates.Template("tpl-plan", {"plan": "thing1", "hours": "thing2", "note": "thing3"})
    completed = events.PlanCompleted(
        plan_id=3,
        plan_title="公需科目",
        year=2025,
        kind="public",
        hours_done=Decimal("30.0"),
        required_hours=30,
    )
    body = _render(completed, plan)
    assert [v["value"] for v in body["data"].values()] == ["公需科目", "30学时", "可打印证书"]
    assert body["url"].endswith("/auth/wechat?next=/h5/certificates")
    cert = templates.Template(
        "tpl-cert", {"plan": "thing1", "serial": "character_string2", "hours": "thing3"}
    )
    issued = events.CertificateIssued(
        certificate_id=1,
        serial="CQJX2025ZY000001",
        plan_id=3,
        plan_title="专业",
        year=2025,
        kind="specialist",
        hours=Decimal("60.0"),
    )
    body = _render(issued, cert)
    assert body["data"]["character_string2"]["value"] == "CQJX2025ZY000001"
    assert body["data"]["thing3"]["value"] == "60学时"


def test_values_are_cut_to_wechats_limits_and_never_empty():
    long_title = "重庆市专业技术人员继续教育公需科目培训项目（二〇二五年度）"
    body = _render(_payment(plan_title=long_title), PAYMENT)
    assert len(body["data"]["thing2"]["value"]) == 20
    assert body["data"]["thing2"]["value"].endswith("…")
    assert _render(_payment(plan_title=""), PAYMENT)["data"]["thing2"]["value"] == (
        templates.PLACEHOLDER
    )


def test_an_event_that_is_never_pushed_has_no_message():
    with pytest.raises(KeyError):
        _render(events.ChapterLearned(chapter_id=1, course_id=7), COURSE)


def test_permanent_errors_give_up_at_once():
    for code in (43004, 40003, 40037):
        decision = rules.decide(
            code, "x", attempts=1, max_attempts=8, now=NOW, base_s=30, cap_s=3600
        )
        assert decision.give_up and str(code) in decision.error


def test_transient_errors_back_off_exponentially_then_give_up():
    delays = []
    for attempt in range(1, 8):
        decision = rules.decide(
            -1, "system error", attempts=attempt, max_attempts=8, now=NOW, base_s=30, cap_s=600
        )
        assert not decision.give_up
        delays.append((decision.retry_at - NOW) / timedelta(seconds=1))
    assert delays == [30, 60, 120, 240, 480, 600, 600]
    last = rules.decide(None, None, attempts=8, max_attempts=8, now=NOW, base_s=30, cap_s=600)
    assert last.give_up and "network" in last.error


def test_template_fields_setting_is_checked_at_start_up(tmp_path):
    with pytest.raises(ConfigError, match="WECHAT_TEMPLATE_COURSE_FIELDS"):
        load_config(tmp_path, {"WXAPP_SANDBOX": "1", "WECHAT_TEMPLATE_COURSE_FIELDS": "x=thing1"})
    cfg = load_config(
        tmp_path,
        {
            "WXAPP_SANDBOX": "1",
            "WECHAT_TEMPLATE_COURSE": "tplC",
            "WECHAT_TEMPLATE_COURSE_FIELDS": "course=thing9, hours=thing8, progress=thing7",
        },
    )
    assert cfg["WECHAT_TEMPLATE_COURSE"] == "tplC"
    assert cfg["WECHAT_TEMPLATE_COURSE_FIELDS"] == {
        "course": "thing9",
        "hours": "thing8",
        "progress": "thing7",
    }
