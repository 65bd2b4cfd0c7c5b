"""The SMS notice of a replaced phone (pure): what it says, to whom, and what the worker does
when Tencent Cloud refuses it. The events come from their producer in
tests/api/test_phone_replaced_sms.py; here only the class, as a consumer parses it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wxapp import events
from wxapp.notifications import rules, sms_notices

NOW = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)


def _event(by: str) -> events.PhoneReplaced:
    return events.PhoneReplaced(
        old_phone="13800138000",
        new_phone_masked="139****5678",
        by=by,
        replaced_at=NOW.isoformat(),
    )


@pytest.mark.parametrize(
    ("by", "who"),
    [(events.ReplacedBy.SUPPORT, "平台客服"), (events.ReplacedBy.SELF, "本人在个人信息中")],
)
def test_the_old_phone_is_told_who_and_the_masked_new_phone(by, who):
    stored = events.to_payload(_event(by))
    sms = sms_notices.render(events.parse("phone_replaced", stored))
    assert sms == sms_notices.Sms("13800138000", "SMS_TEMPLATE_PHONE_CHANGED", (who, "139****5678"))


def test_an_unknown_actor_is_refused_at_parse_and_at_construction():
    payload = events.to_payload(_event(events.ReplacedBy.SELF)) | {"by": "robot"}
    with pytest.raises(events.MalformedEvent) as info:
        events.parse("phone_replaced", payload)
    assert info.value.field == "by"
    with pytest.raises(events.MalformedEvent):
        _event("robot")


def _decide(code: str | None, attempts: int = 1) -> rules.Decision:
    return rules.decide(
        code, None, attempts=attempts, max_attempts=8, now=NOW, base_s=30, cap_s=3600
    )


def test_tencent_cloud_refusals_are_final_retried_or_held_for_the_morning():
    assert _decide("InvalidParameterValue.IncorrectPhoneNumber").give_up
    assert _decide("FailedOperation.TemplateIncorrectOrUnapproved").give_up
    network = _decide("ClientNetworkError")
    assert not network.give_up and network.error.startswith("ClientNetworkError 短信服务网络")
    assert _decide("ClientNetworkError", attempts=8).give_up
    daily = _decide("LimitExceeded.PhoneNumberDailyLimit", attempts=3)
    assert not daily.give_up and daily.counts  # each morning counts: it cannot wait forever
    assert daily.retry_at == datetime(2025, 6, 17, 0, 0, tzinfo=UTC)  # 08:00 Beijing time
    last = _decide("LimitExceeded.PhoneNumberDailyLimit", attempts=8)
    assert last.give_up and last.error.endswith("已重试 8 天")
