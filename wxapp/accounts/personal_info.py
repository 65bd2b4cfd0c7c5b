"""个人信息: the name, unit (单位) and 档案所在区县 a trainee completes before the certificate.

The ID number is the username (身份证号码, checked at registration) and is not changed here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import Unit, db
from wxapp.accounts.trainees import get_trainee, profile
from wxapp.accounts.units import is_district
from wxapp.errors import ValidationError
from wxapp.infra.transaction import transaction

UNSET: Any = object()
NAME_MAX = 50


def update_profile(
    trainee_id: int,
    now: datetime,
    *,
    name: str | None = UNSET,
    unit_id: int | None = UNSET,
    archive_district: str | None = UNSET,
) -> dict[str, Any]:
    """Change the given fields (None clears unit or district); all checked before any write,
    then written in one transaction."""
    trainee = get_trainee(trainee_id)
    if name is not UNSET:
        name = (name or "").strip()
        if not name:
            raise ValidationError("name", "姓名不能为空", code="missing")
        if len(name) > NAME_MAX or any(c.isdigit() for c in name):
            raise ValidationError("name", "姓名格式不正确")
    if unit_id is not UNSET and unit_id is not None and db.session.get(Unit, unit_id) is None:
        raise ValidationError(
            "unit_id", "所选单位不存在，请从单位列表中选择", code="unit_not_found"
        )
    if archive_district not in (UNSET, None) and not is_district(archive_district):
        raise ValidationError(
            "archive_district", "档案所在区县应为重庆市的区县之一", code="unknown_district"
        )

    with transaction():
        if name is not UNSET:
            trainee.name = name
        if unit_id is not UNSET:
            trainee.unit_id = unit_id
        if archive_district is not UNSET:
            trainee.archive_district = archive_district
        trainee.updated_at = now
    db.session.refresh(trainee)  # the unit relationship follows the new unit_id
    return profile(trainee)
