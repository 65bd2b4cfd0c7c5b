"""Sending one SMS through Tencent Cloud's official SDK, to the endpoint SMS_API_BASE names.

The SDK signs each call (TC3-HMAC-SHA256 over the method, path, content-type, host and the
body's hash) and posts it to the root of a host name: `https://sms.tencentcloudapi.com`.
SMS_API_BASE may also be a URL with a port, a path or plain http (the sandbox's,
`http://127.0.0.1:5000/_sandbox/sms/api`), so the client here signs that URL's host and path
and posts to that URL exactly; against Tencent Cloud it is the SDK's own request, byte for
byte. Every call has a timeout; the SDK's own retries and region breaker are off (a message
sent twice is two messages on the trainee's phone). Any failure is a 503 naming the SMS
service, logged with Tencent Cloud's error code and request id.

`config` may carry `SMS_TRANSPORT`, a requests transport adapter mounted for SMS_API_BASE:
the sandbox sets one that hands the request to the app in-process (wxapp/sandbox/sms.py), so
`make run` and tests need no second server; the request is the same.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.http.request import ApiRequest
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from wxapp.errors import ServiceUnavailable

log = logging.getLogger(__name__)

# (connect, read) seconds: a slow SMS service must not hold a worker for long.
TIMEOUT = (3.05, 10)
UNAVAILABLE_MESSAGE = "短信服务暂时不可用，请稍后再试"


class SmsUnavailable(ServiceUnavailable):
    """The SMS could not be sent (network, credentials, template, Tencent Cloud's refusal).

    `provider_code` is Tencent Cloud's error code ("LimitExceeded.PhoneNumberDailyLimit"; the
    SDK's "ClientNetworkError" when no answer came), for a caller that retries; it is kept
    out of the JSON answer."""

    code = "sms_unavailable"
    message = UNAVAILABLE_MESSAGE

    def __init__(self, provider_code: str | None = None):
        super().__init__()
        self.provider_code = provider_code


@dataclass(frozen=True)
class Sent:
    serial_no: str  # Tencent Cloud's id of the message (SendStatus.SerialNo)
    request_id: str


class _UrlRequest(ApiRequest):
    """The SDK's HTTP sender, posting to one fixed URL instead of `https://<host>/`."""

    def __init__(self, url: str, **kwargs: Any):
        super().__init__(urlsplit(url).netloc, **kwargs)
        self.url = url

    def _handle_host(self, host: str) -> str:
        return self.url


class _Client(sms_client.SmsClient):
    """`SmsClient` whose endpoint is a base URL: its host (with port) is signed and sent as
    Host, its path is the signed canonical URI, and the request goes to the URL itself."""

    def __init__(self, config: Mapping[str, Any], timeout: Any):
        base = config["SMS_API_BASE"]
        parts = urlsplit(base)
        http = HttpProfile(protocol=parts.scheme, endpoint=parts.netloc, reqTimeout=timeout)
        profile = ClientProfile(httpProfile=http, disable_region_breaker=True)
        cred = credential.Credential(
            config["TENCENTCLOUD_SECRET_ID"], config["TENCENTCLOUD_SECRET_KEY"]
        )
        super().__init__(cred, config.get("SMS_REGION") or "ap-guangzhou", profile)
        self._requestPath = parts.path or "/"
        self.request = _UrlRequest(
            base if parts.path else base + "/",
            req_timeout=timeout,
            is_http=parts.scheme == "http",
        )
        transport = config.get("SMS_TRANSPORT")
        if transport is not None:
            self.request.conn._session.mount(base, transport)

    def close(self) -> None:
        self.request.conn._session.close()


def send_sms(
    config: Mapping[str, Any],
    phone: str,
    template_id: str,
    params: Sequence[str],
    *,
    timeout: Any = TIMEOUT,
) -> Sent:
    """Send template `template_id` with `params` to the mainland number `phone` (11 digits);
    503 `sms_unavailable` when it was not accepted."""
    req = models.SendSmsRequest()
    req.PhoneNumberSet = [f"+86{phone}"]
    req.SmsSdkAppId = config["SMS_SDK_APP_ID"]
    req.SignName = config["SMS_SIGN_NAME"]
    req.TemplateId = template_id
    req.TemplateParamSet = [str(p) for p in params]
    client = _Client(config, timeout)
    try:
        resp = client.SendSms(req)
    except TencentCloudSDKException as err:
        log.error(
            "SMS SendSms failed: %s %s (request %s)",
            err.get_code(),
            err.get_message(),
            err.get_request_id(),
        )
        raise SmsUnavailable(err.get_code()) from None
    finally:
        client.close()
    statuses = resp.SendStatusSet or []
    status = statuses[0] if statuses else None
    if status is None or status.Code != "Ok":
        log.error(
            "SMS SendSms refused the number: %s %s (request %s)",
            getattr(status, "Code", None),
            getattr(status, "Message", None),
            resp.RequestId,
        )
        raise SmsUnavailable(getattr(status, "Code", None))
    return Sent(serial_no=status.SerialNo or "", request_id=resp.RequestId or "")
