"""The history of a trainee's identity and unit (个人信息 变更记录) and each certificate's versions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, db, utcnow


class ProfileChange(db.Model):
    """One change of a trainee's unit, name, ID number or phone: when, from what to what, who.

    `actor` says who made it: '本人' (the trainee), 'unit_admin:<trainee id>' (the unit's
    administrator) or 'operator:<name>' (customer service). Name and ID number changes carry
    the required reason; unit changes also keep the two unit ids, so a unit's report can list
    who joined or left it in a year.
    """

    __tablename__ = "profile_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), index=True)
    field: Mapped[str] = mapped_column(sa.String(16))
    old_value: Mapped[str | None] = mapped_column(sa.String(200))
    new_value: Mapped[str | None] = mapped_column(sa.String(200))
    from_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    to_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    actor: Mapped[str] = mapped_column(sa.String(80))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (
        sa.CheckConstraint(
            "field in ('unit', 'name', 'id_number', 'phone', 'archive_district')",
            name="field",
        ),
    )


class CertificateVersion(db.Model):
    """What a certificate said at one version, and why that version was made."""

    __tablename__ = "certificate_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"))
    version: Mapped[int]
    content: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Why this version exists: '首次颁发', or what changed (单位 A → B; 姓名更正（单位管理员）：理由).
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint(
            "certificate_id", "version", name="uq_certificate_versions_certificate_version"
        ),
    )
