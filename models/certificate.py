"""Certificates (合格证书) and unit administrators (the role that reads a unit's 应训未训 report)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, db, utcnow


class Certificate(db.Model):
    """One certificate per trainee and plan; 刷新证书 bumps `version` and replaces `content`.

    The serial number and the verification code never change after the first issue, so a
    printed copy's QR code keeps pointing at the current version.

    A refund that takes the plan from the trainee revokes it (`revoked_at`, `revoked_reason`):
    the verification page then says so and the trainee can no longer view or print it. Paying
    for the plan again and issuing it again clears both.
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # The secret in the QR code's URL (secrets.token_urlsafe, 192 bits): not derivable
    # from the serial, so verification pages cannot be enumerated.
    verify_code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("training_plans.id"))
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1))
    issuer: Mapped[str] = mapped_column(sa.String(100))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # What the certificate says at this version (name, masked ID, unit or 区县, plan, 学时…).
    content: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # Why, in words the public verification page shows (培训费已退款).
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(100))

    __table_args__ = (
        sa.UniqueConstraint("trainee_id", "plan_id", name="uq_certificates_trainee_plan"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )


class UnitAdmin(db.Model):
    """A trainee account granted administration of one unit: it reads that unit's report only."""

    __tablename__ = "unit_admins"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
