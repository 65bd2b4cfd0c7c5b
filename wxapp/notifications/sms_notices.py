"""Outbox events told by SMS instead of a template message (pure: a typed event in, an SMS out).

`PhoneReplaced` goes to the account's OLD phone, whatever WeChat user is bound: the owner
whose account was taken over may have lost the binding with it, but still has the phone.
Template `SMS_TEMPLATE_PHONE_CHANGED` (an approved 通知 template, fixed text and the hotline
in it): "您的继续教育培训账号绑定的手机号已由{1}更换为 {2}。如非本人申请，请立即致电
400-023-9229。", {1} who replaced it, {2} the new phone masked ("138****8001": the event
never holds the full new number).
"""

from __future__ import annotations

from dataclasses import dataclass

from wxapp import events

# The event types sent by SMS, and the setting naming each one's template.
EVENTS: dict[str, str] = {events.PhoneReplaced.event_type: "SMS_TEMPLATE_PHONE_CHANGED"}

# {1} of the template: "已由平台客服更换为 …", "已由本人在个人信息中更换为 …".
REPLACED_BY = {
    events.ReplacedBy.SUPPORT: "平台客服",
    events.ReplacedBy.SELF: "本人在个人信息中",
}


@dataclass(frozen=True)
class Sms:
    phone: str  # 11 digits, mainland China
    template_setting: str
    params: tuple[str, ...]


def render(event: events.Event) -> Sms:
    """The SMS for one outbox event; KeyError for a type not sent by SMS."""
    if not isinstance(event, events.PhoneReplaced):
        raise KeyError(event.event_type)
    return Sms(
        phone=event.old_phone,
        template_setting=EVENTS[event.event_type],
        params=(REPLACED_BY[events.ReplacedBy(event.by)], event.new_phone_masked),
    )
