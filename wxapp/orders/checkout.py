"""Paying an order through WeChat Pay v3: JSAPI inside WeChat, Native (QR code) on a PC,
and cancelling. What happens once WeChat Pay reports the payment is `settlement`'s.
The WeChat Pay client is passed in. Each use case ends its read transaction (`end_read`)
before calling WeChat Pay; what WeChat Pay answers is then written in a transaction of its
own.

Before a prepay is opened every member of the order is checked again: a group order with a
member who has meanwhile bought the plan (alone, or through another payer's group order) is
refused with 409 `members_enrolled`, naming them; the payer cancels it and submits the list
again (the re-paste rejects them as 已购买本培训项目 and prices the rest). It is refused rather
than re-priced because WeChat Pay keeps the amount of an out_trade_no once a prepay is
opened. A payment that still arrives for such a member (the prepay opened before they
bought) is refunded that member's share (`orders.payment`, `orders.refunds`).
"""

from __future__ import annotations

import io
import logging
import secrets
from datetime import datetime
from typing import Any

import qrcode
import sqlalchemy as sa
from wechatpayv3 import WeChatPayType

from models import (
    Enrollment,
    EnrollmentStatus,
    Order,
    OrderItem,
    OrderKind,
    OrderStatus,
    Trainee,
    WechatBinding,
    db,
)
from wxapp.errors import Conflict, ServiceUnavailable
from wxapp.infra.clock import local
from wxapp.infra.transaction import end_read, transaction
from wxapp.orders.enrollments import paid_plan_ids
from wxapp.orders.ownership import get_own_order
from wxapp.orders.purchase import order_view
from wxapp.orders.settlement import settle_order
from wxapp.pay.client import PayClient, PayGatewayError

log = logging.getLogger(__name__)

NOT_IN_WECHAT = "请在微信中打开本页面完成支付"
PAID_NOT_CANCELLED = "该订单已支付成功，不能取消；如需退款请联系客服"


def _payable(trainee_id: int, out_trade_no: str, now: datetime) -> Order:
    order = get_own_order(trainee_id, out_trade_no)
    if order.status == OrderStatus.SUCCESS:
        raise Conflict("订单已支付", code="order_paid")
    if order.status != OrderStatus.NOTPAY:
        raise Conflict("订单已关闭，请重新下单", code="order_closed")
    if order.expires_at <= now:
        raise Conflict("订单已过期，请重新下单", code="order_expired")
    if order.kind == OrderKind.INDIVIDUAL and order.plan_id in paid_plan_ids(trainee_id):
        raise Conflict("您已购买该培训项目，无需重复支付", code="already_enrolled")
    if order.kind == OrderKind.GROUP:
        enrolled = enrolled_members(order)
        if enrolled:
            raise Conflict(
                f"订单中有 {len(enrolled)} 名学员已购买该培训项目，请取消本订单后重新提交团购名单",
                code="members_enrolled",
                id_numbers=enrolled,
            )
    return order


def enrolled_members(order: Order) -> list[str]:
    """ID numbers of the order's members who already hold a paid enrollment in its plan."""
    return list(
        db.session.execute(
            db.select(Trainee.id_number)
            .join(OrderItem, OrderItem.trainee_id == Trainee.id)
            .join(
                Enrollment,
                sa.and_(
                    Enrollment.trainee_id == OrderItem.trainee_id,
                    Enrollment.plan_id == order.plan_id,
                    Enrollment.status == EnrollmentStatus.PAID,
                ),
            )
            .where(OrderItem.order_id == order.id)
            .order_by(Trainee.id_number)
        ).scalars()
    )


def _gateway_error(err: PayGatewayError) -> Exception:
    if err.code == "ORDERPAID":
        return Conflict("订单已支付", code="order_paid")
    if err.code == "ORDER_CLOSED":
        return Conflict("订单已关闭，请重新下单", code="order_closed")
    return ServiceUnavailable("微信支付暂时无法访问，请稍后再试", code="pay_unavailable")


def _prepay(
    client: PayClient,
    trainee_id: int,
    order: Order,
    pay_type: WeChatPayType,
    payer: dict | None,
    field: str,
    now: datetime,
) -> str:
    """Open the order's prepay and keep what it answers (`prepay_id` or `code_url`)."""
    out_trade_no = order.out_trade_no
    fields = {
        "description": order.description,
        "out_trade_no": out_trade_no,
        "amount": {"total": order.amount_fen, "currency": "CNY"},
        "time_expire": local(order.expires_at).isoformat(timespec="seconds"),
        "pay_type": pay_type,
    }
    end_read()  # so no lock or snapshot is held while waiting for WeChat Pay
    try:
        _, data = client.call("pay", payer=payer, **fields)
    except PayGatewayError as err:
        raise _gateway_error(err) from err
    value = str(data.get(field) or "")
    if not value:
        raise ServiceUnavailable("微信支付暂时无法访问，请稍后再试", code="pay_unavailable")
    with transaction():
        order = get_own_order(trainee_id, out_trade_no)
        setattr(order, field, value)
        order.trade_type, order.updated_at = pay_type.name, now
    return value


def jsapi_params(
    client: PayClient, trainee_id: int, out_trade_no: str, now: datetime
) -> dict[str, Any]:
    """The parameters for WeixinJSBridge.invoke('getBrandWCPayRequest', ...)."""
    order = _payable(trainee_id, out_trade_no, now)
    openid = db.session.execute(
        db.select(WechatBinding.openid).where(WechatBinding.trainee_id == trainee_id)
    ).scalar_one_or_none()
    if openid is None:
        raise Conflict(NOT_IN_WECHAT, code="wechat_not_bound")
    prepay_id = order.prepay_id or _prepay(
        client, trainee_id, order, WeChatPayType.JSAPI, {"openid": openid}, "prepay_id", now
    )
    timestamp = str(int(now.timestamp()))
    nonce = secrets.token_hex(16)
    package = f"prepay_id={prepay_id}"
    return {
        "appId": client.appid,
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": client.sign([client.appid, timestamp, nonce, package]),
    }


def native_code_url(client: PayClient, trainee_id: int, out_trade_no: str, now: datetime) -> str:
    """The Native payment's code_url (shown as a QR code), created once per order."""
    order = _payable(trainee_id, out_trade_no, now)
    return order.code_url or _prepay(
        client, trainee_id, order, WeChatPayType.NATIVE, None, "code_url", now
    )


def qrcode_png(text: str) -> bytes:
    buf = io.BytesIO()
    qrcode.make(text, box_size=8, border=2).save(buf)
    return buf.getvalue()


def cancel_order(
    client: PayClient, trainee_id: int, out_trade_no: str, now: datetime
) -> dict[str, Any]:
    """取消订单: close it at WeChat Pay (so it cannot be paid later), then here.

    WeChat Pay is asked first: an order paid meanwhile (the cashier was still open on
    another phone, or its notification is late) is not cancelled but settled as paid, with
    its enrollments, and the trainee is told so (409 `order_paid`)."""
    order = get_own_order(trainee_id, out_trade_no)
    if order.status == OrderStatus.SUCCESS:
        raise Conflict(PAID_NOT_CANCELLED, code="order_paid")
    if order.status != OrderStatus.NOTPAY:
        raise Conflict("只有未支付的订单可以取消", code="order_not_open")
    end_read()  # settle_order calls WeChat Pay
    settle_order(client, order.id, now, close=True)
    order = get_own_order(trainee_id, out_trade_no)
    if order.status == OrderStatus.SUCCESS:
        raise Conflict(PAID_NOT_CANCELLED, code="order_paid")
    return order_view(order)
