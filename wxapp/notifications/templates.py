"""Template messages for the pushed outbox events (pure: plain values in, a message out).

Each pushed event type has a template in the 公众号 console; its id and the names of its
fields come from settings (`WECHAT_TEMPLATE_<NAME>` and `WECHAT_TEMPLATE_<NAME>_FIELDS`),
as "logical=wechat_key" pairs, because the keys (`thing2`, `amount3`, ...) are fixed by
the template chosen there, not by us. The link goes through 网页授权 to the H5 page.

Payloads the renderers read (missing keys fall back to a neutral text, never an error):
- payment_succeeded: out_trade_no, plan_title, amount_fen
- course_learned: course_title, hours, plan_title, hours_done, required_hours
- plan_completed: plan_title, hours (or required_hours)
- certificate_issued: serial, plan_title, hours (as wxapp.certificates writes it)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

# Logical fields each template must map, the settings' suffix, and the H5 page it links to.
EVENTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "payment_succeeded": ("PAYMENT", ("order_no", "plan", "amount"), "/h5/orders"),
    "course_learned": ("COURSE", ("course", "hours", "progress"), "/h5/progress"),
    "plan_completed": ("PLAN", ("plan", "hours", "note"), "/h5/certificates"),
    "certificate_issued": ("CERTIFICATE", ("plan", "serial", "hours"), "/h5/certificates"),
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


def hours_text(value: Any) -> str:
    """30 -> "30学时", "1.50" -> "1.5学时"; unknown -> the placeholder."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return PLACEHOLDER
    if not number.is_finite():
        return PLACEHOLDER
    text = format(number.normalize(), "f")
    return f"{text}学时"


def yuan_text(amount_fen: Any) -> str:
    """9000 -> "90.00元" (money is integer 分 everywhere)."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        return PLACEHOLDER
    sign = "-" if amount_fen < 0 else ""
    fen = abs(amount_fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}元"


def _subject_tail(subject: str) -> str:
    return subject.split(":", 1)[1] if ":" in subject else subject


def _payment(payload: Mapping[str, Any], subject: str) -> dict[str, str]:
    return {
        "order_no": str(payload.get("out_trade_no") or _subject_tail(subject)),
        "plan": str(payload.get("plan_title") or PLACEHOLDER),
        "amount": yuan_text(payload.get("amount_fen")),
    }


def _course(payload: Mapping[str, Any], subject: str) -> dict[str, str]:
    done, required = payload.get("hours_done"), payload.get("required_hours")
    if done is not None and required is not None:
        progress = f"计划已完成{hours_text(done).removesuffix('学时')}/{hours_text(required)}"
    else:
        progress = "请查看我的进度"
    return {
        "course": str(payload.get("course_title") or PLACEHOLDER),
        "hours": hours_text(payload.get("hours")),
        "progress": progress,
    }


def _plan(payload: Mapping[str, Any], subject: str) -> dict[str, str]:
    hours = payload.get("hours", payload.get("required_hours"))
    return {
        "plan": str(payload.get("plan_title") or PLACEHOLDER),
        "hours": hours_text(hours),
        "note": "可打印证书",
    }


def _certificate(payload: Mapping[str, Any], subject: str) -> dict[str, str]:
    return {
        "plan": str(payload.get("plan_title") or PLACEHOLDER),
        "serial": str(payload.get("serial") or _subject_tail(subject)),
        "hours": hours_text(payload.get("hours")),
    }


_RENDERERS: dict[str, Callable[[Mapping[str, Any], str], dict[str, str]]] = {
    "payment_succeeded": _payment,
    "course_learned": _course,
    "plan_completed": _plan,
    "certificate_issued": _certificate,
}


def link(public_base: str, event_type: str) -> str:
    """The message's link: 网页授权 first, then the H5 page for this event."""
    page = EVENTS[event_type][2]
    return f"{public_base}/auth/wechat?next={quote(page, safe='/')}"


def render(
    *,
    event_type: str,
    subject: str,
    payload: Mapping[str, Any],
    openid: str,
    template: Template,
    public_base: str,
    client_msg_id: str,
) -> dict[str, Any]:
    """The body of `message/template/send` for one outbox event.

    `client_msg_id` lets WeChat drop a second send of the same row (for ten minutes), which
    narrows the duplicate window of an at-least-once worker.
    """
    values = _RENDERERS[event_type](payload, subject)
    return {
        "touser": openid,
        "template_id": template.template_id,
        "url": link(public_base, event_type),
        "data": {key: {"value": fit(key, values[name])} for name, key in template.fields.items()},
        "client_msg_id": client_msg_id,
    }
