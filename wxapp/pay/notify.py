"""Checking a WeChat Pay v3 notification: signature, timestamp, serial, then AES-256-GCM.

wechatpayv3's `callback()` verifies the RSA signature but not the timestamp, and for a serial
it does not know it downloads platform certificates (a network call on an unauthenticated
request). So the checks are done here, reusing its `rsa_verify` and `aes_decrypt`.
Pure functions: the caller passes the key, the key id and `now`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from wechatpayv3.utils import aes_decrypt, rsa_verify

MAX_SKEW_S = 300  # WeChat Pay's advice: refuse a timestamp more than 5 minutes off
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"


class NotificationRejected(Exception):
    """The notification is not provably from WeChat Pay (401) or cannot be read (400)."""

    def __init__(self, reason: str, status: int = 401):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    public_key: RSAPublicKey,
    public_key_id: str,
    now: datetime,
) -> str:
    """Return the body as text if WeChat Pay signed it, else raise NotificationRejected."""
    signature = headers.get("Wechatpay-Signature") or ""
    timestamp = headers.get("Wechatpay-Timestamp") or ""
    nonce = headers.get("Wechatpay-Nonce") or ""
    serial = headers.get("Wechatpay-Serial") or ""
    sig_type = headers.get("Wechatpay-Signature-Type") or SIGNATURE_TYPE
    if not (signature and timestamp and nonce and serial):
        raise NotificationRejected("missing signature headers")
    if sig_type != SIGNATURE_TYPE:
        raise NotificationRejected(f"unsupported signature type {sig_type!r}")
    if serial != public_key_id:
        raise NotificationRejected(f"unknown serial {serial!r}")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        # Seconds since the epoch; a longer number would overflow the skew check below.
        raise NotificationRejected("malformed timestamp")
    sent_at = int(timestamp)
    if abs(now.timestamp() - sent_at) > MAX_SKEW_S:
        raise NotificationRejected(f"timestamp {sent_at} is more than 5 minutes off")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotificationRejected("body is not UTF-8") from None
    if not rsa_verify(timestamp, nonce, text, signature, public_key):
        raise NotificationRejected("bad signature")
    return text


def decrypt_notification(text: str, apiv3_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(envelope, decrypted resource) of a verified notification body."""
    try:
        envelope = json.loads(text)
        resource = envelope["resource"]
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotificationRejected("unsupported algorithm", 400)
        plain = aes_decrypt(
            nonce=resource["nonce"],
            ciphertext=resource["ciphertext"],
            associated_data=resource.get("associated_data") or "",
            apiv3_key=apiv3_key,
        )
    except NotificationRejected:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise NotificationRejected("malformed notification", 400) from None
    if plain is None:
        raise NotificationRejected("resource does not decrypt with the APIv3 key", 400)
    try:
        data = json.loads(plain)
    except ValueError:
        raise NotificationRejected("decrypted resource is not JSON", 400) from None
    if not isinstance(envelope, dict) or not isinstance(data, dict):
        raise NotificationRejected("malformed notification", 400)
    return envelope, data
