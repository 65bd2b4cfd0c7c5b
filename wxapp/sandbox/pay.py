"""The sandbox's WeChat Pay v3 (pay half): prepay (JSAPI, Native), query, close, refund,
the cashier a `WeixinJSBridge` shim opens, and the Native "scan" page.

Every /v3 request must carry a valid merchant Authorization (401 SIGN_ERROR otherwise) and
every /v3 response is signed with the platform key, so wechatpayv3 runs unchanged against it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from wxapp.extensions import app_now, get_redis
from wxapp.infra.clock import local
from wxapp.sandbox import pay_store as store
from wxapp.sandbox.pay_keys import (
    check_authorization,
    check_pay_sign,
    platform_headers,
    sandbox_pay_keys,
)
from wxapp.sandbox.pay_notifier import send_notification

PREFIX = "/_sandbox"
bp = Blueprint("sandbox_pay", __name__, url_prefix=PREFIX, template_folder="templates")


def signed_reply(status: int, data: dict[str, Any] | None = None) -> Response:
    """A JSON answer signed with the sandbox platform key, as WeChat Pay signs its answers."""
    body = json.dumps(data, ensure_ascii=False) if data is not None else ""
    keys = sandbox_pay_keys(current_app)
    headers = platform_headers(keys, body, int(app_now().timestamp()))
    return Response(
        body, status=status, headers=headers, content_type="application/json; charset=utf-8"
    )


def _error(status: int, code: str, message: str) -> Response:
    return signed_reply(status, {"code": code, "message": message})


def authorization_problem() -> str | None:
    """Why this request's WeChat Pay v3 signature (Authorization header) does not hold,
    or None: the check every /v3/ API of the sandbox makes, as WeChat Pay does."""
    path = request.path[len(PREFIX) :]
    if request.query_string:
        path += "?" + request.query_string.decode()
    return check_authorization(
        sandbox_pay_keys(current_app),
        request.headers.get("Authorization", ""),
        request.method,
        path,
        request.get_data(as_text=True),
    )


@bp.before_request
def _authenticate():
    if not request.path.startswith(PREFIX + "/v3/"):
        return None
    problem = authorization_problem()
    return _error(401, "SIGN_ERROR", problem) if problem else None


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _prepay(trade_type: str) -> Response:
    body = _json()
    keys = sandbox_pay_keys(current_app)
    amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
    total = amount.get("total")
    for field in ("appid", "mchid", "description", "out_trade_no", "notify_url"):
        if not isinstance(body.get(field), str) or not body[field]:
            return _error(400, "PARAM_ERROR", f"缺少参数 {field}")
    if body["mchid"] != keys.mchid or body["appid"] != keys.appid:
        return _error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        return _error(400, "PARAM_ERROR", "amount.total 应为正整数（分）")
    if trade_type == "JSAPI" and not (body.get("payer") or {}).get("openid"):
        return _error(400, "PARAM_ERROR", "缺少参数 payer.openid")
    r = get_redis()
    existing = store.load(r, body["out_trade_no"])
    if existing is not None:
        if existing["trade_state"] == "SUCCESS":
            return _error(403, "ORDERPAID", "该订单已支付")
        if existing["trade_state"] == "CLOSED":
            return _error(400, "ORDER_CLOSED", "订单已关闭")
        # WeChat Pay keeps an out_trade_no to what its first prepay asked: another amount,
        # description or trade type (JSAPI, then Native on a PC) is a different order.
        if (
            existing["amount"]["total"] != total
            or existing["description"] != body["description"]
            or existing.get("trade_type", trade_type) != trade_type
        ):
            return _error(400, "INVALID_REQUEST", "201 商户订单号重复")
    tx = store.prepare(r, body, trade_type, app_now())
    if trade_type == "JSAPI":
        return signed_reply(200, {"prepay_id": tx["prepay_id"]})
    return signed_reply(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={tx['code']}"})


@bp.post("/v3/pay/transactions/jsapi")
def jsapi():
    return _prepay("JSAPI")


@bp.post("/v3/pay/transactions/native")
def native():
    return _prepay("NATIVE")


@bp.get("/v3/pay/transactions/out-trade-no/<out_trade_no>")
def query(out_trade_no: str):
    tx = store.load(get_redis(), out_trade_no)
    if tx is None:
        return _error(404, "ORDER_NOT_EXIST", "订单不存在")
    return signed_reply(200, store.public_view(tx))


@bp.post("/v3/pay/transactions/out-trade-no/<out_trade_no>/close")
def close(out_trade_no: str):
    r = get_redis()
    tx = store.load(r, out_trade_no)
    if tx is None:
        return _error(404, "ORDER_NOT_EXIST", "订单不存在")
    if tx["trade_state"] in ("SUCCESS", "REFUND"):
        return _error(400, "ORDERPAID", "订单已支付")
    tx["trade_state"], tx["trade_state_desc"] = "CLOSED", "订单已关闭"
    store.save(r, tx)
    return signed_reply(204)


def _refund_reply(refund: dict[str, Any], status: str) -> dict[str, Any]:
    reply = store.refund_view(refund)
    reply["status"] = status
    return reply


@bp.post("/v3/refund/domestic/refunds")
def refund():
    """申请退款: answered PROCESSING at once; the refund then succeeds and REFUND.SUCCESS is
    sent to its notify_url (signed and encrypted like a payment's). The same out_refund_no
    asked again is the same refund, refunded once."""
    body = _json()
    r = get_redis()
    no = body.get("out_refund_no")
    if not isinstance(no, str) or not 1 <= len(no) <= 64:
        return _error(400, "PARAM_ERROR", "缺少参数 out_refund_no")
    existing = store.load_refund(r, no)
    if existing is not None:
        return signed_reply(200, _refund_reply(existing, existing["refund_status"]))
    tx = store.load(r, str(body.get("out_trade_no") or ""))
    if tx is None or tx["trade_state"] not in ("SUCCESS", "REFUND"):
        return _error(404, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
    amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
    wanted = amount.get("refund")
    total = tx["amount"]["total"]
    if amount.get("total") != total or isinstance(wanted, bool) or not isinstance(wanted, int):
        return _error(400, "PARAM_ERROR", "退款金额错误")
    if not 1 <= wanted <= total - tx.get("refunded", 0):
        return _error(400, "PARAM_ERROR", "申请退款金额超过订单可退金额")
    now = app_now()
    refund = {
        "mchid": tx["mchid"],
        "out_trade_no": tx["out_trade_no"],
        "transaction_id": tx["transaction_id"],
        "out_refund_no": no,
        "refund_id": "5030" + secrets.token_hex(12),
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": local(now).isoformat(timespec="seconds"),
        "amount": {
            "total": total,
            "refund": wanted,
            "payer_total": total,
            "payer_refund": wanted,
            "currency": "CNY",
        },
        "notify_url": body.get("notify_url") or tx["notify_url"],
        # Shown to the payer in WeChat's refund message; not part of the API's answers.
        "reason": body.get("reason"),
    }
    tx["trade_state"], tx["trade_state_desc"] = "REFUND", "转入退款"
    tx["refunded"] = tx.get("refunded", 0) + wanted
    store.save(r, tx)
    reply = _refund_reply(refund, "PROCESSING")
    # The money goes back at once here; WeChat Pay then tells the merchant.
    refund["refund_status"] = "SUCCESS"
    refund["success_time"] = refund["create_time"]
    store.save_refund(r, refund)
    refund["notification"] = send_notification(
        current_app._get_current_object(),
        refund["notify_url"],
        {
            key: refund[key]
            for key in (
                "mchid",
                "out_trade_no",
                "transaction_id",
                "out_refund_no",
                "refund_id",
                "refund_status",
                "success_time",
                "user_received_account",
            )
        }
        | {"amount": {k: v for k, v in refund["amount"].items() if k != "currency"}},
        "REFUND.SUCCESS",
    )
    store.save_refund(r, refund)
    return signed_reply(200, reply)


@bp.get("/v3/refund/domestic/refunds/<out_refund_no>")
def query_refund(out_refund_no: str):
    refund = store.load_refund(get_redis(), out_refund_no)
    if refund is None:
        return _error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return signed_reply(200, _refund_reply(refund, refund["refund_status"]))


def _cashier(tx: dict[str, Any] | None, problem: str | None = None, status: int = 200):
    return (
        render_template(
            "sandbox_pay/cashier.html",
            tx=tx,
            problem=problem,
            embed=request.values.get("embed") == "1",
            ref=request.values.get("ref", ""),
        ),
        status,
    )


@bp.get("/pay/cashier")
def cashier():
    """What the WeChat client shows after getBrandWCPayRequest: checks paySign first."""
    args = request.args
    keys = sandbox_pay_keys(current_app)
    package = args.get("package", "")
    tx = store.by_ref(get_redis(), "prepay", package.removeprefix("prepay_id="))
    if tx is None:
        return _cashier(None, "订单不存在（prepay_id 无效）", 404)
    if args.get("appId") != keys.appid or not check_pay_sign(
        keys,
        keys.appid,
        args.get("timeStamp", ""),
        args.get("nonceStr", ""),
        package,
        args.get("paySign", ""),
    ):
        return _cashier(None, "支付验证签名失败", 400)
    return _cashier(tx)


@bp.get("/pay/scan")
def scan():
    """The Native QR code, "scanned": paste or follow the code_url to reach the cashier."""
    code_url = request.args.get("code_url", "")
    code = code_url.rpartition("pr=")[2] if code_url else request.args.get("pr", "")
    tx = store.by_ref(get_redis(), "code", code) if code else None
    if code and tx is None:
        return _cashier(None, "二维码无效或已过期", 404)
    if tx is None:
        return render_template("sandbox_pay/scan.html"), 200
    return _cashier(tx)


@bp.post("/pay/cashier")
def cashier_submit():
    """The pay / cancel buttons. `drop_notify` pays without notifying (a lost notification)."""
    r = get_redis()
    tx = store.load(r, request.form.get("out_trade_no", ""))
    if tx is None:
        return _cashier(None, "订单不存在", 404)
    if request.form.get("action") == "cancel":
        return render_template(
            "sandbox_pay/result.html",
            tx=tx,
            result="cancel",
            embed=request.form.get("embed") == "1",
        )
    now = app_now()
    if tx["trade_state"] != "NOTPAY":
        return _cashier(tx, f"订单状态为 {tx['trade_state']}，不能支付", 409)
    if store.expired(tx, now):
        return _cashier(tx, "订单已过期", 409)
    if not store.mark_paid(r, tx, now):
        return _cashier(tx, "订单正在支付", 409)
    if request.form.get("drop_notify") != "1":
        send_notification(
            current_app._get_current_object(), tx["notify_url"], store.public_view(tx)
        )
    return render_template(
        "sandbox_pay/result.html", tx=tx, result="ok", embed=request.form.get("embed") == "1"
    )
