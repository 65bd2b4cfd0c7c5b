"""The history of an account's profile (`profile_changes`): who changed what, and reading it back.

Every change of unit, 档案所在区县, name, ID number or phone is one row, written by the use
case that makes it (inside its transaction), with who made it: the trainee (本人), a unit
administrator (unit_admin:<id>) or customer service (operator:<name>). The public
certificate history names the kind of actor only, never the person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from models import ProfileChange, Unit, db
from wxapp.accounts import sms_codes
from wxapp.accounts.idnumbers import mask_id_number
from wxapp.accounts.trainees import get_trainee

SELF = "本人"
UNIT_ADMIN_PREFIX = "unit_admin:"
OPERATOR_PREFIX = "operator:"


def unit_admin_actor(admin_trainee_id: int) -> str:
    return f"{UNIT_ADMIN_PREFIX}{admin_trainee_id}"


def operator_actor(operator: str) -> str:
    return f"{OPERATOR_PREFIX}{operator}"


def actor_label(actor: str) -> str:
    """Who made a change, as the public certificate history says it (no one's name)."""
    if actor.startswith(UNIT_ADMIN_PREFIX):
        return "单位"
    if actor.startswith(OPERATOR_PREFIX):
        return "客服"
    return SELF


def staff_label(actor: str) -> str:
    """Who made a change, as the centre's staff read it: 客服 with the operator's login
    (operator:<login>), so a phone replaced by an operator names who did it."""
    if actor.startswith(OPERATOR_PREFIX):
        return f"客服（{actor[len(OPERATOR_PREFIX) :]}）"
    return actor_label(actor)


def record(
    trainee_id: int,
    field: str,
    old: str | None,
    new: str | None,
    actor: str,
    now: datetime,
    *,
    reason: str | None = None,
    from_unit_id: int | None = None,
    to_unit_id: int | None = None,
) -> ProfileChange:
    """Add one change to the history (inside the caller's transaction)."""
    change = ProfileChange(
        trainee_id=trainee_id,
        field=field,
        old_value=old,
        new_value=new,
        from_unit_id=from_unit_id,
        to_unit_id=to_unit_id,
        reason=reason,
        actor=actor,
        changed_at=now,
    )
    db.session.add(change)
    return change


def mask_phone(phone: str | None) -> str | None:
    """sms_codes.mask_phone ("138****8001"), for a history value that may be empty."""
    return sms_codes.mask_phone(phone) if phone else phone


def history(trainee_id: int, *, staff: bool = False) -> list[dict[str, Any]]:
    """The trainee's own change history, newest first (ID numbers masked, unit names);
    `staff` (the console) names the operator behind a customer service change."""
    get_trainee(trainee_id)
    from_unit, to_unit = aliased(Unit), aliased(Unit)
    rows = db.session.execute(
        sa.select(ProfileChange, from_unit.name, to_unit.name)
        .outerjoin(from_unit, from_unit.id == ProfileChange.from_unit_id)
        .outerjoin(to_unit, to_unit.id == ProfileChange.to_unit_id)
        .where(ProfileChange.trainee_id == trainee_id)
        .order_by(ProfileChange.changed_at.desc(), ProfileChange.id.desc())
    ).all()
    items = []
    for change, from_name, to_name in rows:
        old, new = change.old_value, change.new_value
        if change.field == "unit":
            old, new = from_name, to_name
        elif change.field == "id_number":
            old, new = mask_id_number(old or ""), mask_id_number(new or "")
        elif change.field == "phone":
            old, new = mask_phone(old), mask_phone(new)
        items.append(
            {
                "field": change.field,
                "old": old,
                "new": new,
                "reason": change.reason,
                "by": staff_label(change.actor) if staff else actor_label(change.actor),
                "changed_at": change.changed_at.isoformat(),
            }
        )
    return items
