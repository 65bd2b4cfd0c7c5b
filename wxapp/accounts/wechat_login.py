"""Logging in and binding through 网页授权: what an openid means for a trainee.

`finish_login` consumes the state once, exchanges the code for the openid (through the
WeChat adapter, `wxapp.wechat.oauth`) and says what the handler should do: start the bound
trainee's session, bind the trainee already logged in by password, or send the user to the
bind page with the openid pending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import redis

from models import Trainee
from wxapp.accounts import bindings, session_ends
from wxapp.accounts import trainees as accounts
from wxapp.errors import Unauthorized
from wxapp.infra.transaction import transaction
from wxapp.wechat import oauth


@dataclass(frozen=True)
class LoginOutcome:
    next_path: str
    openid: str
    trainee_id: int | None  # None: not bound, go to the bind page
    must_change_password: bool = False

    @property
    def bind_url(self) -> str:
        return "/h5/bind?next=" + quote(self.next_path, safe="")


def finish_login(
    r: redis.Redis,
    config: Mapping[str, Any],
    code: str,
    state: str,
    session_trainee_id: int | None,
    now: datetime,
) -> LoginOutcome:
    """Consume the state, exchange the code, and bind on the way when already logged in."""
    next_path = oauth.consume_state(r, state)
    if not code:
        raise oauth.OAuthFailed()
    openid = oauth.exchange_code(config, code)
    trainee_id = bindings.trainee_for_openid(openid)
    if trainee_id is None and session_trainee_id is not None:
        with transaction():
            bindings.bind(openid, session_trainee_id, now)
        trainee_id = session_trainee_id
    if trainee_id is None:
        return LoginOutcome(next_path, openid, None)
    trainee = accounts.get_trainee(trainee_id)
    return LoginOutcome(next_path, openid, trainee.id, trainee.must_change_password)


def bind_with_password(
    r: redis.Redis, openid: str | None, username: str, password: str, now: datetime
) -> Trainee:
    """Check the login (lockout included) and bind the pending openid to that trainee."""
    if not openid:
        raise Unauthorized("请在微信中从公众号菜单进入后再绑定", code="no_wechat_openid")
    trainee = accounts.verify_credentials(r, username, password)
    with transaction():
        bindings.bind(openid, trainee.id, now)
    return trainee


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
