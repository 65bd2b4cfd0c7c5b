"""Template rendering, retry decisions and template settings: pure, no app."""

from datetime import UTC, datetime, timedelta

import pytest

from wxapp.config import ConfigError, load_config
from wxapp.notifications import rules, templates

NOW = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)
PAYMENT = templates.Template(
    "tpl-pay", {"order_no": "character_string1", "plan": "thing2", "amount": "amount3"}
)


def _render(event_type, payload, template, subject="order:WX2025061600000001"):
    return templates.render(
        event_type=event_type,
        subject=subject,
        payload=payload,
        openid="o_x",
        template=template,
        public_base="https://edu.example.cn",
        client_msg_id="outbox-1",
    )


def test_payment_message_has_order_number_plan_and_amount_in_yuan():
    body = _render(
        "payment_succeeded",
        {"out_trade_no": "WX2025061600000001", "plan_title": "2025年专业科目", "amount_fen": 9000},
        PAYMENT,
    )
    assert body["data"] == {
        "character_string1": {"value": "WX2025061600000001"},
        "thing2": {"value": "2025年专业科目"},
        "amount3": {"value": "90.00元"},
    }
    assert body["url"] == "https://edu.example.cn/auth/wechat?next=/h5/orders"
    assert body["touser"] == "o_x" and body["template_id"] == "tpl-pay"


def test_plan_and_certificate_messages_link_to_the_certificates_page():
    plan = templates.Template("tpl-plan", {"plan": "thing1", "hours": "thing2", "note": "thing3"})
    body = _render("plan_completed", {"plan_title": "公需科目", "hours": 30}, plan, "plan:3")
    assert [v["value"] for v in body["data"].values()] == ["公需科目", "30学时", "可打印证书"]
    assert body["url"].endswith("/auth/wechat?next=/h5/certificates")
    cert = templates.Template(
        "tpl-cert", {"plan": "thing1", "serial": "character_string2", "hours": "thing3"}
    )
    body = _render(
        "certificate_issued",
        {"serial": "CQJX2025ZY000001", "plan_title": "专业", "hours": "60.0"},
        cert,
        "certificate:CQJX2025ZY000001",
    )
    assert body["data"]["character_string2"]["value"] == "CQJX2025ZY000001"
    assert body["data"]["thing3"]["value"] == "60学时"


def test_values_are_cut_to_wechats_limits_and_never_empty():
    long_title = "重庆市专业技术人员继续教育公需科目培训项目（二〇二五年度）"
    body = _render("payment_succeeded", {"plan_title": long_title}, PAYMENT)
    assert len(body["data"]["thing2"]["value"]) == 20
    assert body["data"]["thing2"]["value"].endswith("…")
    assert body["data"]["amount3"]["value"] == templates.PLACEHOLDER  # no amount in payload
    assert body["data"]["character_string1"]["value"] == "WX2025061600000001"  # from subject


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
