"""网页授权 (snsapi_base), WeChat's side: the single-use state tied to the browser, the
authorize URL and the code exchange for an openid.

`start_login` keeps `next` and the hash of the starting browser's nonce under a random
state in Redis and returns WeChat's authorize URL; `consume_state` takes the state back
once, and only in the browser holding that nonce (a return link sent to someone else, the
login CSRF, fails there without anything done); `exchange_code` turns the code into the
openid. What the openid then means for a trainee is `wxapp.accounts.wechat_login`'s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import requests
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from wxapp.errors import AppError, ServiceUnavailable
from wxapp.wechat.client import TIMEOUT, ClosingSession

log = logging.getLogger(__name__)

STATE_TTL_S = 600
DEFAULT_NEXT = "/h5/progress"


class BadState(AppError):
    status = 400
    code = "bad_state"
    message = "登录链接已失效或已使用，请从公众号菜单重新进入"


class StateMismatch(AppError):
    status = 403
    code = "state_mismatch"
    message = "该登录链接不是在本微信中打开的，请从公众号菜单重新进入"


class OAuthFailed(AppError):
    status = 400
    code = "oauth_failed"
    message = "微信授权失败，请从公众号菜单重新进入"


# A page of ours is a short path: a longer `next` is not one, and it would be kept in Redis.
NEXT_MAX = 512


def safe_next(raw: str | None) -> str:
    """A local path to go to after login; anything else (open redirect) becomes the default.

    Parsed, not pattern-matched: a browser drops tabs and newlines and reads a backslash
    as a slash, so "/\t/evil.example" or "/\\evil.example" would leave the site. What
    remains must have no scheme and no host: a path on this origin.
    """
    if not raw or not raw.startswith("/") or "\\" in raw or len(raw) > NEXT_MAX:
        return DEFAULT_NEXT
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return DEFAULT_NEXT
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return DEFAULT_NEXT
    # "////evil.example" parses as a path with no host, but the Location header's encoding
    # makes it "//evil.example", which a browser reads as another site.
    if raw.startswith("//") or parts.path.startswith("//"):
        return DEFAULT_NEXT
    # A browser collapses dot segments, "%2e" spelled ones too: "/.//evil.example" becomes
    # the path "//evil.example", which a page that navigates to it reads as another site.
    # No page of ours has one.
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        return DEFAULT_NEXT
    return raw


def _state_key(state: str) -> str:
    return f"wechat:oauth-state:{state}"


def new_browser_nonce() -> str:
    """A random secret the starting browser keeps (in its signed session) for the return."""
    return secrets.token_urlsafe(24)


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


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


def start_login(
    r: redis.Redis, config: Mapping[str, Any], next_path: str | None, browser_nonce: str
) -> str:
    """The authorize URL to redirect to; `next` and the hash of `browser_nonce` are kept
    under a fresh single-use state."""
    if not browser_nonce:
        raise ValueError("a browser nonce is required")
    state = secrets.token_urlsafe(18)
    record = {"next": safe_next(next_path), "nonce": _nonce_hash(browser_nonce)}
    r.set(_state_key(state), json.dumps(record), ex=STATE_TTL_S)
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


def consume_state(r: redis.Redis, state: str, browser_nonce: str | None) -> str:
    """The `next` path kept under a state, once, in the browser that started the flow.

    An unknown or spent state is BadState (400). A state started in another browser (its
    nonce hash differs, or this browser has none) is StateMismatch (403); the state is
    spent either way, so a link that leaked works nowhere afterwards.
    """
    raw = r.getdel(_state_key(state)) if state else None
    if raw is None:
        raise BadState()
    try:
        record = json.loads(raw)
        next_path, expected = record["next"], record["nonce"]
    except (ValueError, TypeError, KeyError):
        raise BadState() from None  # a record from before the nonce: start again
    if not browser_nonce or not hmac.compare_digest(_nonce_hash(browser_nonce), str(expected)):
        # A return link opened in another browser than the one that asked for it: a link
        # passed on by someone, or the login CSRF. Worth seeing in the log.
        log.warning("网页授权 state returned in a browser that did not start it")
        raise StateMismatch()
    return safe_next(next_path)
