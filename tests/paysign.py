"""WeChat Pay v3 notifications built in the test, independently of the app's code:
RSA-SHA256 (PKCS#1 v1.5) over `timestamp\\nnonce\\nbody\\n` with the platform key the app
trusts, and AES-256-GCM with the APIv3 key, using `cryptography` directly.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_pem_private_key


def platform_key(app) -> rsa.RSAPrivateKey:
    path = Path(app.instance_path) / "wechatpay-sandbox" / "platform_private_key.pem"
    return load_pem_private_key(path.read_bytes(), password=None)


def transaction(out_trade_no: str, total: int, app, **changes: Any) -> dict[str, Any]:
    tx = {
        "appid": app.config["WECHAT_APP_ID"],
        "mchid": app.config["WECHATPAY_MCHID"],
        "out_trade_no": out_trade_no,
        "transaction_id": "4200" + "".join(secrets.choice("0123456789") for _ in range(24)),
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": "2025-06-16T10:05:00+08:00",
        "payer": {"openid": "o_test_openid"},
        "amount": {
            "total": total,
            "payer_total": total,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
    tx.update(changes)
    return tx


def notification(
    app,
    tx: dict[str, Any],
    now: datetime,
    *,
    key: rsa.RSAPrivateKey | None = None,
    serial: str | None = None,
    apiv3_key: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a TRANSACTION.SUCCESS notification signed at `now`."""
    apiv3 = (apiv3_key or app.config["WECHATPAY_APIV3_KEY"]).encode()
    nonce = secrets.token_hex(6)  # 12 characters
    sealed = AESGCM(apiv3).encrypt(nonce.encode(), json.dumps(tx).encode(), b"transaction")
    body = json.dumps(
        {
            "id": "EV-" + secrets.token_hex(8),
            "create_time": "2025-06-16T10:05:01+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(sealed).decode(),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        },
        ensure_ascii=False,
    ).encode()
    timestamp = str(int(now.timestamp()))
    sig_nonce = secrets.token_hex(16)
    message = f"{timestamp}\n{sig_nonce}\n".encode() + body + b"\n"
    signature = (key or platform_key(app)).sign(message, padding.PKCS1v15(), hashes.SHA256())
    headers = {
        "Content-Type": "application/json",
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": sig_nonce,
        "Wechatpay-Signature": base64.b64encode(signature).decode(),
        "Wechatpay-Serial": serial or app.config["WECHATPAY_PUBLIC_KEY_ID"],
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    return body, headers
