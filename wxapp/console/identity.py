"""The signed-in operator of this request and the roles (客服, 财务, 管理员)."""

from __future__ import annotations

import enum

from flask import g

from models import Operator, db
from wxapp.console import session


class Role(enum.StrEnum):
    SUPPORT = "support"  # 客服
    FINANCE = "finance"  # 财务
    ADMIN = "admin"  # 管理员


ROLE_LABELS = {Role.SUPPORT: "客服", Role.FINANCE: "财务", Role.ADMIN: "管理员"}


def operator_fingerprint(operator: Operator) -> str:
    return session.fingerprint(operator.password_hash, operator.session_epoch or 0)


def _session_operator() -> Operator | None:
    """The operator the cookie names, if still active, with the same password and no
    session ended since (a logout, a second-factor reset)."""
    if "console_operator" not in g:
        data = session.data()
        operator = db.session.get(Operator, data["o"]) if isinstance(data.get("o"), int) else None
        if operator is not None and (
            not operator.active or data.get("p") != operator_fingerprint(operator)
        ):
            operator = None
        g.console_operator = operator
    return g.console_operator


def pending_operator() -> Operator | None:
    """The operator who passed the password and still owes the TOTP code."""
    operator = _session_operator()
    if operator is None or session.data().get("m"):
        return None
    return operator


def _both_factors() -> Operator | None:
    operator = _session_operator()
    if operator is None or not session.data().get("m"):
        return None
    return operator


def password_change_due() -> Operator | None:
    """The operator who passed password and TOTP code but signed in with a password a
    管理员 set: until they choose their own, only 修改密码 opens (like the TOTP step)."""
    operator = _both_factors()
    if operator is None or not operator.must_change_password:
        return None
    return operator


def current_operator() -> Operator | None:
    """The operator signed in with password and TOTP code (and a password of their own),
    else None."""
    operator = _both_factors()
    if operator is None or operator.must_change_password:
        return None
    return operator


def has_role(*roles: Role) -> bool:
    operator = current_operator()
    return operator is not None and operator.role in roles
