"""Operators of the console at /admin (the centre's staff, never trainees) and their audit log.

`OperatorAudit` is append-only: the console writes a row in the same transaction as every
change an operator makes, and no view edits or deletes one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import JSONType, db, utcnow


class Operator(db.Model):
    """One staff account: a password (argon2id, like the trainees') and a TOTP second factor."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(40), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(40))
    # "support" (客服), "finance" (财务) or "admin" (管理员): wxapp.console.access.Role.
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # The TOTP secret, encrypted with a key derived from SECRET_KEY; shown once at enrolment.
    totp_secret: Mapped[str] = mapped_column(sa.String(255))
    totp_enrolled_at: Mapped[datetime | None]
    # The last TOTP time step accepted: a code is good once (RFC 6238, section 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    # Part of every console cookie's fingerprint: raised by a logout, a second-factor reset,
    # a new password and a deactivation, it ends every session of the operator (a copied
    # cookie included).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when a 管理员 sets the password (a temporary one, known to them): the operator
    # chooses a new one at the next sign-in before anything else opens; cleared by that.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    __table_args__ = (sa.CheckConstraint("role in ('support', 'finance', 'admin')", name="role"),)

    def __str__(self) -> str:
        return f"{self.display_name}（{self.login}）"


class OperatorAudit(db.Model):
    """Who did what to which record, when, from where, with the values before and after."""

    __tablename__ = "operator_audits"
    # operator_id is empty for the command line (`flask --app wsgi operators create`).

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    target_type: Mapped[str] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    operator: Mapped[Operator | None] = relationship(lazy="joined")

    __table_args__ = (sa.Index("ix_operator_audits_target", "target_type", "target_id"),)
