"""Which unit a trainee account administers (单位管理员: one unit at most per account).

The grant is read here, beside the accounts it belongs to, so that both the unit report's
rules (wxapp/reports/access.py, which also grants and revokes) and a unit's corrections of
its staff (wxapp/accounts/identity_changes.py) ask the same question the same way.
"""

from __future__ import annotations

import sqlalchemy as sa

from models import UnitAdmin, db


def administered_unit(trainee_id: int) -> int | None:
    """The unit `trainee_id` administers, or None."""
    return db.session.execute(
        sa.select(UnitAdmin.unit_id).where(UnitAdmin.trainee_id == trainee_id)
    ).scalar_one_or_none()
