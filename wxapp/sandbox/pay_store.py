"""The sandbox's WeChat Pay transactions, kept in Redis (a stand-in, not the app's data)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

import redis

from wxapp.infra.clock import local

TTL_S = 7 * 24 * 3600
PREFIX = "sandbox:pay:"
SANDBOX_NATIVE_OPENID = "o_sandbox_native_scanner"


def _key(kind: str, ident: str) -> str:
    return f"{PREFIX}{kind}:{ident}"


def load(r: redis.Redis, out_trade_no: str) -> dict[str, Any] | None:
    raw = r.get(_key("tx", out_trade_no))
    return json.loads(raw) if raw else None


def save(r: redis.Redis, tx: dict[str, Any]) -> None:
    r.set(_key("tx", tx["out_trade_no"]), json.dumps(tx, ensure_ascii=False), ex=TTL_S)


def by_ref(r: redis.Redis, kind: str, ref: str) -> dict[str, Any] | None:
    """A transaction by prepay_id (kind "prepay") or Native code (kind "code")."""
    out_trade_no = r.get(_key(kind, ref))
    return load(r, out_trade_no) if out_trade_no else None


def prepare(r: redis.Redis, body: dict[str, Any], trade_type: str, now: datetime) -> dict[str, Any]:
    """Create (or find again) the transaction of a prepay request; returns it."""
    tx = load(r, body["out_trade_no"])
    if tx is None:
        tx = {
            "appid": body["appid"],
            "mchid": body["mchid"],
            "out_trade_no": body["out_trade_no"],
            "description": body["description"],
            "amount": {"total": body["amount"]["total"], "currency": "CNY"},
            "notify_url": body["notify_url"],
            "time_expire": body.get("time_expire"),
            "trade_state": "NOTPAY",
            "trade_state_desc": "订单未支付",
            "created_at": now.isoformat(),
        }
    tx["trade_type"] = trade_type
    payer = (body.get("payer") or {}).get("openid")
    if payer:
        tx["payer"] = {"openid": payer}
    if trade_type == "JSAPI" and not tx.get("prepay_id"):
        tx["prepay_id"] = "wx" + secrets.token_hex(15)
        r.set(_key("prepay", tx["prepay_id"]), tx["out_trade_no"], ex=TTL_S)
    if trade_type == "NATIVE" and not tx.get("code"):
        tx["code"] = secrets.token_urlsafe(12)
        r.set(_key("code", tx["code"]), tx["out_trade_no"], ex=TTL_S)
    save(r, tx)
    return tx


def expired(tx: dict[str, Any], now: datetime) -> bool:
    limit = tx.get("time_expire")
    return bool(limit) and datetime.fromisoformat(limit) <= now


def mark_paid(r: redis.Redis, tx: dict[str, Any], now: datetime) -> bool:
    """NOTPAY -> SUCCESS once, even if the pay button is pressed twice at once."""
    if not r.set(_key("paying", tx["out_trade_no"]), "1", nx=True, ex=TTL_S):
        return False
    tx["trade_state"] = "SUCCESS"
    tx["trade_state_desc"] = "支付成功"
    tx["transaction_id"] = "4200" + "".join(secrets.choice("0123456789") for _ in range(24))
    tx["success_time"] = local(now).isoformat(timespec="seconds")
    tx["bank_type"] = "OTHERS"
    tx.setdefault("payer", {"openid": SANDBOX_NATIVE_OPENID})
    save(r, tx)
    return True


def public_view(tx: dict[str, Any]) -> dict[str, Any]:
    """The transaction as the v3 query API answers it."""
    view = {
        key: tx[key]
        for key in (
            "appid",
            "mchid",
            "out_trade_no",
            "transaction_id",
            "trade_type",
            "trade_state",
            "trade_state_desc",
            "bank_type",
            "success_time",
            "payer",
        )
        if key in tx
    }
    view["attach"] = ""
    view["amount"] = {
        "total": tx["amount"]["total"],
        "currency": "CNY",
        **(
            {"payer_total": tx["amount"]["total"], "payer_currency": "CNY"}
            if tx["trade_state"] in ("SUCCESS", "REFUND")
            else {}
        ),
    }
    return view


def load_refund(r: redis.Redis, out_refund_no: str) -> dict[str, Any] | None:
    raw = r.get(_key("refund", out_refund_no))
    return json.loads(raw) if raw else None


def save_refund(r: redis.Redis, refund: dict[str, Any]) -> None:
    r.set(_key("refund", refund["out_refund_no"]), json.dumps(refund, ensure_ascii=False), ex=TTL_S)


def refund_view(refund: dict[str, Any]) -> dict[str, Any]:
    """The refund as the v3 refund API answers it (and as its notification resource)."""
    return {
        key: value
        for key, value in refund.items()
        if key not in ("notify_url", "notification", "reason")
    }


def _every(r: redis.Redis, kind: str) -> list[dict[str, Any]]:
    found = []
    for key in r.scan_iter(match=_key(kind, "*"), count=500):
        raw = r.get(key)
        if raw:
            found.append(json.loads(raw))
    return found


def paid_on(r: redis.Redis, day: str) -> list[dict[str, Any]]:
    """Transactions paid on `day` (YYYY-MM-DD, Beijing time), refunded since or not."""
    return sorted(
        (tx for tx in _every(r, "tx") if str(tx.get("success_time") or "").startswith(day)),
        key=lambda tx: tx["success_time"],
    )


def refunded_on(r: redis.Redis, day: str) -> list[dict[str, Any]]:
    """Refunds that succeeded on `day` (YYYY-MM-DD, Beijing time)."""
    return sorted(
        (f for f in _every(r, "refund") if str(f.get("success_time") or "").startswith(day)),
        key=lambda f: f["success_time"],
    )


def save_bill(r: redis.Redis, token: str, content: bytes, ttl_s: int) -> None:
    # The app's Redis client decodes replies as text: keep the file base64-encoded.
    r.set(_key("bill", token), base64.b64encode(content).decode(), ex=ttl_s)


def load_bill(r: redis.Redis, token: str) -> bytes | None:
    raw = r.get(_key("bill", token))
    return base64.b64decode(raw) if raw else None
