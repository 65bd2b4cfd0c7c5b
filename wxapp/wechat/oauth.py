"""网页授权 (snsapi_base) login: the single-use state, the code exchange, binding on the way.

`start_login` keeps `next` under a random state in Redis and returns WeChat's authorize
URL; `finish_login` consumes the state once, exchanges the code for the openid and says
what the handler should do: start the bound trainee's session, bind the trainee already
logged in by password, or send the user to the bind page with the openid pending.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import redis
import requests
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from models import Trainee
from wxapp.accounts import bindings
from wxapp.accounts import trainees as accounts
from wxapp.errors import AppError, ServiceUnavailable, Unauthorized
from wxapp.wechat.client import TIMEOUT, ClosingSession

STATE_TTL_S = 600
DEFAULT_NEXT = "/h5/progress"


class BadState(AppError):
    status = 400
    code = "bad_state"
    message = "登录链接已失效或已使用，请从公众号菜单重新进入"


class OAuthFailed(AppError):
    status = 400
    code = "oauth_failed"
    message = "微信授权失败，请从公众号菜单重新进入"


def safe_next(raw: str | None) -> str:
    """A local path to go to after login; anything else (open redirect) becomes the default."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return DEFAULT_NEXT
    if any(ord(c) < 0x20 for c in raw):
        return DEFAULT_NEXT
    return raw


def _state_key(state: str) -> str:
    return f"wechat:oauth-state:{state}"


class _OAuth(WeChatOAuth):
    """wechatpy's OAuth helper against our configured bases, with a timeout on each call."""

    def __init__(self, config: Mapping[str, Any], redirect_uri: str = "", state: str = ""):
        super().__init__(
            config["WECHAT_APP_ID"], config["WECHAT_APP_SECRET"], redirect_uri, state=state
        )
        self._http.close()
        self._http = ClosingSession()
        self.API_BASE_URL = config["WECHAT_API_BASE"] + "/"
        self.OAUTH_BASE_URL = config["WECHAT_OAUTH_BASE"] + "/connect/"

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TIMEOUT)
        return super()._request(method, url_or_endpoint, **kwargs)


def start_login(r: redis.Redis, config: Mapping[str, Any], next_path: str | None) -> str:
    """The authorize URL to redirect to; `next` is kept under a fresh single-use state."""
    state = secrets.token_urlsafe(18)
    r.set(_state_key(state), safe_next(next_path), ex=STATE_TTL_S)
    return _OAuth(config, config["PUBLIC_BASE_URL"] + "/auth/wechat/return", state).authorize_url


@dataclass(frozen=True)
class LoginOutcome:
    next_path: str
    openid: str
    trainee_id: int | None  # None: not bound, go to the bind page
    must_change_password: bool = False

    @property
    def bind_url(self) -> str:
        return "/h5/bind?next=" + quote(self.next_path, safe="")


def exchange_code(config: Mapping[str, Any], code: str) -> str:
    """The openid for a 网页授权 code (single use, 5 minutes)."""
    oauth = _OAuth(config)
    try:
        return oauth.fetch_access_token(code)["openid"]
    except WeChatOAuthException as err:
        if err.errcode is None:
            raise ServiceUnavailable("微信服务暂时不可用，请稍后再试") from None
        raise OAuthFailed() from None
    except requests.RequestException:
        raise ServiceUnavailable("微信服务暂时不可用，请稍后再试") from None


def finish_login(
    r: redis.Redis,
    config: Mapping[str, Any],
    code: str,
    state: str,
    session_trainee_id: int | None,
    now: datetime,
) -> LoginOutcome:
    """Consume the state, exchange the code, and bind on the way when already logged in."""
    next_path = r.getdel(_state_key(state)) if state else None
    if next_path is None:
        raise BadState()
    if not code:
        raise OAuthFailed()
    openid = exchange_code(config, code)
    trainee_id = bindings.trainee_for_openid(openid)
    if trainee_id is None and session_trainee_id is not None:
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
    bindings.bind(openid, trainee.id, now)
    return trainee


def unbind(trainee_id: int) -> bool:
    return bindings.unbind(trainee_id)
