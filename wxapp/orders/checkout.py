"""Paying an order through WeChat Pay v3: JSAPI inside WeChat, Native (QR code) on a PC,
and cancelling. What happens once WeChat Pay reports the payment is `settlement`'s.
The WeChat Pay client is passed in. Each use case ends its read transaction (`end_read`)
before calling WeChat Pay; what WeChat Pay answers is then written in a transaction of its
own.

Before a prepay is opened every member of the order is checked again: a group order with a
member who has meanwhile bought the plan (alone, or through another payer's group order) is
refused with 409 `members_enrolled`, naming them (masked, as 团购订单 shows an unpaid
order's members); the payer cancels it and submits the list
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
from functools import cache
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
from wxapp.accounts.idnumbers import mask_id_number
from wxapp.errors import Conflict, ServiceUnavailable
from wxapp.infra.clock import local
from wxapp.infra.dbutil import execute
from wxapp.infra.texts import mask_name
from wxapp.infra.transaction import end_read, transaction
from wxapp.orders.ownership import get_own_order, order_not_found, require_owner
from wxapp.orders.purchase import order_view
from wxapp.orders.settlement import settle_order
from wxapp.pay.client import PayClient, PayGatewayError

log = logging.getLogger(__name__)

# JSAPI needs the payer's openid: only a trainee bound to this WeChat user has one here.
NOT_BOUND = "在微信中支付需先绑定微信：请按提示授权并输入账号密码完成绑定，然后继续支付"
# WeChat Pay keeps an out_trade_no to the trade type of its first prepay (201 商户订单号重复).
OPENED_IN_WECHAT = (
    "该订单已在微信内发起支付，请在微信中打开本订单继续支付；如需扫码支付，请先取消订单再重新下单"
)
OPENED_AS_QR = "该订单已生成扫码支付二维码，请用微信扫描电脑上的二维码支付；如需在微信内支付，请先取消订单再重新下单"
PAID_NOT_CANCELLED = "该订单已支付成功，不能取消；如需退款请联系客服"
NOT_SETTLED = (
    "该订单在微信支付的状态需人工核实（如已支付后退款），暂不能取消；"
    "请稍后在“我的订单”查看，或咨询客服 400-023-9229"
)
# Members named in the refusal's message; `members` in its body lists them all.
MEMBERS_NAMED = 10


def _payable(trainee_id: int, out_trade_no: str, now: datetime) -> sa.Row:
    """The order if it can be paid now (its columns, whether its payer already holds its
    plan, and their openid), else the Conflict that says why."""
    order = execute(_payable_statement(), {"no": out_trade_no, "trainee": trainee_id}).first()
    require_owner(order.payer_id if order is not None else None, trainee_id)
    if order.status == OrderStatus.SUCCESS:
        raise Conflict("订单已支付", code="order_paid")
    if order.status != OrderStatus.NOTPAY:
        raise Conflict("订单已关闭，请重新下单", code="order_closed")
    if order.expires_at <= now:
        raise Conflict("订单已过期，请重新下单", code="order_expired")
    if order.kind == OrderKind.INDIVIDUAL and order.payer_enrolled:
        raise Conflict("您已购买该培训项目，无需重复支付", code="already_enrolled")
    if order.kind == OrderKind.GROUP:
        enrolled = enrolled_members(order)
        if enrolled:
            members = [
                {"name": mask_name(name), "id_number_masked": mask_id_number(number)}
                for name, number in enrolled
            ]
            raise Conflict(
                members_enrolled_message(members),
                code="members_enrolled",
                id_numbers=[number for _, number in enrolled],
                members=members,
            )
    return order


def members_enrolled_message(members: list[dict[str, str]]) -> str:
    """Who bought meanwhile, by masked name and ID number (as 团购订单 shows them before
    payment), the first MEMBERS_NAMED of them: the QR panel shows only the message."""
    named = "、".join(f"{m['name']}（{m['id_number_masked']}）" for m in members[:MEMBERS_NAMED])
    more = f"等 {len(members)} 人" if len(members) > MEMBERS_NAMED else ""
    return (
        f"订单中有 {len(members)} 名学员已购买该培训项目：{named}{more}。"
        "请取消本订单后重新提交团购名单（不含以上学员）"
    )


@cache
def _payable_statement() -> sa.Select:
    # One query for what paying checks and sends, built once: the pay step was 6 % of the
    # web CPU of the year-end rush, most of it in building statements and loading objects.
    payer = sa.bindparam("trainee")
    return sa.select(
        Order.id,
        Order.payer_id,
        Order.out_trade_no,
        Order.kind,
        Order.plan_id,
        Order.status,
        Order.amount_fen,
        Order.description,
        Order.expires_at,
        Order.prepay_id,
        Order.code_url,
        sa.exists()
        .where(
            Enrollment.trainee_id == payer,
            Enrollment.plan_id == Order.plan_id,
            Enrollment.status == EnrollmentStatus.PAID,
        )
        .label("payer_enrolled"),
        sa.select(WechatBinding.openid)
        .where(WechatBinding.trainee_id == payer)
        .scalar_subquery()
        .label("openid"),
    ).where(Order.out_trade_no == sa.bindparam("no"))


def enrolled_members(order: Order | sa.Row) -> list[tuple[str, str]]:
    """(name, ID number) of the order's members who already hold a paid enrollment in its
    plan, by ID number."""
    return [
        (name, number)
        for name, number in db.session.execute(
            db.select(Trainee.name, Trainee.id_number)
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
        )
    ]


def _switched(wanted: WeChatPayType) -> Conflict:
    """409 for paying `wanted` an order whose payment was opened the other way."""
    message = OPENED_AS_QR if wanted == WeChatPayType.JSAPI else OPENED_IN_WECHAT
    return Conflict(message, code="pay_method_switched")


def _gateway_error(err: PayGatewayError, pay_type: WeChatPayType | None = None) -> Exception:
    if err.code == "ORDERPAID":
        return Conflict("订单已支付", code="order_paid")
    if err.code == "ORDER_CLOSED":
        return Conflict("订单已关闭，请重新下单", code="order_closed")
    if pay_type is not None and err.code == "INVALID_REQUEST" and "201" in str(err):
        # 商户订单号重复: the other way was opened meanwhile (another tab, another device).
        return _switched(pay_type)
    return ServiceUnavailable("微信支付暂时无法访问，请稍后再试", code="pay_unavailable")


def _prepay(
    client: PayClient,
    trainee_id: int,
    order: sa.Row,
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
        raise _gateway_error(err, pay_type) from err
    value = str(data.get(field) or "")
    if not value:
        raise ServiceUnavailable("微信支付暂时无法访问，请稍后再试", code="pay_unavailable")
    with transaction():
        kept = execute(
            _keep_statement(field),
            {
                "no": out_trade_no,
                "payer": trainee_id,
                "value": value,
                "type": pay_type.name,
                "now": now,
            },
        )
        if kept.rowcount != 1:
            # Cancelled (or paid) while WeChat Pay answered: say so, as paying it now would,
            # rather than hand the page a prepay for an order that is closed here.
            _payable(trainee_id, out_trade_no, now)
            raise order_not_found()
    return value


@cache
def _keep_statement(field: str) -> sa.Update:
    """Keep what the prepay answered (`prepay_id` or `code_url`) on the caller's order,
    if it is still unpaid and open."""
    orders = Order.__table__
    return (
        sa.update(orders)
        .where(
            orders.c.out_trade_no == sa.bindparam("no"),
            orders.c.payer_id == sa.bindparam("payer"),
            orders.c.status == OrderStatus.NOTPAY,
        )
        .values(
            {
                field: sa.bindparam("value"),
                "trade_type": sa.bindparam("type"),
                "updated_at": sa.bindparam("now"),
            }
        )
    )


def jsapi_params(
    client: PayClient, trainee_id: int, out_trade_no: str, now: datetime
) -> dict[str, Any]:
    """The parameters for WeixinJSBridge.invoke('getBrandWCPayRequest', ...)."""
    order = _payable(trainee_id, out_trade_no, now)
    if order.openid is None:
        raise Conflict(NOT_BOUND, code="wechat_not_bound")
    if order.code_url and not order.prepay_id:
        raise _switched(WeChatPayType.JSAPI)
    prepay_id = order.prepay_id or _prepay(
        client, trainee_id, order, WeChatPayType.JSAPI, {"openid": order.openid}, "prepay_id", now
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
    if order.prepay_id and not order.code_url:
        raise _switched(WeChatPayType.NATIVE)
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
    try:
        settle_order(client, order.id, now, close=True)
    except PayGatewayError as err:
        # Nothing changed here: the order stays open, and 取消 can be pressed again.
        raise _gateway_error(err) from None
    order = get_own_order(trainee_id, out_trade_no)
    if order.status == OrderStatus.SUCCESS:
        raise Conflict(PAID_NOT_CANCELLED, code="order_paid")
    if order.status == OrderStatus.NOTPAY:
        # WeChat Pay neither closed it nor reports it paid: a payment refunded there with no
        # notification here (recorded as an anomaly for 财务), or a state it has not named
        # before. The order is not cancelled, and the trainee is not told it is.
        raise Conflict(NOT_SETTLED, code="order_not_settled")
    return order_view(order)
