"""Operators' accounts and sign-in: password (argon2id, as for trainees), TOTP, lockout.

The TOTP secret is stored encrypted (AES-GCM, a key derived from SECRET_KEY) and shown
only while the operator has not enrolled: the command line prints it once, and the login
page shows its QR code until the first good code. A code is accepted once (its time step is
kept), and CONSOLE_LOCKOUT_ATTEMPTS wrong passwords or codes in a row lock the account for
CONSOLE_LOCKOUT_MINUTES. Every change writes its audit row in the same transaction.

A password a 管理员 sets for another operator is a temporary one (the 管理员 knows it): the
operator chooses their own at the next sign-in (`change_password`) before anything else
opens; that sign-in tells them who reset it and when (wxapp.console.resets).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from models import Operator, db
from wxapp.accounts.passwords import hash_password, spend_one_hash, verify_password
from wxapp.console import audit
from wxapp.console.identity import ROLE_LABELS, Role
from wxapp.errors import AppError, NotFound, ValidationError
from wxapp.infra.transaction import transaction

ISSUER = "继续教育运营后台"
LOGIN_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
_PREFIX = "v1:"

audit.ACTION_LABELS.update({"operator.change_password": "修改自己的密码"})


class LoginRefused(AppError):
    status = 401
    code = "login_refused"


@dataclass(frozen=True)
class Lockout:
    attempts: int
    minutes: float


@dataclass(frozen=True)
class Enrolment:
    operator_id: int
    secret: str
    uri: str


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(b"wxapp-console-totp:" + secret_key.encode()).digest()


def seal(secret: str, secret_keys: Sequence[str]) -> str:
    nonce = os.urandom(12)
    box = AESGCM(_key(secret_keys[0])).encrypt(nonce, secret.encode(), b"totp")
    return _PREFIX + base64.b64encode(nonce + box).decode()


def unseal(sealed: str, secret_keys: Sequence[str]) -> str:
    raw = base64.b64decode(sealed.removeprefix(_PREFIX))
    for secret_key in secret_keys:
        try:
            return AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], b"totp").decode()
        except InvalidTag:
            continue
    raise RuntimeError("the TOTP secret was sealed with a key no longer configured")


def check_new_password(password: str, field: str = "password") -> None:
    if len(password) < 10 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise ValidationError(field, "密码至少 10 位，且须同时包含字母和数字")


def _check_fields(login: str, display_name: str, role: str) -> None:
    if not LOGIN_RE.match(login):
        raise ValidationError("login", "登录名须为 3-40 位小写字母、数字或 . _ -，以字母开头")
    if not display_name.strip() or len(display_name) > 40:
        raise ValidationError("display_name", "姓名不能为空，且不超过 40 字")
    if role not in set(Role):
        labels = "、".join(f"{r.value}（{ROLE_LABELS[r]}）" for r in Role)
        raise ValidationError("role", f"角色应为 {labels} 之一")


def provisioning_uri(login: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def create_operator(
    login: str,
    display_name: str,
    role: str,
    password: str,
    *,
    secret_keys: Sequence[str],
    now: datetime,
    temporary: bool = False,
) -> Enrolment:
    """A new operator with a fresh TOTP secret (returned once, for enrolment). `temporary`:
    the password is one a 管理员 typed for them in the console, to be replaced at the first
    sign-in, as any password a 管理员 sets."""
    login = login.strip().lower()
    _check_fields(login, display_name, role)
    check_new_password(password)
    secret = pyotp.random_base32()
    with transaction():
        taken = db.session.execute(
            db.select(Operator.id).where(Operator.login == login)
        ).scalar_one_or_none()
        if taken is not None:
            raise ValidationError("login", f"登录名 {login} 已被使用")
        operator = Operator(
            login=login,
            display_name=display_name.strip(),
            role=role,
            password_hash=hash_password(password),
            totp_secret=seal(secret, secret_keys),
            failed_attempts=0,
            active=True,
            created_at=now,
            must_change_password=temporary,
        )
        db.session.add(operator)
        db.session.flush()
        created = {"login": login, "display_name": operator.display_name, "role": role}
        audit.record(
            "operator.create",
            "operators",
            operator.id,
            None,
            {**created, "must_change_password": True} if temporary else created,
        )
    return Enrolment(operator.id, secret, provisioning_uri(login, secret))


def _get(operator_id: int) -> Operator:
    operator = db.session.get(Operator, operator_id)
    if operator is None:
        raise NotFound("没有这个操作员")
    return operator


def reset_second_factor(operator_id: int, *, secret_keys: Sequence[str]) -> None:
    """A new TOTP secret; the operator enrols again at the next login (its QR shown then)."""
    with transaction():
        operator = _get(operator_id)
        operator.totp_secret = seal(pyotp.random_base32(), secret_keys)
        operator.totp_enrolled_at = None
        operator.totp_last_step = None
        # A lost or compromised authenticator: the sessions it opened end too.
        operator.session_epoch = (operator.session_epoch or 0) + 1
        audit.record(
            "operator.reset_totp", "operators", operator.id, None, {"totp_enrolled": False}
        )


def end_sessions(operator_id: int, action: str) -> None:
    """End every console session of the operator (its cookies are refused from now on)."""
    with transaction():
        operator = _get(operator_id)
        operator.session_epoch = (operator.session_epoch or 0) + 1
        audit.record(action, "operators", operator.id, None, None, operator_id=operator.id)


def _store_password(operator: Operator, password: str, *, temporary: bool) -> None:
    """The operator's new password (`temporary`: one a 管理员 set, to be replaced at the next
    sign-in); every session of theirs ends, by the epoch as every other ending does, not only
    because the cookie's fingerprint happens to cover the hash."""
    operator.password_hash = hash_password(password)
    operator.must_change_password = temporary
    operator.session_epoch = (operator.session_epoch or 0) + 1


