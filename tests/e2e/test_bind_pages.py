"""绑定 and 改绑 on a phone, through the real 网页授权 sandbox: an account already bound to
another WeChat user is re-bound only with an SMS code (read from the sandbox's SMS inbox),
and the WeChat user it was bound to finds the notice in its sandbox inbox."""

from __future__ import annotations

from models import WechatBinding, db
from tests.e2e.conftest import authorize, seed
from tests.e2e.realdata import posted
from tests.factories import make_binding, make_trainee
from tests.sms import latest_code
from wxapp.notifications.worker import Worker
from wxapp.sandbox.oa_state import DEMO_USERS

OLD_WECHAT = "o_old_wechat_user_000000001"
NEW_WECHAT = DEMO_USERS[0]["openid"]  # the consent page's first choice


def test_rebind_with_an_sms_code_and_the_old_wechat_user_is_told(phone, site):
    def build():
        t = make_trainee(name="孙八")
        make_binding(t, OLD_WECHAT)
        return {"id": t.id, "phone": t.phone}

    data = seed(site, build)
    bound = posted(phone.page, "/api/wechat/bind")
    page = authorize(phone, "%2Fh5%2Fprogress")
    page.fill("#username", data["phone"])
    page.fill("#password", "Passw0rd!")
    page.click("#submit")

    desc = page.wait_for_selector(".weui-form__desc >> text=改绑到当前微信")
    assert f"尾号 {data['phone'][-4:]}" in desc.inner_text()
    page.click("#send-code")
    page.wait_for_selector("#sms-note >> text=验证码已发送至尾号")
    assert "秒后重发" in page.inner_text("#send-code")
    code = latest_code(site.url, data["phone"])
    page.fill("#sms_code", "000000" if code != "000000" else "111111")
    page.click("#submit")
    assert "验证码错误" in page.wait_for_selector(".weui-toptips").inner_text()
    page.fill("#sms_code", code)
    phone.shot("rebind-sms")
    page.click("#submit")
    page.wait_for_url("**/h5/progress*")
    page.wait_for_selector("#app[data-ready]")
    assert [b.get("sms_code") for b in bound] == [None, bound[1]["sms_code"], code]

    with site.app.app_context():
        owner = db.session.execute(
            db.select(WechatBinding.openid).where(WechatBinding.trainee_id == data["id"])
        ).scalar_one()
    assert owner == NEW_WECHAT
    assert Worker(site.app, site.app.extensions["wechat"]).drain() == 1
    inbox = phone.new_page()
    inbox.goto(f"{site.url}/_sandbox/inbox?openid={OLD_WECHAT}")
    assert "孙*的学习账号已改绑其他微信" in inbox.inner_text("body")
    phone.shot("rebind-old-wechat-inbox", page=inbox)
