"""Logging in and binding through 网页授权: what an openid means for a trainee.

`finish_login` consumes the state once, in the browser that started the flow only
(`wxapp.wechat.oauth`), exchanges the code for the openid and says what the handler should
do; it never binds. A bound openid logs its trainee in; an openid not bound (or bound to an
account not yet activated) goes to the bind page of this same browser, openid pending in
its session. A browser logged in as someone else than the openid's trainee is logged out
first, so a session is never carried over to, or bound to, another WeChat user.

Binding (`bind_with_password`) needs the password of an activated account: the initial
password (edu@ + the ID number's last six, no secret) binds nothing. An account bound to
another WeChat user also needs an SMS code sent to its phone (`send_rebind_code`, which
asks for the password again, so nobody can spend SMS without it); the WeChat user it was
bound to is told by a template message (`events.WechatRebound`), and every session of the
trainee ends, the old WeChat user's included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import redis

from models import Trainee
from wxapp import events, outbox
from wxapp.accounts import bindings, session_ends, sms_codes
from wxapp.accounts import trainees as accounts
from wxapp.accounts.devices import NO_DEVICES, KnownDevices
from wxapp.errors import Conflict, Forbidden, Unauthorized
from wxapp.infra.texts import mask_name
from wxapp.infra.transaction import transaction
from wxapp.wechat import oauth

ACTIVATE_FIRST = "账号尚未激活，请先在登录页完成激活（短信验证并设置新密码）后再绑定微信"
REBIND_NEEDS_SMS = "该账号已绑定其他微信，改绑需验证手机尾号 {tail} 收到的短信验证码"
REBIND_NO_PHONE = "该账号已绑定其他微信且未登记手机号，请联系单位或客服 400-023-9229 办理改绑"
BIND_RACED = "该账号刚刚已绑定其他微信，请重新提交绑定"
REBIND_NOT_NEEDED = "该账号未绑定其他微信，无需短信验证，直接绑定即可"


@dataclass(frozen=True)
class LoginOutcome:
    next_path: str
    openid: str
    trainee_id: int | None  # None: no usable binding, go to the bind page (else activated)
    log_out_current: bool = False  # this browser's session is someone else's: end it

    @property
    def bind_url(self) -> str:
        return "/h5/bind?next=" + quote(self.next_path, safe="")


def finish_login(
    r: redis.Redis,
    config: Mapping[str, Any],
    code: str,
    state: str,
    browser_nonce: str | None,
    session_trainee_id: int | None,
) -> LoginOutcome:
    """Consume the state (this browser's only), exchange the code; never binds.

    The code is not even exchanged until the state is proven to be this browser's.
    """
    next_path = oauth.consume_state(r, state, browser_nonce)
    if not code:
        raise oauth.OAuthFailed()
    openid = oauth.exchange_code(config, code)
    trainee_id = bindings.trainee_for_openid(openid)
    trainee = accounts.get_trainee(trainee_id) if trainee_id is not None else None
    if trainee is None or trainee.must_change_password:
        # Not bound, or bound (before these rules) to an account never activated: such a
        # binding logs nobody in; the bind page asks for an activated account's password.
        return LoginOutcome(next_path, openid, None, log_out_current=session_trainee_id is not None)
    return LoginOutcome(
        next_path,
        openid,
        trainee.id,
        log_out_current=session_trainee_id is not None and session_trainee_id != trainee.id,
    )


def session_fields_if_bound(r: redis.Redis, openid: str, trainee_id: int) -> dict[str, Any] | None:
    """The new session's cookie fields for the trainee `openid` is bound to, or None when the
    binding went meanwhile (an unbind, a password change, a rebind elsewhere).

    As for a password (`trainees.session_fields`): the epoch first, then the binding once
    more under a share lock. An unbind that ended the sessions before the epoch was read
    had deleted the row before, and is seen; one that ends them after ends this one."""
    fields = session_ends.new_session(r, trainee_id)
    with transaction():
        still = bindings.trainee_for_openid(openid, share_lock=True)
    return fields if still == trainee_id else None


def _activated(
    r: redis.Redis, username: str, password: str, known: KnownDevices
) -> accounts.Verified:
    """The trainee these credentials name (lockout rules), refused until activated."""
    verified = accounts.verify_credentials(r, username, password, known)
    if verified.trainee.must_change_password:
        raise Forbidden(ACTIVATE_FIRST, code="activation_required")
    return verified


def _require_openid(openid: str | None) -> str:
    if not openid:
        raise Unauthorized("请在微信中从公众号菜单进入后再绑定", code="no_wechat_openid")
    return openid


def _other_binding(trainee: Trainee, openid: str) -> str | None:
    """The openid of another WeChat user the trainee is bound to (None: none, or this one)."""
    current = bindings.openid_of(trainee.id)
    return current if current is not None and current != openid else None


def bind_with_password(
    r: redis.Redis,
    openid: str | None,
    username: str,
    password: str,
    sms_code: str | None,
    now: datetime,
    known: KnownDevices = NO_DEVICES,
) -> accounts.Verified:
    """Bind the pending openid to the activated account these credentials name.

    When the account is bound to another WeChat user: 409 `rebind_needs_sms` (with the
    phone's tail) until an SMS code sent by `send_rebind_code` comes along; then the old
    WeChat user gets a template message and every session of the trainee ends (the caller
    starts this browser's again). Commits.
    """
    openid = _require_openid(openid)
    verified = _activated(r, username, password, known)
    trainee = verified.trainee
    old_openid = _other_binding(trainee, openid)
    if old_openid is not None:
        if not trainee.phone:
            raise Conflict(REBIND_NO_PHONE, code="rebind_needs_service")
        if not sms_code:
            raise Conflict(
                REBIND_NEEDS_SMS.format(tail=trainee.phone[-4:]),
                code="rebind_needs_sms",
                phone_tail=trainee.phone[-4:],
                phone_masked=sms_codes.mask_phone(trainee.phone),
            )
        sms_codes.check_code(r, trainee.phone, sms_codes.Purpose.REBIND, sms_code)
    with transaction():
        # Checked again under the account's row lock: a password changed since the check
        # (its change dropped the bindings, and must not see one made with the old password
        # after it), and a bind of the same account that committed since (its owner's, say),
        # which must not be replaced without its SMS code.
        accounts.require_unchanged(verified)
        if _other_binding(trainee, openid) != old_openid:
            raise Conflict(BIND_RACED, code="bind_conflict")
        bindings.bind(openid, trainee.id, now)
        if old_openid is not None:
            outbox.add_event(
                events.WechatRebound(
                    old_openid=old_openid,
                    rebound_at=now.isoformat(),
                    name_masked=mask_name(trainee.name),
                ),
                trainee.id,
                now,
            )
            # The old WeChat user's sessions must not outlive its binding.
            session_ends.end_all(r, trainee.id, now)
    return verified


def send_rebind_code(
    r: redis.Redis,
    config: Mapping[str, Any],
    openid: str | None,
    username: str,
    password: str,
    client_ip: str,
    now: datetime,
    known: KnownDevices = NO_DEVICES,
) -> sms_codes.SentCode:
    """The SMS code for re-binding, to the account's phone; the password is asked again,
    so nobody can make the service text a trainee without it (and the send is counted
    against the owner's own allowance, which strangers cannot spend)."""
    openid = _require_openid(openid)
    trainee = _activated(r, username, password, known).trainee
    if _other_binding(trainee, openid) is None:
        raise Conflict(REBIND_NOT_NEEDED, code="rebind_not_needed")
    if not trainee.phone:
        raise Conflict(REBIND_NO_PHONE, code="rebind_needs_service")
    return sms_codes.send_code(
        r, config, trainee.phone, sms_codes.Purpose.REBIND, client_ip, now, by_owner=True
    )


def unbind(r: redis.Redis, trainee_id: int, now: datetime) -> bool:
    """解除绑定: False if the trainee was not bound.

    Unbinding ends every session of the trainee (the caller starts its own again): a
    session does not record whether it came in through the binding (网页授权 or a bind
    page) or a password, and one that did must not outlive the binding.
    """
    with transaction():
        was_bound = bindings.unbind(trainee_id)
        if was_bound:
            session_ends.end_all(r, trainee_id, now)
    return was_bound
