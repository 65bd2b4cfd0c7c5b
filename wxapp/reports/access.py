"""The unit administrator role: a trainee account granted one unit, whose report it may read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import Trainee, Unit, UnitAdmin, db
from wxapp.accounts.trainees import find_trainee
from wxapp.accounts.unit_admins import administered_unit, check_grantable
from wxapp.errors import Forbidden, NotFound
from wxapp.infra.transaction import transaction
from wxapp.reports.unit import unit_report


def report_for_admin(trainee_id: int, unit_id: int, year: int) -> dict[str, Any]:
    """The unit report, for the administrator of that unit only.

    Another unit's report is 403, not 404: unit ids are public (GET /api/units lists them),
    so hiding existence would hide nothing, and the check runs before the unit is loaded,
    so the answer does not tell an existing unit from a missing one either.
    """
    require_admin(trainee_id, unit_id)
    # Anyone can choose a unit in 个人信息, so its administrator gets no phone numbers.
    return unit_report(unit_id, year, phones=False)


def require_admin(trainee_id: int, unit_id: int) -> None:
    """Forbidden (403) unless the trainee administers `unit_id` (see `report_for_admin`)."""
    own = administered_unit(trainee_id)
    if own is None:
        raise Forbidden("需要单位管理员权限", code="not_unit_admin")
    if own != unit_id:
        raise Forbidden("只能查看本单位的报表", code="other_unit")


def my_unit(trainee_id: int) -> dict[str, Any]:
    """The unit this account administers (the unit page opens on it); 403 when none."""
    own = administered_unit(trainee_id)
    unit = db.session.get(Unit, own) if own is not None else None
    if unit is None:
        raise Forbidden("需要单位管理员权限", code="not_unit_admin")
    return {"id": unit.id, "name": unit.name, "district": unit.district}


def grant_unit_admin(username: str, unit_id: int, now: datetime) -> dict[str, Any]:
    """Make the trainee (phone or ID number) the administrator of `unit_id`, the unit the
    account works at (`unit_admins.check_grantable`); replaces any earlier grant (one unit
    per account), in one transaction."""
    trainee: Trainee | None = find_trainee(username)
    if trainee is None:
        raise NotFound("账号不存在", code="trainee_not_found")
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在", code="unit_not_found")
    with transaction():
        check_grantable(trainee.id, unit.id)
        grant = db.session.execute(
            db.select(UnitAdmin).where(UnitAdmin.trainee_id == trainee.id)
        ).scalar_one_or_none()
        if grant is None:
            grant = UnitAdmin(trainee_id=trainee.id, unit_id=unit.id, granted_at=now)
            db.session.add(grant)
        else:
            grant.unit_id, grant.granted_at = unit.id, now
    return {"trainee_id": trainee.id, "name": trainee.name, "unit": unit.name}


def revoke_unit_admin(username: str) -> dict[str, int] | None:
    """End the trainee's unit administration; the grant ended (trainee and unit), or None
    when the account administered no unit."""
    trainee = find_trainee(username)
    if trainee is None:
        raise NotFound("账号不存在", code="trainee_not_found")
    with transaction():
        grant = db.session.execute(
            db.select(UnitAdmin).where(UnitAdmin.trainee_id == trainee.id).with_for_update()
        ).scalar_one_or_none()
        if grant is None:
            return None
        ended = {"trainee_id": trainee.id, "unit_id": grant.unit_id}
        db.session.delete(grant)
    return ended
