"""Help: every contact of the notice on the 帮助 reply and GET /api/help, and a text the
account does not understand handed to customer service with an acknowledgement the user
sees (a 客服消息, found in the sandbox inbox), through the real callback."""

from __future__ import annotations

import time

import requests

from tests.wechat_wire import WeChat, text_xml
from wxapp.sandbox import oa_state

CONTACTS = ("400-023-9229", "400-618-7500", "939890350", "2277254850", "023-74606177", "在线客服")


def _wechat(app, client) -> WeChat:
    cfg = app.config
    return WeChat(client, cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APP_ID"])


class OverHttp:
    """What WeChat does: POST /wechat over real HTTP (the acknowledgement is sent once the
    reply has gone out, which the test client never reaches)."""

    def __init__(self, server):
        self.application, self.url = server.app, server.url

    def post(self, path: str, data, content_type: str):
        res = requests.post(self.url + path, data=data, headers={"Content-Type": content_type})
        res.get_data = lambda as_text=True: res.text  # the test client's spelling
        return res


def test_the_help_reply_and_api_carry_every_contact(app, client):
    content = _wechat(app, client).reply(text_xml("o_help_user", "帮助", msg_id=7100001))["content"]
    for contact in CONTACTS:
        assert contact in content
    assert "按 2 售后服务" in content and "/h5/help" in content
    data = client.get("/api/help").get_json()
    flat = " ".join(f"{i['label']} {i['value']}" for g in data["groups"] for i in g["items"])
    for contact in CONTACTS:
        assert contact in flat
    assert [g["group"] for g in data["groups"]] == [
        "重庆市人力资源开发服务中心", "垫江县人力资源和社会保障局（垫江县学员）", "在线客服"]  # fmt: skip


def test_a_text_not_understood_goes_to_customer_service_with_an_acknowledgement(live_server):
    app = live_server.app
    wechat = _wechat(app, OverHttp(live_server))
    openid = "o_stranger_asks"
    reply = wechat.reply(text_xml(openid, "我的证书打印不出来怎么办", msg_id=7100002))
    assert reply["type"] == "transfer_customer_service"
    redis = app.extensions["redis"]
    deadline = time.monotonic() + 5
    while not oa_state.inbox(redis, openid) and time.monotonic() < deadline:
        time.sleep(0.05)
    (ack,) = oa_state.inbox(redis, openid)
    assert ack["kind"] == "custom" and "已转给在线客服" in ack["text"]["content"]
    # WeChat's retry of the same message is answered the same and acknowledged once.
    assert wechat.reply(text_xml(openid, "我的证书打印不出来怎么办", msg_id=7100002)) == reply
    time.sleep(0.3)
    assert len(oa_state.inbox(redis, openid)) == 1