def set_password(operator_id: int, password: str, *, by: int | None) -> None:
    """A 管理员 (`by`) sets another operator's password: a temporary one, since the 管理员
    knows it; the operator must choose their own at the next sign-in. Nobody sets their own
    here (it would skip the current password): that is `change_password`."""
    if by is not None and by == operator_id:
        raise ValidationError("password", "不能在这里设置自己的密码，请用页面右上角的「修改密码」")
    check_new_password(password)
    with transaction():
        operator = _get(operator_id)
        _store_password(operator, password, temporary=True)
        audit.record(
            "operator.set_password",
            "operators",
            operator.id,
            None,
            {"must_change_password": True},
        )


def change_password(
    operator_id: int,
    new_password: str,
    current_password: str | None,
    now: datetime,
    lockout: Lockout,
) -> Operator:
    """The operator's own new password. The current one is asked for unless they signed in
    with a temporary one a 管理员 set (typed a moment ago); the new one must differ from it.
    Every other session of theirs ends (the caller starts this one again)."""
    check_new_password(new_password, "new_password")
    refused = None
    with transaction():  # commits a wrong current password's count; the refusal is raised after
        operator = _locked_row(operator_id)
        if operator is None:
            raise NotFound("没有这个操作员")
        if current_password is None and not operator.must_change_password:
            raise ValidationError("current_password", "请输入当前密码")
        if current_password is not None:
            if locked := _locked_message(operator, now):
                refused = locked
            elif not verify_password(operator.password_hash, current_password):
                _count_failure(operator, now, lockout)
                refused = "当前密码错误"
        if refused is None:
            if verify_password(operator.password_hash, new_password):
                same = "管理员设置的临时密码" if operator.must_change_password else "当前密码"
                raise ValidationError("new_password", f"新密码不能与{same}相同")
            before = {"must_change_password": operator.must_change_password}
            _store_password(operator, new_password, temporary=False)
            audit.record(
                "operator.change_password",
                "operators",
                operator.id,
                before,
                {"must_change_password": False},
                operator_id=operator.id,
            )
    if refused is not None:
        raise ValidationError("current_password", refused)
    return operator


def set_active(operator_id: int, active: bool, reason: str | None = None) -> None:
    with transaction():
        operator = _get(operator_id)
        before = {"active": operator.active}
        operator.active = active
        if not active:
            # Ended, not suspended: reactivating the account must not revive a cookie
            # signed before (a copy on a shared PC would open the console again).
            operator.session_epoch = (operator.session_epoch or 0) + 1
        operator.failed_attempts = 0
        operator.locked_until = None
        audit.record(
            "operator.activate" if active else "operator.deactivate",
            "operators",
            operator.id,
            before,
            {"active": active},
            reason,
        )


