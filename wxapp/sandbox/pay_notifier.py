"""The sandbox's pay and refund notifications (TRANSACTION.SUCCESS, REFUND.SUCCESS):
AES-256-GCM encrypted, platform-signed, POSTed to the merchant's notify_url and retried on
failure on WeChat Pay's schedule.

WeChat Pay retries a notification that is not answered 200/204 after 15 s, 15 s, 30 s,
3 min, 10 min, 20 min, 30 min, 30 min, 30 min, 60 min, 3 h, 3 h, 3 h, 6 h, 6 h (24 h 4 min in
all). SANDBOX_PAY_NOTIFY_SCALE multiplies those waits (tests make them milliseconds).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from datetime import datetime
from typing import Any

import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask

from wxapp.infra.clock import local
from wxapp.sandbox.pay_keys import platform_headers, sandbox_pay_keys

log = logging.getLogger(__name__)

RETRY_WAITS_S = (
    15,
    15,
    30,
    180,
    600,
    1200,
    1800,
    1800,
    1800,
    3600,
    10800,
    10800,
    10800,
    21600,
    21600,
)


def encrypt_resource(plain: dict[str, Any], apiv3_key: str, original_type: str) -> dict[str, str]:
    nonce = secrets.token_urlsafe(9)[:12]
    associated = original_type
    sealed = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), json.dumps(plain, ensure_ascii=False).encode(), associated.encode()
    )
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated,
        "nonce": nonce,
    }


# event_type -> (summary, resource original_type), as WeChat Pay sends them.
EVENTS = {
    "TRANSACTION.SUCCESS": ("支付成功", "transaction"),
    "REFUND.SUCCESS": ("退款成功", "refund"),
    "REFUND.ABNORMAL": ("退款异常", "refund"),
    "REFUND.CLOSED": ("退款关闭", "refund"),
}


def notification_body(
    tx: dict[str, Any], apiv3_key: str, now: datetime, event_type: str = "TRANSACTION.SUCCESS"
) -> str:
    summary, original_type = EVENTS[event_type]
    envelope = {
        "id": "EV-" + secrets.token_hex(12),
        "create_time": local(now).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": encrypt_resource(tx, apiv3_key, original_type),
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def _deliver(app: Flask, url: str, body: str) -> None:
    keys = sandbox_pay_keys(app)
    scale = float(app.config.get("SANDBOX_PAY_NOTIFY_SCALE", 1.0))
    waits = (0, *RETRY_WAITS_S)
    for attempt, wait in enumerate(waits, start=1):
        time.sleep(wait * scale)
        now_s = int(app.extensions["clock"].now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            **platform_headers(keys, body, now_s),
        }
        try:
            reply = requests.post(url, data=body.encode(), headers=headers, timeout=5)
            status = reply.status_code
            reply.close()
        except requests.RequestException as err:
            status, reason = None, str(err)
        else:
            reason = f"HTTP {status}"
        if status in (200, 204):
            log.info("sandbox pay notification delivered to %s (attempt %d)", url, attempt)
            return
        log.warning("sandbox pay notification to %s failed (attempt %d): %s", url, attempt, reason)
    log.error("sandbox pay notification to %s given up after %d attempts", url, len(waits))


def send_notification(
    app: Flask, url: str, tx: dict[str, Any], event_type: str = "TRANSACTION.SUCCESS"
) -> str:
    """Encrypt `tx` (a transaction, or a refund for REFUND.*) now, deliver it in the
    background with retries, each attempt signed when sent; the body."""
    keys = sandbox_pay_keys(app)
    body = notification_body(tx, keys.apiv3_key, app.extensions["clock"].now(), event_type)

    def run() -> None:
        try:
            _deliver(app, url, body)
        except Exception:  # a background thread must never die noisily
            log.exception("sandbox pay notifier crashed")

    threading.Thread(target=run, name="sandbox-pay-notify", daemon=True).start()
    return body
