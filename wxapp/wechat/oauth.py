"""网页授权 (snsapi_base), WeChat's side: the single-use state, the authorize URL and the
code exchange for an openid.

`start_login` keeps `next` under a random state in Redis and returns WeChat's authorize
URL; `consume_state` takes the state back once; `exchange_code` turns the code into the
openid. What the openid then means for a trainee is `wxapp.accounts.wechat_login`'s.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import redis
import requests
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from wxapp.errors import AppError, ServiceUnavailable
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


def consume_state(r: redis.Redis, state: str) -> str:
    """The `next` path kept under a state, once: a second use, or an unknown state, fails."""
    next_path = r.getdel(_state_key(state)) if state else None
    if next_path is None:
        raise BadState()
    return next_path
