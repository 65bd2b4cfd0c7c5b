"""Which unit a trainee account administers (单位管理员: one unit at most per account).

The grant is read here, beside the accounts it belongs to, so that both the unit report's
rules (wxapp/reports/access.py, which also grants and revokes) and a unit's corrections of
its staff (wxapp/accounts/identity_changes.py) ask the same question the same way.

A unit's administrator works there: the grant is given only to an account whose 单位 is
that unit (`check_grantable`, for the command line and the console alike), and it ends when
the account leaves the unit (`end_on_leaving`, in the unit change's transaction). Otherwise
a clerk who moved to another employer would keep reading the old unit's staff, their phone
numbers included.
"""

from __future__ import annotations

import sqlalchemy as sa

from models import Trainee, UnitAdmin, db
from wxapp.errors import Conflict


def administered_unit(trainee_id: int) -> int | None:
    """The unit `trainee_id` administers, or None."""
    return db.session.execute(
        sa.select(UnitAdmin.unit_id).where(UnitAdmin.trainee_id == trainee_id)
    ).scalar_one_or_none()


NOT_IN_UNIT_MESSAGE = (
    "该学员的工作单位不是此单位，不能授予单位管理员（单位管理员须为本单位人员；"
    "如学员已调入，请其先在“个人信息”中变更单位）"
)


def check_grantable(trainee_id: int, unit_id: int) -> None:
    """Inside the grant's transaction: 409 unless the account's 单位 is `unit_id`.

    Read under the account's row lock: a unit change committing meanwhile either waits for
    the grant and then ends it (`end_on_leaving` runs after its UPDATE of the row), or has
    committed and is seen here. Read before the transaction, a grant could land just after
    the account left the unit."""
    current = db.session.execute(
        sa.select(Trainee.unit_id).where(Trainee.id == trainee_id).with_for_update()
    ).scalar_one_or_none()
    if current != unit_id:
        raise Conflict(NOT_IN_UNIT_MESSAGE, code="not_in_unit")


def end_on_leaving(trainee_id: int, new_unit_id: int | None) -> int | None:
    """Inside the caller's transaction, when the account's 单位 becomes `new_unit_id`: end
    its grant of any other unit. The unit it administered until now, or None."""
    return db.session.execute(
        sa.delete(UnitAdmin)
        .where(
            UnitAdmin.trainee_id == trainee_id,
            UnitAdmin.unit_id.is_distinct_from(new_unit_id),
        )
        .returning(UnitAdmin.unit_id)
    ).scalar_one_or_none()
