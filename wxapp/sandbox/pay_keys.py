"""The sandbox's side of WeChat Pay v3 signatures: checking the merchant's Authorization and
signing as the platform (微信支付公钥), with the keys generated under instance/.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from flask import Flask
from wechatpayv3.utils import rsa_sign

from wxapp.pay.keys import ensure_sandbox_keys

SCHEME = "WECHATPAY2-SHA256-RSA2048"
_PARAM = re.compile(r'(\w+)="([^"]*)"')
MAX_SKEW_S = 300


@dataclass(frozen=True)
class SandboxPayKeys:
    mchid: str
    appid: str
    apiv3_key: str
    merchant_serial_no: str
    merchant_public_key: RSAPublicKey
    platform_private_key: RSAPrivateKey
    platform_public_key_id: str


def _private(path: str | Path) -> RSAPrivateKey:
    key = load_pem_private_key(Path(path).read_bytes(), password=None)
    assert isinstance(key, RSAPrivateKey)
    return key


def sandbox_pay_keys(app: Flask) -> SandboxPayKeys:
    """Loaded once per app. The merchant key is whatever the app's client uses."""
    keys = app.extensions.get("sandbox_pay_keys")
    if keys is None:
        generated = ensure_sandbox_keys(Path(app.instance_path))
        cfg = app.config
        keys = SandboxPayKeys(
            mchid=cfg["WECHATPAY_MCHID"],
            appid=cfg["WECHAT_APP_ID"],
            apiv3_key=cfg["WECHATPAY_APIV3_KEY"],
            merchant_serial_no=cfg["WECHATPAY_CERT_SERIAL_NO"],
            merchant_public_key=_private(cfg["WECHATPAY_PRIVATE_KEY"]).public_key(),
            platform_private_key=_private(generated.platform_private_key),
            platform_public_key_id=generated.platform_public_key_id,
        )
        app.extensions["sandbox_pay_keys"] = keys
    return keys


def _verify(key: RSAPublicKey, message: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message.encode(), PKCS1v15(), SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def check_authorization(
    keys: SandboxPayKeys, header: str, method: str, path: str, body: str
) -> str | None:
    """None if the merchant signed this request, else why not (for the SIGN_ERROR message)."""
    scheme, _, rest = header.partition(" ")
    if scheme != SCHEME:
        return "Authorization 认证类型错误"
    params = dict(_PARAM.findall(rest))
    if params.get("mchid") != keys.mchid:
        return "商户号与签名不符"
    if params.get("serial_no") != keys.merchant_serial_no:
        return "商户证书序列号错误"
    try:
        timestamp = int(params.get("timestamp", ""))
    except ValueError:
        return "时间戳格式错误"
    # wechatpayv3 stamps requests with the real time, so the real time is the reference here.
    if abs(time.time() - timestamp) > MAX_SKEW_S:
        return "时间戳已过期"
    message = f"{method}\n{path}\n{timestamp}\n{params.get('nonce_str', '')}\n{body}\n"
    ok = _verify(keys.merchant_public_key, message, params.get("signature", ""))
    return None if ok else "签名错误"


def check_pay_sign(
    keys: SandboxPayKeys, app_id: str, ts: str, nonce: str, package: str, sign: str
) -> bool:
    """What the WeChat client checks before showing the cashier: the JSAPI paySign."""
    return _verify(keys.merchant_public_key, f"{app_id}\n{ts}\n{nonce}\n{package}\n", sign)


def platform_headers(keys: SandboxPayKeys, body: str, now_s: int) -> dict[str, str]:
    """Wechatpay-* headers signing `body` with the platform key, as WeChat Pay sends them."""
    nonce = secrets.token_hex(16)
    timestamp = str(now_s)
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(
            keys.platform_private_key, f"{timestamp}\n{nonce}\n{body}\n"
        ),
        "Wechatpay-Serial": keys.platform_public_key_id,
        "Wechatpay-Signature-Type": SCHEME,
    }
