"""One order, two ways to pay: WeChat Pay keeps an out_trade_no to the trade type its first
prepay chose, and refuses another (201 商户订单号重复). A trainee who tapped 微信支付 on the
phone and then opens the order on a PC (or the reverse) is told what to do, and the way
already opened still pays. Over real HTTP through the WeChat Pay sandbox."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa
from wechatpayv3 import WeChatPayType

from models import Order, db
from tests.factories import make_binding, make_plan, make_trainee
from tests.integration.test_refunds import cashier_pay, login, order_status, wait_for
from wxapp.pay.client import PayGatewayError


@pytest.fixture
def buyer(live_server):
    app = live_server.app
    with app.app_context():
        trainee = make_trainee(name="王五")
        make_binding(trainee)
        plan = make_plan()
        db.session.commit()
        id_number, plan_id = trainee.id_number, plan.id
        db.session.remove()
    http = requests.Session()
    login(live_server.url, http, id_number)
    order = http.post(f"{live_server.url}/api/orders", json={"plan_id": plan_id})
    assert order.status_code == 201, order.text
    yield http, order.json()["out_trade_no"]
    http.close()


def pay(live_server, http, no: str, method: str) -> requests.Response:
    return http.post(f"{live_server.url}/api/orders/{no}/pay", json={"method": method})


def refused(live_server, http, no: str, method: str) -> str:
    """Paying `method` is refused as a switch of method: the message the page shows."""
    switched = pay(live_server, http, no, method)
    assert switched.status_code == 409, switched.text
    assert switched.json()["error"] == "pay_method_switched"
    return switched.json()["message"]


def test_a_qr_code_after_paying_in_wechat_was_started_says_what_to_do(live_server, buyer):
    http, no = buyer
    params = pay(live_server, http, no, "jsapi").json()["params"]
    assert refused(live_server, http, no, "native") == (
        "该订单已在微信内发起支付，请在微信中打开本订单继续支付；如需扫码支付，请先取消订单再重新下单"
    )
    assert http.get(f"{live_server.url}/api/orders/{no}/qrcode.png").status_code == 409
    # The way already opened still pays, and the order was not touched.
    assert cashier_pay(live_server.url, http, params) == no
    assert wait_for(lambda: order_status(live_server.app, no) == "SUCCESS")


def test_paying_in_wechat_after_the_qr_code_was_shown_says_what_to_do(live_server, buyer):
    http, no = buyer
    code_url = pay(live_server, http, no, "native").json()["code_url"]
    assert refused(live_server, http, no, "jsapi") == (
        "该订单已生成扫码支付二维码，请用微信扫描电脑上的二维码支付；如需在微信内支付，请先取消订单再重新下单"
    )
    scanned = http.get(f"{live_server.url}/_sandbox/pay/scan", params={"code_url": code_url})
    assert scanned.status_code == 200
    done = http.post(
        f"{live_server.url}/_sandbox/pay/cashier", data={"out_trade_no": no, "action": "pay"}
    )
    assert "支付成功" in done.text
    assert wait_for(lambda: order_status(live_server.app, no) == "SUCCESS")


def test_wechat_pay_refuses_a_second_trade_type_for_one_out_trade_no(live_server, buyer):
    """What the sandbox answers, as WeChat Pay does: the reason for the refusal above."""
    http, no = buyer
    assert pay(live_server, http, no, "jsapi").status_code == 200
    client = live_server.app.extensions["wechatpay"]
    with pytest.raises(PayGatewayError) as refused:
        client.call(
            "pay",
            description="继续教育",
            out_trade_no=no,
            amount={"total": 9000, "currency": "CNY"},
            pay_type=WeChatPayType.NATIVE,
        )
    assert (refused.value.code, str(refused.value)) == ("INVALID_REQUEST", "201 商户订单号重复")


def test_the_other_way_opened_meanwhile_is_refused_the_same(live_server, buyer):
    """Two tabs at once: the QR code's prepay reaches WeChat Pay while this one has not yet
    kept its own. WeChat Pay's 201 商户订单号重复 is told as the same switch, not as
    微信支付暂时无法访问."""
    http, no = buyer
    live_server.app.extensions["wechatpay"].call(
        "pay",
        description=pay_description(live_server, no),
        out_trade_no=no,
        amount={"total": 9000, "currency": "CNY"},
        pay_type=WeChatPayType.NATIVE,
    )
    assert refused(live_server, http, no, "jsapi").startswith("该订单已生成扫码支付二维码")


def pay_description(live_server, no: str) -> str:
    with live_server.app.app_context():
        try:
            return db.session.execute(
                sa.select(Order.description).where(Order.out_trade_no == no)
            ).scalar_one()
        finally:
            db.session.remove()
