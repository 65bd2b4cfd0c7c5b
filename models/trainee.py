"""Trainees (学员) and the units (单位) they work for."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, utcnow


class Unit(db.Model):
    """An employer (单位), listed by its full name within a district (区县)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    district: Mapped[str] = mapped_column(sa.String(50), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Trainee(db.Model):
    """A professional technical staff member who must do 90 学时 a year."""

    __tablename__ = "trainees"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    id_number: Mapped[str] = mapped_column(sa.String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    gender: Mapped[str | None] = mapped_column(sa.String(2))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # 档案所在区县: used on the certificate when the unit is not listed.
    archive_district: Mapped[str | None] = mapped_column(sa.String(50))
    note: Mapped[str | None] = mapped_column(sa.String(200))
    # NULL until the first password change: the initial password follows the published
    # rule edu@ + last six of the ID number, so no slow hash is spent at bulk import.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")


class SessionEnd(db.Model):
    """A kept copy of one ending of a trainee's sessions.

    What every request checks lives in Redis (`wxapp.accounts.session_ends`): fast, but
    Redis can lose it (a failover loses the last writes of an asynchronous replica, a
    restore brings back an older copy, a flush empties it), and a lost ending would let
    the cookies it ended back in. These rows are what `flask sessions restore` writes back.
    Kept as long as an ended cookie could still be presented (session_ends.KEEP_S).
    """

    __tablename__ = "session_ends"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"))
    # One or the other: the new epoch (every session ended), or the one session ended.
    epoch: Mapped[int | None] = mapped_column(sa.BigInteger)
    session_id: Mapped[str | None] = mapped_column(sa.String(32))
    ended_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        sa.CheckConstraint("(epoch IS NULL) <> (session_id IS NULL)", name="one_kind"),
        sa.Index("ix_session_ends_trainee_id_id", "trainee_id", "id"),
    )
