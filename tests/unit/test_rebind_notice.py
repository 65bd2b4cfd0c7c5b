"""The 改绑 notice: the name as the old WeChat user sees it, and the message rendered from
the event the re-bind writes (wxapp.accounts.wechat_login builds it the same way)."""

from __future__ import annotations

import pytest

from wxapp import events
from wxapp.infra.texts import mask_name
from wxapp.notifications import templates


@pytest.mark.parametrize(
    ("name", "masked"),
    [("王五", "王*"), ("张三丰", "张*丰"), ("欧阳娜娜", "欧**娜"), ("李", "李")],
)
def test_the_name_is_masked(name, masked):
    assert mask_name(name) == masked


def test_the_notice_goes_to_the_old_openid_in_shanghai_time():
    event = events.WechatRebound(
        old_openid="o_old_wechat_user_000000001",
        rebound_at="2025-06-16T02:05:00+00:00",
        name_masked=mask_name("王五"),
    )
    template = templates.Template(
        "tpl_rebind", {"account": "thing1", "time": "time2", "note": "thing3"}
    )
    body = templates.render(
        event=event,
        openid=event.old_openid,
        template=template,
        public_base="https://edu.example.cn",
        client_msg_id="outbox-7",
    )
    assert body["touser"] == "o_old_wechat_user_000000001"
    assert body["data"] == {
        "thing1": {"value": "王*的学习账号已改绑其他微信"},
        "time2": {"value": "2025-06-16 10:05"},
        "thing3": {"value": "如非本人操作请致电4000239229"},
    }
    assert all(len(v["value"]) <= 20 for k, v in body["data"].items() if k.startswith("thing"))
