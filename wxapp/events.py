"""Outbox events as types: one frozen dataclass per event, and their payload (pure).

A producer builds the event (`CourseLearned(...)`) and `wxapp.outbox.add_event` stores
`to_payload(event)`; the notification worker reads it back with `parse(event_type,
payload)` into the same class. So producer and consumer share the field names through the
class, never through dict keys each side spells for itself.

In the payload 学时 are decimal strings ("30.0"), money integer 分, ids integers. Parsing
also accepts what rows written before these classes carry (学时 as JSON numbers, the flat
`plan_*` keys of course_learned), so they still send; keys no field reads are ignored. A
payload that does not fit its class, or an unknown type, raises `MalformedEvent` naming
the type and the field.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar, Union


class MalformedEvent(ValueError):
    """A payload that does not parse into its event class, or an unknown event type."""

    def __init__(self, event_type: str, field: str | None, problem: str):
        self.event_type = event_type
        self.field = field
        self.problem = problem
        where = f"field {field!r} " if field else ""
        super().__init__(f"{event_type}: {where}{problem}")


@dataclass(frozen=True)
class Event:
    """The base of every outbox event: its type name and its outbox subject."""

    event_type: ClassVar[str]

    @property
    def subject(self) -> str:
        """The outbox subject: with the type and trainee, what makes the event unique."""
        raise NotImplementedError

    def __post_init__(self) -> None:
        # A producer passing a float, or None for a required field, fails here, before
        # anything is written.
        _check(self, self.event_type, "")

    @staticmethod
    def _legacy(payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The payload in today's shape, from a row written by an older producer."""
        return payload


@dataclass(frozen=True)
class PaymentSucceeded(Event):
    """An order was paid; the payer is told (sent to the payer, not to each trainee)."""

    event_type: ClassVar[str] = "payment_succeeded"
    out_trade_no: str
    kind: str  # individual | group
    plan_id: int
    plan_title: str
    description: str
    amount_fen: int
    quantity: int
    # Members who had already bought the plan: their share is refunded (None in rows
    # written before this field, read as none).
    already_enrolled: int | None = None

    @property
    def subject(self) -> str:
        return f"order:{self.out_trade_no}"


@dataclass(frozen=True)
class ChapterLearned(Event):
    """A chapter was learned (never pushed; kept for the record)."""

    event_type: ClassVar[str] = "chapter_learned"
    chapter_id: int
    course_id: int

    @property
    def subject(self) -> str:
        return f"chapter:{self.chapter_id}"


@dataclass(frozen=True)
class PlanProgress:
    """Where a paid plan stands after a course counted toward it: 学时 done of required."""

    plan_id: int
    title: str
    hours_done: Decimal
    required_hours: int


@dataclass(frozen=True)
class CourseLearned(Event):
    """A course was learned; `plan` is the plan it counted toward (the one the trainee
    was learning it under when there are several), None when no paid plan holds it."""

    event_type: ClassVar[str] = "course_learned"
    course_id: int
    course_title: str
    hours: Decimal
    plan: PlanProgress | None = None

    @property
    def subject(self) -> str:
        return f"course:{self.course_id}"

    @staticmethod
    def _legacy(payload: Mapping[str, Any]) -> Mapping[str, Any]:
        # Rows written before this class: the plan in flat plan_* keys (plan_percent dropped).
        if "plan" in payload or "plan_id" not in payload:
            return payload
        flat = {k: v for k, v in payload.items() if not k.startswith("plan_")}
        flat["plan"] = {
            "plan_id": payload.get("plan_id"),
            "title": payload.get("plan_title"),
            "hours_done": payload.get("plan_hours_done"),
            "required_hours": payload.get("plan_hours_required"),
        }
        return flat


@dataclass(frozen=True)
class PlanCompleted(Event):
    """A paid plan reached its required 学时; the certificate can be printed."""

    event_type: ClassVar[str] = "plan_completed"
    plan_id: int
    plan_title: str
    year: int
    kind: str
    hours_done: Decimal
    required_hours: int
    # What the year still lacks with this plan done ("还差公需30学时", "" when the year is
    # met): a plan of one kind completes, the year may not. None in rows written before.
    year_shortfall: str | None = None

    @property
    def subject(self) -> str:
        return f"plan:{self.plan_id}"


@dataclass(frozen=True)
class CertificateIssued(Event):
    """A plan's certificate was issued for the first time (re-issues are not events)."""

    event_type: ClassVar[str] = "certificate_issued"
    certificate_id: int
    serial: str
    plan_id: int
    plan_title: str
    year: int
    kind: str
    hours: Decimal

    @property
    def subject(self) -> str:
        return f"certificate:{self.serial}"


@dataclass(frozen=True)
class WechatRebound(Event):
    """The account left the WeChat user it was bound to, who is told at `old_openid` (not
    at the trainee's current binding, if any): it was bound to another WeChat user
    (password and SMS code given), or customer service replaced its phone and dropped the
    binding (`new_phone_masked` set, "138****8001"), or customer service dropped the binding
    alone (`by_support`: 解除微信绑定, or a temporary password), so an owner who did not ask
    hears of it.
    """

    event_type: ClassVar[str] = "wechat_rebound"
    old_openid: str
    rebound_at: str  # ISO 8601 with its offset
    name_masked: str  # "王*五": who the account is, without telling the old user the name
    # Set when customer service replaced the phone (None in a rebind, and in older rows).
    new_phone_masked: str | None = None
    by_support: bool = False

    @property
    def subject(self) -> str:
        if self.new_phone_masked is not None:
            kind = "phone"
        else:
            kind = "support" if self.by_support else "rebind"
        return f"{kind}:{self.rebound_at}"


