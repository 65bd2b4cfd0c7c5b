"""Template messages for the pushed outbox events (pure: a typed event in, a message out).

Each pushed event type has a template in the 公众号 console; its id and the names of its
fields come from settings (`WECHAT_TEMPLATE_<NAME>` and `WECHAT_TEMPLATE_<NAME>_FIELDS`),
as "logical=wechat_key" pairs, because the keys (`thing2`, `amount3`, ...) are fixed by
the template chosen there, not by us. The link goes through 网页授权 to the H5 page.

Each renderer takes the event class of `wxapp.events` the worker parsed the row into:
- `PaymentSucceeded`: order number, plan title, amount (分 shown as 元); when members had
  already bought the plan, what is refunded instead of the title;
- `CourseLearned`: course title, its 学时, and the plan's 学时 done/required
  ("计划已完成30/60学时"); only a course that counted toward no paid plan says
  "请查看我的进度" instead;
- `PlanCompleted`: plan title, 学时 done, "可打印证书" and what the year still lacks;
- `CertificateIssued`: plan title, serial, 学时;
- `WechatRebound`: the masked name, when (Shanghai time), and what to do if it was not
  the user (sent to the WeChat user the account was bound to before, not the new one);
  when customer service replaced the phone, the new phone (masked) instead of the name;
  when customer service unbound it, that;
- `UnitReminded`: the unit, the year's shortfall, a request to finish (一键提醒).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from wxapp import events
from wxapp.infra.clock import local
from wxapp.infra.texts import hours_number as number_text
from wxapp.infra.texts import yuan

# Logical fields each template must map, the settings' suffix, and the H5 page it links to.
EVENTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    events.PaymentSucceeded.event_type: ("PAYMENT", ("order_no", "plan", "amount"), "/h5/orders"),
    events.CourseLearned.event_type: ("COURSE", ("course", "hours", "progress"), "/h5/progress"),
    events.PlanCompleted.event_type: ("PLAN", ("plan", "hours", "note"), "/h5/certificates"),
    events.CertificateIssued.event_type: (
        "CERTIFICATE",
        ("plan", "serial", "hours"),
        "/h5/certificates",
    ),
    events.WechatRebound.event_type: ("REBIND", ("account", "time", "note"), "/h5/progress"),
    events.UnitReminded.event_type: ("REMIND", ("unit", "shortfall", "note"), "/h5/progress"),
}

# What `make run` and the tests use (the sandbox accepts any id and any keys); the keys
# follow the 类目模板 naming of today's console.
SANDBOX_TEMPLATES: dict[str, tuple[str, str]] = {
    "PAYMENT": (
        "sbx_tpl_payment_succeeded",
        "order_no=character_string1,plan=thing2,amount=amount3",
    ),
    "COURSE": ("sbx_tpl_course_learned", "course=thing1,hours=thing2,progress=thing3"),
    "PLAN": ("sbx_tpl_plan_completed", "plan=thing1,hours=thing2,note=thing3"),
    "CERTIFICATE": (
        "sbx_tpl_certificate_issued",
        "plan=thing1,serial=character_string2,hours=thing3",
    ),
    "REBIND": ("sbx_tpl_wechat_rebound", "account=thing1,time=time2,note=thing3"),
    "REMIND": ("sbx_tpl_unit_reminded", "unit=thing1,shortfall=thing2,note=thing3"),
}

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
# WeChat refuses values longer than these, by the key's type prefix (47003).
_LIMITS = (("character_string", 32), ("thing", 20), ("phrase", 5), ("car_number", 8))
PLACEHOLDER = "—"


@dataclass(frozen=True)
class Template:
    template_id: str
    fields: Mapping[str, str]  # logical name -> the template's key


def parse_fields(setting: str, raw: str, required: tuple[str, ...]) -> dict[str, str]:
    """ "order_no=character_string1,plan=thing2" -> {"order_no": "character_string1", ...}.

    Raises ValueError with a message naming `setting` when malformed or incomplete.
    """
    fields: dict[str, str] = {}
    for part in raw.split(","):
        name, sep, key = (s.strip() for s in part.partition("="))
        if not sep or name not in required or not _KEY.match(key):
            raise ValueError(
                f"{setting} must be name=key pairs with names {', '.join(required)}; "
                f"got {part.strip()!r}"
            )
        fields[name] = key
    missing = [name for name in required if name not in fields]
    if missing:
        raise ValueError(f"{setting} lacks {', '.join(missing)}")
    return fields


def fit(key: str, value: str) -> str:
    """Cut `value` to what WeChat accepts for a key of this type."""
    for prefix, limit in _LIMITS:
        if key.startswith(prefix) and len(value) > limit:
            return value[: limit - 1] + "…" if prefix == "thing" else value[:limit]
    return value or PLACEHOLDER


def hours_text(hours: Decimal | int) -> str:
    """30 -> "30学时", Decimal("1.50") -> "1.5学时"."""
    return f"{number_text(hours)}学时"


def yuan_text(amount_fen: int) -> str:
    """9000 -> "90.00元" (money is integer 分 everywhere)."""
    return f"{yuan(amount_fen)}元"


ALREADY_BOUGHT = "您已购买该项目，本次费用将原路退回"


def _payment(event: events.PaymentSucceeded) -> dict[str, str]:
    # A payment for members who had all bought the plan already opens nothing: saying
    # only 支付成功 with the plan would tell them it did. The amount is still what was paid.
    twice = event.already_enrolled or 0
    if twice >= event.quantity:
        plan = ALREADY_BOUGHT
    elif twice:
        plan = f"{twice}人已购买过，其费用将退回"
    else:
        plan = event.plan_title
    return {"order_no": event.out_trade_no, "plan": plan, "amount": yuan_text(event.amount_fen)}


def _course(event: events.CourseLearned) -> dict[str, str]:
    plan = event.plan
    if plan is None:  # learned under no paid plan: there is no plan progress to show
        progress = "请查看我的进度"
    else:
        progress = f"计划已完成{number_text(plan.hours_done)}/{hours_text(plan.required_hours)}"
    return {"course": event.course_title, "hours": hours_text(event.hours), "progress": progress}


def _plan(event: events.PlanCompleted) -> dict[str, str]:
    # The plan is one kind: its certificate can be printed while the year still lacks the
    # other kind, and the trainee should not read "done" for the year.
    if event.year_shortfall is None:  # a row written before the year was told
        note = "可打印证书"
    elif event.year_shortfall:
        note = f"可打印证书，{event.year_shortfall}"  # "…，还差公需10、专业5学时": 19
    else:
        note = "可打印证书，本年度已达标"
    return {"plan": event.plan_title, "hours": hours_text(event.hours_done), "note": note}


def _certificate(event: events.CertificateIssued) -> dict[str, str]:
    return {"plan": event.plan_title, "serial": event.serial, "hours": hours_text(event.hours)}


REBIND_NOTE = "如非本人操作请致电4000239229"
# A `thing` value holds 20 characters: "手机号已由客服更换为138****8001" would be 21.
PHONE_REPLACED = "手机号已由客服改为{phone}"
PHONE_REPLACED_NOTE = "如非本人申请请致电4000239229"
UNBOUND_BY_SUPPORT = "{name}的学习账号已由客服解除微信绑定"


def _rebound(event: events.WechatRebound) -> dict[str, str]:
    when = local(datetime.fromisoformat(event.rebound_at))
    if event.new_phone_masked is not None:
        return {
            "account": PHONE_REPLACED.format(phone=event.new_phone_masked),
            "time": f"{when:%Y-%m-%d %H:%M}",
            "note": PHONE_REPLACED_NOTE,
        }
    if event.by_support:
        return {
            "account": UNBOUND_BY_SUPPORT.format(name=event.name_masked),
            "time": f"{when:%Y-%m-%d %H:%M}",
            "note": PHONE_REPLACED_NOTE,
        }
    return {
        "account": f"{event.name_masked}的学习账号已改绑其他微信",
        "time": f"{when:%Y-%m-%d %H:%M}",
        "note": REBIND_NOTE,
    }


def _reminded(event: events.UnitReminded) -> dict[str, str]:
    return {
        "unit": event.unit_name,
        "shortfall": event.shortfall,
        "note": f"请尽快完成{event.year}年度学习",
    }


_RENDERERS: dict[type[events.Event], Callable[[Any], dict[str, str]]] = {
    events.PaymentSucceeded: _payment,
    events.CourseLearned: _course,
    events.PlanCompleted: _plan,
    events.CertificateIssued: _certificate,
    events.WechatRebound: _rebound,
    events.UnitReminded: _reminded,
}


def link(public_base: str, event_type: str) -> str:
    """The message's link: 网页授权 first, then the H5 page for this event."""
    page = EVENTS[event_type][2]
    return f"{public_base}/auth/wechat?next={quote(page, safe='/')}"


def render(
    *,
    event: events.Event,
    openid: str,
    template: Template,
    public_base: str,
    client_msg_id: str,
) -> dict[str, Any]:
    """The body of `message/template/send` for one outbox event.

    `client_msg_id` lets WeChat drop a second send of the same row (for ten minutes), which
    narrows the duplicate window of an at-least-once worker. An event type that is never
    pushed (chapter_learned) raises KeyError.
    """
    values = _RENDERERS[type(event)](event)
    return {
        "touser": openid,
        "template_id": template.template_id,
        "url": link(public_base, event.event_type),
        "data": {key: {"value": fit(key, values[name])} for name, key in template.fields.items()},
        "client_msg_id": client_msg_id,
    }
