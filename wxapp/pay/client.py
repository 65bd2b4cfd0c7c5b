"""The WeChat Pay v3 client: wechatpayv3's `WeChatPay` in public-key mode, built once per app.

`build_wechatpay(app)` is called by the factory; in sandbox mode, when the merchant key and
the WeChat Pay public key are not configured, it uses the keys the sandbox generates under
instance/ (and writes their paths and ids into the app's config, so every reader agrees).
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any

import requests
import wechatpayv3.core
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask, current_app
from wechatpayv3 import WeChatPay, WeChatPayType

from wxapp.errors import ConfigError
from wxapp.pay.keys import ensure_sandbox_keys

log = logging.getLogger(__name__)

KEY_SETTINGS = (
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_CERT_SERIAL_NO",
    "WECHATPAY_PUBLIC_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
)
NOTIFY_PATH = "/pay/notify"


class _PooledTransport:
    """What wechatpayv3's `Core.request` calls as `requests`: the same five functions, on one
    pooled Session per process.

    wechatpayv3 calls the module-level `requests.post` and the like, which open a new
    connection for every call: with WeChat Pay, a TCP and TLS handshake on each prepay,
    query, close and refund, held by a web thread. The library has no setting for a session,
    so this object stands in for the `requests` name its core module looks up. WeChat Pay
    keeps an idle connection 8 s; urllib3 finds one the server has closed before reusing it
    and connects again. A forked child (a gunicorn worker) starts with a pool of its own."""

    def __init__(self) -> None:
        self._start()
        os.register_at_fork(after_in_child=self._start)

    def _start(self) -> None:
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=32)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self.session = session
        self.get, self.post, self.put = session.get, session.post, session.put
        self.patch, self.delete = session.patch, session.delete


wechatpayv3.core.requests = _PooledTransport()  # type: ignore[assignment]


class PayGatewayError(Exception):
    """WeChat Pay could not be reached, or answered with an error (code and message kept)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class PayClient(WeChatPay):
    """wechatpayv3's client, plus the public facts the notification check needs."""

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        apiv3_key: str,
        private_key_pem: str,
        cert_serial_no: str,
        public_key_pem: str,
        public_key_id: str,
        api_base: str,
        notify_url: str,
    ):
        super().__init__(
            wechatpay_type=WeChatPayType.JSAPI,
            mchid=mchid,
            private_key=private_key_pem,
            cert_serial_no=cert_serial_no,
            appid=appid,
            apiv3_key=apiv3_key,
            notify_url=notify_url,
            logger=logging.getLogger("wxapp.pay.wechatpayv3"),
            timeout=(3, 10),
            public_key=public_key_pem,
            public_key_id=public_key_id,
        )
        # wechatpayv3 has no setting for the gateway: its Core keeps it in `_gate_way`. Paths
        # (/v3/...) are appended to it and signed without it, as WeChat Pay expects.
        self._core._gate_way = api_base
        self.mchid = mchid
        self.appid = appid
        self.apiv3_key = apiv3_key
        self.public_key_id = public_key_id
        key = load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, RSAPublicKey):
            raise ConfigError("WECHATPAY_PUBLIC_KEY must be an RSA public key")
        self.platform_public_key: RSAPublicKey = key

    def call(self, method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        """Call one wechatpayv3 method; (status, JSON reply) on 2xx, PayGatewayError otherwise."""
        try:
            status, text = getattr(self, method)(**kwargs)
        except Exception as err:  # requests errors and wechatpayv3's bare Exception alike
            log.warning("WeChat Pay %s failed: %s", method, err)
            raise PayGatewayError(f"微信支付暂时无法访问：{err}") from err
        try:
            data = json.loads(text) if text else {}
        except (TypeError, ValueError):
            data = {}
        if not 200 <= status < 300:
            raise PayGatewayError(
                str(data.get("message") or f"微信支付返回 {status}"), status, data.get("code")
            )
        return status, data

    def download_trade_bill(self, bill_date: str) -> str | None:
        """The day's trade bill (交易账单, bill_type ALL) as its CSV text, its SHA1 checked;
        None when WeChat Pay has no bill for the day (NO_STATEMENT_EXIST: no transaction).

        GET /v3/bill/tradebill gives the hash and a download_url; the file comes gzipped from
        /v3/billdownload/file, whose answer WeChat Pay does not sign (the hash stands in)."""
        try:
            _, info = self.call("trade_bill", bill_date=bill_date, bill_type="ALL", tar_type="GZIP")
        except PayGatewayError as err:
            if err.code == "NO_STATEMENT_EXIST":
                return None
            raise
        url, expected = str(info.get("download_url") or ""), str(info.get("hash_value") or "")
        if not url or info.get("hash_type") != "SHA1" or not expected:
            raise PayGatewayError("微信支付账单应答缺少 download_url 或 SHA1 摘要")
        try:
            status, content = self.download_bill(url)
        except Exception as err:
            raise PayGatewayError(f"账单下载失败：{err}") from err
        if status != 200 or not isinstance(content, bytes):
            raise PayGatewayError(f"账单下载失败：微信支付返回 {status}", status)
        try:
            data = gzip.decompress(content)
        except (OSError, EOFError) as err:
            raise PayGatewayError(f"账单文件不是有效的 gzip：{err}") from err
        if not hmac.compare_digest(hashlib.sha1(data).hexdigest(), expected.lower()):
            raise PayGatewayError("账单文件的 SHA1 摘要与微信支付给出的不符，已拒收")
        return data.decode("utf-8-sig")


def _read(name: str, path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as err:
        raise ConfigError(f"{name} cannot be read: {err}") from None


def build_wechatpay(app: Flask) -> PayClient:
    cfg = app.config
    given = [name for name in KEY_SETTINGS if cfg.get(name)]
    if cfg["WXAPP_SANDBOX"] and not given:
        keys = ensure_sandbox_keys(Path(app.instance_path))
        cfg["WECHATPAY_PRIVATE_KEY"] = str(keys.merchant_private_key)
        cfg["WECHATPAY_CERT_SERIAL_NO"] = keys.merchant_serial_no
        cfg["WECHATPAY_PUBLIC_KEY"] = str(keys.platform_public_key)
        cfg["WECHATPAY_PUBLIC_KEY_ID"] = keys.platform_public_key_id
    elif len(given) != len(KEY_SETTINGS):
        missing = [name for name in KEY_SETTINGS if not cfg.get(name)]
        raise ConfigError("missing setting(s): " + ", ".join(missing))
    try:
        return PayClient(
            mchid=cfg["WECHATPAY_MCHID"],
            appid=cfg["WECHAT_APP_ID"],
            apiv3_key=cfg["WECHATPAY_APIV3_KEY"],
            private_key_pem=_read("WECHATPAY_PRIVATE_KEY", cfg["WECHATPAY_PRIVATE_KEY"]),
            cert_serial_no=cfg["WECHATPAY_CERT_SERIAL_NO"],
            public_key_pem=_read("WECHATPAY_PUBLIC_KEY", cfg["WECHATPAY_PUBLIC_KEY"]),
            public_key_id=cfg["WECHATPAY_PUBLIC_KEY_ID"],
            api_base=cfg["WECHATPAY_API_BASE"],
            notify_url=cfg["PUBLIC_BASE_URL"] + NOTIFY_PATH,
        )
    except ConfigError:
        raise
    except Exception as err:  # wechatpayv3 raises bare Exception for unreadable keys
        raise ConfigError(f"WECHATPAY_PRIVATE_KEY or WECHATPAY_PUBLIC_KEY: {err}") from None


def get_wechatpay() -> PayClient:
    return current_app.extensions["wechatpay"]
