"""Orders: 个人购买, 团体购买 (with its error file and 团购订单), paying (JSAPI, Native QR),
cancelling."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request

from handlers import validation as v
from handlers.guard import caller_address, current_trainee_id, limit_by_trainee
from wxapp.errors import ValidationError
from wxapp.extensions import app_now, get_redis
from wxapp.infra import limits, xlsx
from wxapp.orders import checkout, group, group_orders, group_paste, purchase
from wxapp.orders.group_xlsx import rejects_xlsx
from wxapp.orders.invoices import parse_invoice_request
from wxapp.pay.client import get_wechatpay

bp = Blueprint("orders", __name__, url_prefix="/api")
# What an out_trade_no may hold (as the `<order:...>` route converter).
ORDER_NO = re.compile(r"[0-9A-Za-z_-]{1,32}")


def _invoice(body: dict):
    data = body.get("invoice")
    return None if data is None else parse_invoice_request(data, prefix="invoice.")


@bp.post("/orders")
def create_order():
    limit_by_trainee(limits.ORDER_CREATE)
    body = v.json_body()
    plan_id = v.row_id(body, "plan_id")
    order = purchase.create_individual_order(
        current_trainee_id(), plan_id, _invoice(body), app_now()
    )
    return jsonify(order), 201


@bp.get("/orders/<order:out_trade_no>")
def get_order(out_trade_no: str):
    return jsonify(purchase.order_detail(current_trainee_id(), out_trade_no))


@bp.get("/me/orders")
def my_orders():
    return jsonify({"items": purchase.list_orders(current_trainee_id())})


@bp.post("/orders/<order:out_trade_no>/pay")
def pay(out_trade_no: str):
    limit_by_trainee(limits.ORDER_PAY)
    body = request.get_json(silent=True) or {}
    method = body.get("method", "jsapi") if isinstance(body, dict) else "jsapi"
    if method not in ("jsapi", "native"):
        raise ValidationError("method", "支付方式应为 jsapi（微信内支付）或 native（扫码支付）")
    client, tid, now = get_wechatpay(), current_trainee_id(), app_now()
    if method == "jsapi":
        params = checkout.jsapi_params(client, tid, out_trade_no, now)
        # In the sandbox a browser with WeChat's user agent has no WeixinJSBridge: the page
        # then loads the sandbox's stand-in, which plays the WeChat client's pay sheet.
        return jsonify(
            {
                "method": "jsapi",
                "params": params,
                "sandbox": bool(current_app.config["WXAPP_SANDBOX"]),
            }
        )
    code_url = checkout.native_code_url(client, tid, out_trade_no, now)
    reply = {
        "method": "native",
        "code_url": code_url,
        "qrcode_url": f"/api/orders/{out_trade_no}/qrcode.png",
    }
    if current_app.config["WXAPP_SANDBOX"]:  # no phone to scan with: the sandbox plays it
        reply["sandbox_scan_url"] = "/_sandbox/pay/scan?" + urlencode({"code_url": code_url})
    return jsonify(reply)


@bp.get("/orders/<order:out_trade_no>/qrcode.png")
def qrcode_png(out_trade_no: str):
    code_url = checkout.native_code_url(
        get_wechatpay(), current_trainee_id(), out_trade_no, app_now()
    )
    return Response(
        checkout.qrcode_png(code_url), mimetype="image/png", headers={"Cache-Control": "no-store"}
    )


@bp.post("/orders/<order:out_trade_no>/cancel")
def cancel(out_trade_no: str):
    return jsonify(
        checkout.cancel_order(get_wechatpay(), current_trainee_id(), out_trade_no, app_now())
    )


def _replaced_orders(body: dict) -> list[str]:
    """修改并重新提交: the order numbers to cancel first, each once, in the order given."""
    value = body.get("replace_orders")
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(no, str) and ORDER_NO.fullmatch(no) for no in value
    ):
        raise ValidationError("replace_orders", "要取消的原订单号有误")
    if len(value) > group.MAX_REPLACED:
        raise ValidationError("replace_orders", f"一次最多取消 {group.MAX_REPLACED} 笔原订单")
    return list(dict.fromkeys(value))


@bp.post("/group-orders")
def create_group_order():
    limit_by_trainee(limits.ORDER_CREATE)
    body = v.json_body()
    plan_id = v.row_id(body, "plan_id")
    text = v.string(body, "id_numbers", max_len=400_000, strip=False)
    replace = _replaced_orders(body)
    result = group.create_group_order(
        get_redis(),
        current_trainee_id(),
        plan_id,
        text,
        _invoice(body),
        app_now(),
        caller_address(),
        replace=replace,
        pay_client=get_wechatpay() if replace else None,
    )
    return jsonify(result), 201 if result["order"] else 200


@bp.get("/group-orders/rejects/<token>.xlsx")
def group_rejects(token: str):
    rejects = group_paste.stored_rejects(get_redis(), current_trainee_id(), token, app_now())
    return xlsx.download(rejects_xlsx(rejects), "错误文件.xlsx")


@bp.get("/me/group-orders")
def my_group_orders():
    return jsonify({"items": group_orders.list_group_orders(current_trainee_id())})


@bp.get("/group-orders/<order:out_trade_no>/members")
def group_order_members(out_trade_no: str):
    offset = v.query_int("offset", default=0, low=0, high=1_000_000)
    return jsonify(group_orders.group_order_members(current_trainee_id(), out_trade_no, offset))
