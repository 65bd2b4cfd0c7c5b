"""POST /pay/notify: WeChat Pay v3's notifications (TRANSACTION.SUCCESS and REFUND.*),
answered in WeChat Pay's format.

204 when applied (or already applied, or nothing to do); 401 when not provably from WeChat
Pay; 4xx/5xx `{"code": "FAIL", "message": ...}` otherwise, so WeChat Pay retries.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from wxapp.errors import AppError
from wxapp.extensions import app_now, get_redis
from wxapp.orders.invoice_issuer import get_issuer
from wxapp.orders.payment import REFUSED
from wxapp.orders.settlement import handle_notification
from wxapp.pay.client import get_wechatpay
from wxapp.pay.notify import NotificationRejected

log = logging.getLogger(__name__)

bp = Blueprint("pay_notify", __name__)


def _fail(status: int, message: str):
    return jsonify({"code": "FAIL", "message": message}), status


@bp.post("/pay/notify")
def notify():
    result = handle_notification(
        get_wechatpay(),
        get_issuer(current_app),
        request.headers,
        request.get_data(),
        app_now(),
        get_redis(),
    )
    if result == REFUSED:
        return _fail(400, "订单信息不符，已记录待人工处理")
    return "", 204


@bp.errorhandler(NotificationRejected)
def _rejected(err: NotificationRejected):
    log.warning("pay notification rejected (%s) from %s", err.reason, request.remote_addr)
    return _fail(err.status, "签名验证失败" if err.status == 401 else "通知内容无法解析")


@bp.errorhandler(AppError)
def _app_error(err: AppError):
    return _fail(err.status, err.message)


@bp.errorhandler(Exception)
def _unexpected(err: Exception):
    log.exception("pay notification failed")
    return _fail(500, "系统繁忙")
