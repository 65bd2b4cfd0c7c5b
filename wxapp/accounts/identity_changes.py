"""Name and ID number of an account: changed only by the unit or by customer service, with a
reason kept in the account's history (wxapp/accounts/profile_history.py).

Every ID number is public, and the certificate prints the name: a trainee cannot rename
themself. A unit administrator corrects typos for the trainees of their own unit (never
themself; what a typo is: wxapp/accounts/unit_corrections.py); customer service corrects
anyone (a CLI command for now, the operator console later). Each
correction names who made it and why; 刷新证书 copies that into the certificate's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import ProfileChange, Trainee, db
from wxapp.accounts import roster
from wxapp.accounts.idnumbers import IdNumberError, mask_id_number, validate_id_number
from wxapp.accounts.profile_history import (
    UNIT_ADMIN_PREFIX,
    operator_actor,
    record,
    unit_admin_actor,
)
from wxapp.accounts.trainees import find_trainee
from wxapp.accounts.unit_admins import administered_unit
from wxapp.accounts.unit_corrections import within_unit_limits
from wxapp.errors import Conflict, Forbidden, NotFound, ValidationError
from wxapp.infra.texts import SERVICE_PHONES
from wxapp.infra.transaction import transaction

SELF_CHANGE_REFUSED = (
    "姓名、身份证号码不能自行修改。如需更正，请联系所在单位的管理员办理，"
    f"或致电客服 {SERVICE_PHONES}"
)

REASON_MIN, REASON_MAX = 2, 200


def refuse_self_identity_change(field: str) -> Forbidden:
    """The 403 for a trainee trying to change their own name or ID number."""
    return Forbidden(SELF_CHANGE_REFUSED, code="identity_change_not_allowed", field=field)


def check_name(name: str | None) -> str:
    """The new name under the roster's rules (wxapp/accounts/roster.py), or a 422."""
    name = (name or "").strip()
    problem = roster.check_name(name)
    if problem is not None:
        raise ValidationError("name", problem.message, code=problem.code)
    return name


def check_reason(
    reason: str | None,
    *,
    field: str = "reason",
    label: str = "更正理由",
    missing: str = "请填写更正理由（如：与身份证不一致）",
    missing_code: str | None = "missing",
) -> str:
    """The reason trimmed, of REASON_MIN to REASON_MAX characters, else a 422 on `field`
    (`missing`, or "<label>过长"). The console's refusals and notes follow the same rule."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(field, missing, code=missing_code)
    if len(reason) < REASON_MIN:
        raise ValidationError(field, f"{label}太短（至少 {REASON_MIN} 个字）", code="too_short")
    if len(reason) > REASON_MAX:
        raise ValidationError(field, f"{label}过长（最多 {REASON_MAX} 个字）")
    return reason


def _id_number_taken() -> Conflict:
    return Conflict(
        "该身份证号码已被其他账号使用，请核实；如需帮助请联系客服 " + SERVICE_PHONES,
        code="id_number_taken",
        field="id_number",
    )


def _check_id_number(id_number: str) -> str:
    """An ID number's own rules (format, check digit); whether it is free is asked last."""
    try:
        validate_id_number(id_number)
    except IdNumberError as exc:
        raise ValidationError("id_number", str(exc), code=f"id_{exc.reason}") from None
    return id_number


def _require_free(trainee: Trainee, id_number: str) -> None:
    taken = db.session.execute(
        sa.select(Trainee.id).where(Trainee.id_number == id_number, Trainee.id != trainee.id)
    ).first()
    if taken is not None:
        raise _id_number_taken()


def correction_dict(trainee: Trainee, changes: list[ProfileChange]) -> dict[str, Any]:
    unit = trainee.unit
    return {
        "trainee": {
            "id": trainee.id,
            "name": trainee.name,
            "id_number_masked": mask_id_number(trainee.id_number),
            "gender": trainee.gender,
            "unit": {"id": unit.id, "name": unit.name} if unit else None,
        },
        "changes": [
            {
                "field": c.field,
                "old": mask_id_number(c.old_value or "") if c.field == "id_number" else c.old_value,
                "new": mask_id_number(c.new_value or "") if c.field == "id_number" else c.new_value,
                "reason": c.reason,
                "changed_at": c.changed_at.isoformat(),
            }
            for c in changes
        ],
    }


