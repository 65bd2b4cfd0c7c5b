"""What a unit administrator may correct of a trainee's name and ID number on its own.

A unit that could replace both would move a trainee's 学时, certificates and login to
another person with no one else involved; customer service corrects anything (with the
trainee's documents in hand).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from models import ProfileChange, Trainee, db
from wxapp.accounts.profile_history import UNIT_ADMIN_PREFIX
from wxapp.errors import Forbidden
from wxapp.infra.clock import local_date
from wxapp.infra.texts import SERVICE_PHONES

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


def one_character_apart(a: str, b: str) -> bool:
    """Whether `b` is `a` with at most one character replaced, added or removed."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    if len(long) - len(short) != 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


def within_unit_limits(
    trainee: Trainee, new_name: str | None, new_id: str | None, now: datetime
) -> None:
    """A unit's correction is a typo's, of one field, and a unit corrects a trainee once a
    year."""
    renames = new_name is not None and new_name != trainee.name
    renumbers = new_id is not None and new_id != trainee.id_number
    if renames and renumbers:
        raise Forbidden(UNIT_ONE_FIELD, code="unit_correction_too_large", field="id_number")
    if renames and not one_character_apart(trainee.name, new_name or ""):
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
