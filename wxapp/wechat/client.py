"""The shared WeChat API client: one access_token for every worker and process.

wechatpy's `WeChatClient` keeps the token in a session storage; here it is Redis
(`RedisStorage`), so all gunicorn workers and the notification worker share it. The token
comes from `cgi-bin/stable_token` (which, unlike `cgi-bin/token`, does not invalidate the
token another process holds) under a Redis lock, so concurrent cold starts fetch once.
It is stored with a TTL shorter than its life, so it is refreshed before it expires. Every
HTTP call has a timeout. A 40001/40014/42001 answer refreshes the token once and retries.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
import requests
from flask import Flask
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

log = logging.getLogger(__name__)

# (connect, read) seconds: a slow WeChat must not hold a worker for long.
TIMEOUT = (3.05, 10)
# Refresh this long before WeChat's expiry (at most half the token's remaining life).
REFRESH_MARGIN_S = 300
LOCK_TIMEOUT_S = 30
TOKEN_ERRORS = {40001, 40014, 42001}


class ClosingSession(requests.Session):
    """A requests session that keeps no idle sockets between calls.

    Calls to WeChat are rare (a token every two hours, a menu push, notifications in a
    worker), so keep-alive buys little, while pooled sockets outlive apps built in tests
    and CLI runs.
    """

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            return super().request(*args, **kwargs)
        finally:
            self.close()


class SharedTokenClient(WeChatClient):
    """A `WeChatClient` whose token is fetched with stable_token under a Redis lock."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        api_base: str,
        redis_client: redis.Redis,
        timeout: Any = TIMEOUT,
    ):
        super().__init__(
            appid,
            secret,
            session=RedisStorage(redis_client, prefix="wechat"),
            timeout=timeout,
            auto_retry=False,  # our own _request retries once; wechatpy's would loop
        )
        self._http.close()
        self._http = ClosingSession()
        self.api_base = api_base.rstrip("/")
        self.API_BASE_URL = f"{self.api_base}/cgi-bin/"
        self.redis = redis_client

    @property
    def lock_key(self) -> str:
        return f"wechat:token-lock:{self.appid}"

    @property
    def access_token(self) -> str:
        token = self.session.get(self.access_token_key)
        return token or self.refresh_token(stale=None)

    def fetch_access_token(self) -> dict[str, Any]:
        """wechatpy's hook: fetch unconditionally (still under the lock)."""
        with self.redis.lock(
            self.lock_key, timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_TIMEOUT_S
        ):
            return self._fetch_stable(force=False)

    def refresh_token(self, stale: str | None) -> str:
        """The current token; fetched only if none is stored, or if `stale` was rejected."""
        with self.redis.lock(
            self.lock_key, timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_TIMEOUT_S
        ):
            # Another worker may have fetched while we waited for the lock.
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return current
            self._fetch_stable(force=stale is not None)
            return self.session.get(self.access_token_key)

    def _fetch_stable(self, force: bool) -> dict[str, Any]:
        log.info("fetching access_token (stable_token, force_refresh=%s)", force)
        res = self._http.post(
            f"{self.api_base}/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": force,
            },
            timeout=self.timeout,
        )
        try:
            res.raise_for_status()
        except requests.RequestException as err:
            raise WeChatClientException(
                None, None, client=self, request=err.request, response=err.response
            ) from None
        result = res.json()
        if result.get("errcode"):
            raise WeChatClientException(
                result["errcode"],
                result.get("errmsg"),
                client=self,
                request=res.request,
                response=res,
            )
        expires_in = int(result.get("expires_in", 7200))
        ttl = max(1, expires_in - min(REFRESH_MARGIN_S, expires_in // 2))
        self.session.set(self.access_token_key, result["access_token"], ttl)
        return result

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """wechatpy's call with our token; an answer that is not WeChat's JSON raises."""
        result = self._token_request(method, url_or_endpoint, **kwargs)
        if not isinstance(result, dict):
            # wechatpy hands a body that is not JSON back as it is: a proxy's or a
            # firewall's 200 page, which must not pass for WeChat's "ok".
            raise WeChatClientException(None, "微信应答无法识别", client=self)
        return result

    def _token_request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        params = dict(kwargs.pop("params", None) or {})
        if "access_token" in params:  # a caller's own token: no refresh-and-retry
            return super()._request(method, url_or_endpoint, params=params, **kwargs)
        token = self.access_token
        try:
            return super()._request(
                method, url_or_endpoint, params={**params, "access_token": token}, **kwargs
            )
        except WeChatClientException as err:
            if err.errcode not in TOKEN_ERRORS:
                raise
            log.warning("access_token rejected (%s); refreshing once", err.errcode)
            token = self.refresh_token(stale=token)
            return super()._request(
                method, url_or_endpoint, params={**params, "access_token": token}, **kwargs
            )


def build_wechat_client(app: Flask) -> SharedTokenClient:
    """The client the factory keeps in `app.extensions["wechat"]`."""
    return SharedTokenClient(
        app.config["WECHAT_APP_ID"],
        app.config["WECHAT_APP_SECRET"],
        api_base=app.config["WECHAT_API_BASE"],
        redis_client=app.extensions["redis"],
    )