def _correct(
    trainee: Trainee,
    *,
    name: str | None,
    id_number: str | None,
    reason: str | None,
    actor: str,
    now: datetime,
    in_unit: int | None = None,
) -> dict[str, Any]:
    """Check everything, then write the new name / ID number and their history, in one
    transaction that holds the account's row: two corrections at once are made one after
    the other, the second checked against the first (a unit's once a year included).
    Nothing to change is a 422 rather than an empty history row; a unit's correction is
    held to `unit_corrections.within_unit_limits`."""
    if name is None and id_number is None:
        raise ValidationError("body", "请填写要更正的姓名或身份证号码")
    changes: list[ProfileChange] = []
    try:
        with transaction():
            db.session.execute(
                sa.select(Trainee.id)
                .where(Trainee.id == trainee.id)
                .with_for_update(key_share=True)
            )
            db.session.refresh(trainee)  # as the correction before this one left it
            if in_unit is not None and trainee.unit_id != in_unit:
                raise NotFound("本单位没有该学员", code="trainee_not_found")  # moved meanwhile
            new_name = check_name(name) if name is not None else None
            new_id = _check_id_number(id_number) if id_number is not None else None
            reason = check_reason(reason)
            if (new_name is None or new_name == trainee.name) and (
                new_id is None or new_id == trainee.id_number
            ):
                raise ValidationError("body", "填写的姓名和身份证号码与当前信息相同，无需更正")
            if actor.startswith(UNIT_ADMIN_PREFIX):
                within_unit_limits(trainee, new_name, new_id, now)
            # Last: whether an ID number has an account is told only to a correction that
            # is otherwise whole (a unit's: a typo of its own trainee's, with a reason).
            if new_id is not None and new_id != trainee.id_number:
                _require_free(trainee, new_id)
            _write_correction(trainee, new_name, new_id, reason, actor, now, changes)
    except IntegrityError:
        # Another account took the ID number between the check and the commit.
        raise _id_number_taken() from None
    return correction_dict(trainee, changes)


def _write_correction(
    trainee: Trainee,
    new_name: str | None,
    new_id: str | None,
    reason: str,
    actor: str,
    now: datetime,
    changes: list[ProfileChange],
) -> None:
    with transaction():
        if new_name is not None and new_name != trainee.name:
            changes.append(
                record(trainee.id, "name", trainee.name, new_name, actor, now, reason=reason)
            )
            trainee.name = new_name
        if new_id is not None and new_id != trainee.id_number:
            changes.append(
                record(
                    trainee.id, "id_number", trainee.id_number, new_id, actor, now, reason=reason
                )
            )
            trainee.id_number = new_id
            trainee.gender = roster.gender_from_id(new_id)
        trainee.updated_at = now


def correct_by_unit_admin(
    admin_trainee_id: int,
    unit_id: int,
    trainee_id: int,
    now: datetime,
    *,
    name: str | None = None,
    id_number: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A unit administrator corrects a trainee of their own unit.

    Another unit is 403 (unit ids are public, as for the report). A trainee who is not in
    the unit, or does not exist, is one and the same 404, so trainee ids cannot be probed.
    The administrator's own account goes through customer service, like anyone's.
    """
    own = administered_unit(admin_trainee_id)
    if own is None:
        raise Forbidden("需要单位管理员权限", code="not_unit_admin")
    if own != unit_id:
        raise Forbidden("只能更正本单位学员的信息", code="other_unit")
    trainee = db.session.get(Trainee, trainee_id)
    if trainee is None or trainee.unit_id != unit_id:
        raise NotFound("本单位没有该学员", code="trainee_not_found")
    if trainee.id == admin_trainee_id:
        raise Forbidden(
            "单位管理员不能更正自己的信息，请联系客服 " + SERVICE_PHONES, code="own_account"
        )
    return _correct(
        trainee,
        name=name,
        id_number=id_number,
        reason=reason,
        actor=unit_admin_actor(admin_trainee_id),
        now=now,
        in_unit=unit_id,
    )


def correct_by_operator(
    username: str,
    operator: str,
    now: datetime,
    *,
    name: str | None = None,
    id_number: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Customer service corrects any account, found by its phone or current ID number."""
    operator = (operator or "").strip()
    if not operator:
        raise ValidationError("operator", "请填写经办人", code="missing")
    trainee = find_trainee(username)
    if trainee is None:
        raise NotFound("账号不存在", code="trainee_not_found")
    return _correct(
        trainee,
        name=name,
        id_number=id_number,
        reason=reason,
        actor=operator_actor(operator[:60]),
        now=now,
    )