def _locked_message(operator: Operator, now: datetime) -> str | None:
    if operator.locked_until is not None and operator.locked_until > now:
        minutes = max(1, int((operator.locked_until - now).total_seconds() // 60) + 1)
        return f"连续输错次数过多，账号已锁定，请 {minutes} 分钟后再试"
    return None


def _locked_row(operator_id: int | None, login: str | None = None) -> Operator | None:
    """The operator's row, locked until the caller's transaction ends: every attempt on one
    operator (password or code) waits for the one before, so each sees the failures counted
    and the lock set by the others, however many are sent at once."""
    # populate_existing: the page may have loaded this operator before the lock was taken
    # (the TOTP step reads it from the cookie); without it the identity map would hand back
    # those stale counts, and the lock would decide on values another attempt has changed.
    query = db.select(Operator).with_for_update().execution_options(populate_existing=True)
    if operator_id is not None:
        query = query.where(Operator.id == operator_id)
    else:
        query = query.where(Operator.login == login)
    return db.session.execute(query).scalar_one_or_none()


def _count_failure(operator: Operator, now: datetime, lockout: Lockout) -> None:
    """One wrong password or code, on the locked row; the lock once there are enough."""
    operator.failed_attempts += 1
    if operator.failed_attempts >= lockout.attempts:
        operator.locked_until = now + timedelta(minutes=lockout.minutes)
        operator.failed_attempts = 0
        audit.record(
            "operator.locked",
            "operators",
            operator.id,
            None,
            {"locked_until": operator.locked_until.isoformat()},
            operator_id=operator.id,
        )


def check_password(login: str, password: str, now: datetime, lockout: Lockout) -> Operator:
    """The operator whose password this is (first factor), or LoginRefused.

    An unknown login, a wrong password and a locked operator get the same words, and the
    same hash's time: "账号已锁定" for real logins only would tell a stranger, who can lock
    any login with five guesses, which logins exist. The words say a lock may be the cause,
    for the operator who types the right password while locked (code `login_locked`)."""
    refused = None
    with transaction():  # commits the failure count; the refusal is raised after
        operator = _locked_row(None, login.strip().lower())
        if operator is None or not operator.active:
            spend_one_hash(password)
            refused = LoginRefused(_password_refused(lockout))
        elif _locked_message(operator, now):
            spend_one_hash(password)
            refused = LoginRefused(_password_refused(lockout), code="login_locked")
        elif not verify_password(operator.password_hash, password):
            _count_failure(operator, now, lockout)
            refused = LoginRefused(_password_refused(lockout))
    if refused is not None:
        raise refused
    return operator


def _password_refused(lockout: Lockout) -> str:
    return (
        f"登录名或密码错误。同一账号连续输错 {lockout.attempts} 次会锁定 "
        f"{lockout.minutes:g} 分钟，锁定期间即使密码正确也无法登录，请稍后再试"
    )


def enrolment_for(operator: Operator, secret_keys: Sequence[str]) -> str | None:
    """The provisioning URI while the operator has not enrolled yet, else None."""
    if operator.totp_enrolled_at is not None:
        return None
    return provisioning_uri(operator.login, unseal(operator.totp_secret, secret_keys))


def check_code(
    operator_id: int,
    code: str,
    now: datetime,
    lockout: Lockout,
    secret_keys: Sequence[str],
) -> Operator:
    """The second factor: a 6-digit TOTP code, each accepted once; LoginRefused otherwise."""
    code = (code or "").strip()
    refused = None
    with transaction():  # commits the failure count or the login; a refusal is raised after
        operator = _locked_row(operator_id)
        if operator is None:
            raise NotFound("没有这个操作员")
        if locked := _locked_message(operator, now):
            refused = locked
        elif not re.fullmatch(r"\d{6}", code):
            raise ValidationError("code", "请输入 6 位数字验证码")
        else:
            step = _matching_step(operator, code, now, secret_keys)
            if step is None or (
                operator.totp_last_step is not None and step <= operator.totp_last_step
            ):
                _count_failure(operator, now, lockout)
                refused = "验证码错误或已使用，请输入动态验证码应用中的最新验证码"
            else:
                operator.totp_last_step = step
                operator.failed_attempts = 0
                operator.last_login_at = now
                operator.totp_enrolled_at = operator.totp_enrolled_at or now
                audit.record(
                    "operator.login", "operators", operator.id, None, None, operator_id=operator.id
                )
    if refused is not None:
        raise LoginRefused(refused)
    return operator


def _matching_step(
    operator: Operator, code: str, now: datetime, secret_keys: Sequence[str]
) -> int | None:
    """The TOTP time step `code` is for, within one step of clock drift either way."""
    totp = pyotp.TOTP(unseal(operator.totp_secret, secret_keys))
    for offset in (0, -1, 1):
        candidate = totp.timecode(now) + offset
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None
