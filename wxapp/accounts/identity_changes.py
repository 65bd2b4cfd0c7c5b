"""Name and ID number of an account: changed only by the unit or by customer service, with a
reason, and every change of unit, name, ID number or phone kept in `profile_changes`.

Every ID number is public, and the certificate prints the name: a trainee cannot rename
themself. A unit administrator corrects typos for the trainees of their own unit (never
themself; one character of a name, a few digits of an ID number, each once a year), since
a unit that could replace both would move a trainee's 学时 and certificates to another
person; customer service corrects anyone (a CLI command for now, the operator console later). Each
correction names who made it and why; 刷新证书 copies that into the certificate's history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from models import ProfileChange, Trainee, Unit, UnitAdmin, db
from wxapp.accounts import roster
from wxapp.accounts.idnumbers import IdNumberError, mask_id_number, validate_id_number
from wxapp.accounts.trainees import find_trainee, get_trainee
from wxapp.errors import Conflict, Forbidden, NotFound, ValidationError
from wxapp.infra.clock import local_date
from wxapp.infra.transaction import transaction

SERVICE_PHONES = "400-023-9229（按 1 选择登录注册问题）"
SELF_CHANGE_REFUSED = (
    "姓名、身份证号码不能自行修改。如需更正，请联系所在单位的管理员办理，"
    f"或致电客服 {SERVICE_PHONES}"
)

SELF = "本人"
UNIT_ADMIN_PREFIX = "unit_admin:"
OPERATOR_PREFIX = "operator:"

REASON_MIN, REASON_MAX = 2, 200

# What a unit may correct on its own (customer service corrects anything): a typo, not a
# different person. A name one character apart (wrong, missing or extra), or an ID number
# of which at most UNIT_ID_DIGITS positions differ (one or two mistyped digits and the check
# character they change) and never the birth date or the gender digit: twins of one
# district differ in just those, often with names one character apart. One field per
# correction, and one unit correction per trainee in UNIT_CORRECTION_DAYS, so small
# corrections cannot be chained or combined into another person.
UNIT_ID_DIGITS = 3
UNIT_ID_FIXED = range(6, 14), range(16, 17)  # 出生日期 (7th-14th characters), 性别 (17th)
UNIT_CORRECTION_DAYS = 365
UNIT_NAME_TOO_FAR = (
    "单位只能更正姓名中录错、漏录或多录的一个字；其他姓名变更请学员本人携身份证联系客服 "
    + SERVICE_PHONES
)
UNIT_ID_TOO_FAR = (
    "单位只能更正身份证号码中录错的个别数字；其他号码变更请学员本人携身份证联系客服 "
    + SERVICE_PHONES
)
UNIT_ID_PERSON = (
    "单位不能更正身份证号码中的出生日期和性别位；如确有录错，请学员本人携身份证联系客服 "
    + SERVICE_PHONES
)
UNIT_ONE_FIELD = (
    "单位每次只能更正姓名或身份证号码中的一项；两项都需更正的，请联系客服 " + SERVICE_PHONES
)
UNIT_REPEATED = "该学员的{label}已由单位更正过（{date}），再次更正请联系客服 " + SERVICE_PHONES


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


def refuse_self_identity_change(field: str) -> Forbidden:
    """The 403 for a trainee trying to change their own name or ID number."""
    return Forbidden(SELF_CHANGE_REFUSED, code="identity_change_not_allowed", field=field)


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


def mask_phone(phone: str | None) -> str | None:
    return f"{phone[:3]}****{phone[-4:]}" if phone else phone


def _id_number_taken() -> Conflict:
    return Conflict(
        "该身份证号码已被其他账号使用，请核实；如需帮助请联系客服 " + SERVICE_PHONES,
        code="id_number_taken",
        field="id_number",
    )


def _check_id_number(trainee: Trainee, id_number: str) -> str:
    try:
        validate_id_number(id_number)
    except IdNumberError as exc:
        raise ValidationError("id_number", str(exc), code=f"id_{exc.reason}") from None
    taken = db.session.execute(
        sa.select(Trainee.id).where(Trainee.id_number == id_number, Trainee.id != trainee.id)
    ).first()
    if taken is not None:
        raise _id_number_taken()
    return id_number


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


def _one_character_apart(a: str, b: str) -> bool:
    """Whether `b` is `a` with at most one character replaced, added or removed."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    if len(long) - len(short) != 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


def _within_unit_limits(
    trainee: Trainee, new_name: str | None, new_id: str | None, now: datetime
) -> None:
    """A unit's correction is a typo's, of one field, and a unit corrects a trainee once a
    year."""
    renames = new_name is not None and new_name != trainee.name
    renumbers = new_id is not None and new_id != trainee.id_number
    if renames and renumbers:
        raise Forbidden(UNIT_ONE_FIELD, code="unit_correction_too_large", field="id_number")
    if renames and not _one_character_apart(trainee.name, new_name or ""):
        raise Forbidden(UNIT_NAME_TOO_FAR, code="unit_correction_too_large", field="name")
    if renumbers:
        new_id = new_id or ""
        differ = [
            i for i, (x, y) in enumerate(zip(trainee.id_number, new_id, strict=False)) if x != y
        ]
        if len(new_id) != len(trainee.id_number) or len(differ) > UNIT_ID_DIGITS:
            raise Forbidden(UNIT_ID_TOO_FAR, code="unit_correction_too_large", field="id_number")
        if any(i in fixed for i in differ for fixed in UNIT_ID_FIXED):
            raise Forbidden(UNIT_ID_PERSON, code="unit_correction_too_large", field="id_number")
    earlier = db.session.execute(
        sa.select(ProfileChange.field, ProfileChange.changed_at)
        .where(
            ProfileChange.trainee_id == trainee.id,
            ProfileChange.field.in_(("name", "id_number")),
            ProfileChange.actor.startswith(UNIT_ADMIN_PREFIX),
            ProfileChange.changed_at > now - timedelta(days=UNIT_CORRECTION_DAYS),
        )
        .order_by(ProfileChange.changed_at.desc())
        .limit(1)
    ).first()
    if earlier is not None:
        field, when = earlier
        raise Forbidden(
            UNIT_REPEATED.format(
                label={"name": "姓名", "id_number": "身份证号码"}[field],
                date=local_date(when),
            ),
            code="unit_correction_repeated",
            field=field,
        )


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
    held to `_within_unit_limits`."""
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
            new_id = _check_id_number(trainee, id_number) if id_number is not None else None
            reason = check_reason(reason)
            if (new_name is None or new_name == trainee.name) and (
                new_id is None or new_id == trainee.id_number
            ):
                raise ValidationError("body", "填写的姓名和身份证号码与当前信息相同，无需更正")
            if actor.startswith(UNIT_ADMIN_PREFIX):
                _within_unit_limits(trainee, new_name, new_id, now)
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
    own = db.session.execute(
        sa.select(UnitAdmin.unit_id).where(UnitAdmin.trainee_id == admin_trainee_id)
    ).scalar_one_or_none()
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


def history(trainee_id: int) -> list[dict[str, Any]]:
    """The trainee's own change history, newest first (ID numbers masked, unit names)."""
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
                "by": actor_label(change.actor),
                "changed_at": change.changed_at.isoformat(),
            }
        )
    return items
