"""How the console's pages show a time, an amount, a pushed event and a refund (the views
pass these to templates): one table of words for each, whichever page shows it."""

from __future__ import annotations

from datetime import datetime

from wxapp import events
from wxapp.infra.clock import local
from wxapp.infra.texts import yuan as _yuan
from wxapp.orders.refund_rule import console_reason
from wxapp.orders.refunds import SYSTEM

# What each outbox event is called on 消息推送 and a trainee's 推送的消息 (every type in
# wxapp.events.EVENT_CLASSES has one; a test checks).
EVENT_NAMES = {
    events.PaymentSucceeded.event_type: "支付成功",
    events.ChapterLearned.event_type: "章节学完",
    events.CourseLearned.event_type: "课程学完",
    events.PlanCompleted.event_type: "项目完成",
    events.CertificateIssued.event_type: "证书颁发",
    events.WechatRebound.event_type: "微信改绑",
    events.UnitReminded.event_type: "学习提醒",
    events.PhoneReplaced.event_type: "手机号更换短信",
}

REFUND_STATES = {
    "PENDING": "待提交",
    "PROCESSING": "退款处理中",
    "SUCCESS": "退款成功",
    "CLOSED": "退款关闭",
    "ABNORMAL": "退款异常",
}


def when(value: datetime | str | None) -> str:
    """Shanghai time to the minute; "" for none. A string is an ISO time with its offset,
    as the accounts area's history items carry them."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def yuan(fen: int | None) -> str:
    """分 as 元 ("90.00"); "—" for no amount (a difference only one side has)."""
    return "—" if fen is None else _yuan(fen)


def event_name(event_type: str) -> str:
    """The event's Chinese name; its code when it has none (a row older than the table)."""
    return EVENT_NAMES.get(event_type, event_type)


def refund_reason(reason: str | None) -> str:
    """Why a refund was made, as 财务 and 客服 read it (`refund_rule.console_reason`)."""
    return console_reason(reason)


def refund_requester(requested_by: str | None) -> str:
    """Who started a refund: 系统自动 for an automatic one, else the operator as recorded."""
    return "系统自动" if requested_by == SYSTEM else (requested_by or "")