class ReplacedBy(StrEnum):
    """Who replaced an account's phone (`PhoneReplaced.by`)."""

    SUPPORT = "support"  # customer service, for an owner who lost the old phone
    SELF = "self"  # the trainee, in 个人信息 (SMS code to the new phone, password typed again)


@dataclass(frozen=True)
class PhoneReplaced(Event):
    """The account's phone was replaced; the OLD phone is told by SMS (not the new one, not
    WeChat), so an owner whose account was taken over with public facts hears of it on the
    phone they still have. Only the new phone's masked form is kept ("138****8001")."""

    event_type: ClassVar[str] = "phone_replaced"
    old_phone: str
    new_phone_masked: str
    by: str  # a ReplacedBy value
    replaced_at: str  # ISO 8601 with its offset

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.by not in {member.value for member in ReplacedBy}:
            raise MalformedEvent(self.event_type, "by", f"must be support or self, got {self.by!r}")

    @property
    def subject(self) -> str:
        return f"phone:{self.replaced_at}"


@dataclass(frozen=True)
class UnitReminded(Event):
    """A unit administrator reminded one of its staff (一键提醒) that the year's 学时 are
    not met yet; `shortfall` is what is missing ("还差 30 公需学时")."""

    event_type: ClassVar[str] = "unit_reminded"
    reminder_id: int
    unit_name: str
    year: int
    shortfall: str

    @property
    def subject(self) -> str:
        return f"reminder:{self.reminder_id}"


EVENT_CLASSES: dict[str, type[Event]] = {
    cls.event_type: cls
    for cls in (
        PaymentSucceeded,
        ChapterLearned,
        CourseLearned,
        PlanCompleted,
        CertificateIssued,
        WechatRebound,
        PhoneReplaced,
        UnitReminded,
    )
}


def to_payload(event: Event) -> dict[str, Any]:
    """The JSON-safe payload stored in the outbox row."""
    return _encode(event)


def parse(event_type: str, payload: Any) -> Event:
    """The event of this type that `payload` describes; MalformedEvent when it does not."""
    cls = EVENT_CLASSES.get(event_type)
    if cls is None:
        raise MalformedEvent(event_type, None, "unknown event type")
    if not isinstance(payload, Mapping):
        raise MalformedEvent(event_type, None, f"payload is {type(payload).__name__}")
    return _decode(cls, cls._legacy(payload), event_type, "")


# --- one codec for every class, driven by the field types ------------------------------


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _optional(hint: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) for `X` or `X | None`."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _encode(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = _encode(value)
        elif isinstance(value, Decimal):
            out[f.name] = str(value)
        elif isinstance(value, str):
            out[f.name] = str(value)  # a StrEnum member as its plain value
        else:
            out[f.name] = value
    return out


def _decode(cls: type[Any], payload: Mapping[str, Any], event_type: str, prefix: str) -> Any:
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name = prefix + f.name
        hint, nullable = _optional(hints[f.name])
        if f.name not in payload and f.default is not dataclasses.MISSING:
            values[f.name] = f.default  # a field added since the row was written
            continue
        if f.name not in payload or payload[f.name] is None:
            if nullable:
                values[f.name] = None
                continue
            raise MalformedEvent(event_type, name, "is missing")
        values[f.name] = _value(hint, payload[f.name], event_type, name)
    return cls(**values)


def _value(hint: Any, raw: Any, event_type: str, name: str) -> Any:
    if dataclasses.is_dataclass(hint):
        if not isinstance(raw, Mapping):
            raise MalformedEvent(event_type, name, f"must be an object, got {_kind(raw)}")
        return _decode(hint, raw, event_type, f"{name}.")
    if hint is Decimal:
        return _decimal(raw, event_type, name)
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise MalformedEvent(event_type, name, f"must be an integer, got {_kind(raw)}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise MalformedEvent(event_type, name, f"must be a string, got {_kind(raw)}")
        return raw
    if hint is bool:
        if not isinstance(raw, bool):
            raise MalformedEvent(event_type, name, f"must be true or false, got {_kind(raw)}")
        return raw
    raise TypeError(f"{event_type}.{name}: no codec for {hint!r}")  # a bug in this module


def _decimal(raw: Any, event_type: str, name: str) -> Decimal:
    """学时: a decimal string, or a JSON number (what rows before these classes hold)."""
    if isinstance(raw, float) and math.isfinite(raw):
        return Decimal(str(raw))  # 30.0 -> Decimal("30.0"), not the binary expansion
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Decimal(raw)
    if isinstance(raw, str):
        try:
            number = Decimal(raw)
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return number
        raise MalformedEvent(event_type, name, f"must be a decimal number, got {raw!r}")
    raise MalformedEvent(event_type, name, f"must be a decimal number, got {_kind(raw)}")


def _check(obj: Any, event_type: str, prefix: str) -> None:
    """Refuse an event built with a value of the wrong type (checked at construction)."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        name = prefix + f.name
        value = getattr(obj, f.name)
        hint, nullable = _optional(hints[f.name])
        if value is None:
            if not nullable:
                raise MalformedEvent(event_type, name, "is missing")
        elif dataclasses.is_dataclass(hint):
            if not isinstance(value, hint):
                raise MalformedEvent(event_type, name, f"must be {hint.__name__}")
            _check(value, event_type, f"{name}.")
        elif hint is Decimal:
            if not isinstance(value, Decimal) or not value.is_finite():
                raise MalformedEvent(event_type, name, f"must be a Decimal, got {_kind(value)}")
        elif hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise MalformedEvent(event_type, name, f"must be an integer, got {_kind(value)}")
        elif not isinstance(value, hint):
            raise MalformedEvent(event_type, name, f"must be {hint.__name__}, got {_kind(value)}")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
