"""Who reset an operator's password or TOTP, and when: read from the audit log, so the
operator is told at their next sign-in (a 管理员 who set a password knows it, and could
otherwise sign in as them unnoticed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from models import OperatorAudit, db

# The audit actions that reset another operator's sign-in, and what each resets.
RESETS = {"operator.set_password": "密码", "operator.reset_totp": "动态验证码"}


@dataclass(frozen=True)
class ResetNotice:
    """Another operator's (or the command line's) reset of this operator's account."""

    what: str  # 密码 or 动态验证码
    at: datetime
    by: str | None  # 姓名（login） of who did it; None for the command line


def resets_since(operator_id: int, since: datetime | None) -> list[ResetNotice]:
    """The resets of the operator's password or TOTP by someone else since `since` (their
    previous sign-in; None: ever), oldest first."""
    query = (
        db.select(OperatorAudit)
        .where(
            OperatorAudit.action.in_(list(RESETS)),
            OperatorAudit.target_type == "operators",
            OperatorAudit.target_id == str(operator_id),
            sa.or_(OperatorAudit.operator_id.is_(None), OperatorAudit.operator_id != operator_id),
        )
        .order_by(OperatorAudit.at, OperatorAudit.id)
    )
    if since is not None:
        query = query.where(OperatorAudit.at > since)
    return [
        ResetNotice(RESETS[row.action], row.at, str(row.operator) if row.operator else None)
        for row in db.session.execute(query).scalars()
    ]
