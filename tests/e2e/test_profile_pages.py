"""个人信息 on a 390x844 phone: a unit change followed by 刷新证书 (the certificate's public
verification page then lists both versions and the move); a phone change with the SMS code
read from the sandbox's inbox; the page saying that name and ID number go through the
unit or customer service; and the account itself (its tab, 修改密码, 解除微信绑定, 退出登录)."""

from __future__ import annotations

from models import Trainee, WechatBinding, db
from tests.e2e.conftest import confirm, login, require_routes, seed
from tests.e2e.realdata import complete, learner_world
from tests.factories import make_binding, make_unit, make_unit_admin
from tests.sms import latest_code

ROUTES = (
    ("PATCH", "/api/me/profile"),
    ("GET", "/api/me/profile/changes"),
    ("POST", "/api/me/phone/code"),
    ("POST", "/api/me/phone"),
    ("GET", "/_sandbox/sms"),
)
OLD_UNIT = "垫江县人民医院"  # the factory's default unit
NEW_UNIT = "垫江县第二人民医院"


def test_a_unit_change_then_refresh_puts_the_new_unit_on_the_certificate(phone, site):
    require_routes(site, *ROUTES)
    data = learner_world(site)
    complete(site, data)
    seed(site, lambda: make_unit(name=NEW_UNIT, district="垫江县").id)
    login(phone, data["phone"])
    page = phone.page
    issued = page.request.post(f"{site.url}/api/plans/{data['plan']}/certificate")
    assert issued.status == 201, issued.text()
    cert = issued.json()

    # 我的证书 leads to 个人信息.
    phone.open("/h5/certificates")
    page.click("#profile-link")
    page.wait_for_url("**/h5/profile")
    page.wait_for_selector("#app[data-ready]")
    assert page.inner_text("#info-name") == "孙八"
    assert "********" in page.inner_text("#info-id")
    shown_phone = page.inner_text("#info-phone")
    assert shown_phone == data["phone"][:3] + "****" + data["phone"][-4:]
    assert OLD_UNIT in page.inner_text("#info-unit")
    notice = page.inner_text("#identity-notice")
    assert "姓名、身份证号码不能自行修改" in notice and "400-023-9229" in notice
    assert "单位" in notice and "023-74606177" in notice
    phone.shot("profile")

    page.fill("#unit-q", "第二")
    page.click(f".unit-option:has-text('{NEW_UNIT}')")
    page.click("#save-unit")
    saved = page.wait_for_selector("#saved-notice")
    assert "刷新证书" in saved.inner_text()
    assert NEW_UNIT in page.inner_text("#info-unit")
    history = page.inner_text("#changes")
    assert f"单位：{OLD_UNIT} → {NEW_UNIT}" in history
    page.wait_for_selector(".weui-toast", state="detached")
    phone.shot("profile-unit-changed")

    # 刷新证书 on 我的证书: version 2 says the new unit, same serial.
    saved.query_selector("a").click()
    page.wait_for_url("**/h5/certificates")
    page.wait_for_selector(".cert-card")
    page.locator(".cert-card button", has_text="刷新证书").click()
    page.wait_for_selector(".weui-toast:has-text('证书已刷新')")
    now = page.request.get(f"{site.url}/api/certificates/{cert['id']}").json()
    assert (now["version"], now["serial"], now["content"]["unit"]) == (2, cert["serial"], NEW_UNIT)
    page.wait_for_selector(".weui-toast", state="detached")
    phone.shot("certificates-refreshed")

    # The QR code's page: 有效, the current version, and the history with the move.
    verify = phone.new_page()
    verify.goto(cert["verify_url"])
    body = verify.inner_text("body")
    assert "有效" in body and "第 2 版" in body and NEW_UNIT in body
    versions = verify.inner_text("#versions")
    assert f"工作单位：{OLD_UNIT} → {NEW_UNIT}" in versions and "首次颁发" in versions
    phone.shot("verify-history", page=verify, full_page=True)


def test_the_phone_changes_with_the_code_sent_to_the_new_phone(phone, site):
    require_routes(site, *ROUTES)
    data = learner_world(site)
    login(phone, data["phone"])
    page = phone.open("/h5/profile")
    new = "13800138001"
    page.fill("#new-phone", new)
    page.click("#send-code")
    note = page.wait_for_selector("#code-sent:not([hidden])")
    assert "验证码已发送至尾号 8001 的手机" in note.inner_text()
    assert page.inner_text("#send-code").startswith("重新获取(")
    assert page.is_disabled("#send-code")
    page.locator("#save-phone").scroll_into_view_if_needed()
    phone.shot("profile-phone-code")

    page.fill("#sms-code", latest_code(site.url, new))
    page.click("#save-phone")
    page.wait_for_selector("#err-phone:has-text('请输入当前登录密码')")
    page.fill("#phone-password", "Wrong0001x")
    page.click("#save-phone")
    error = page.wait_for_selector("#err-phone:has-text('登录密码错误')")
    assert "还可尝试 4 次" in error.inner_text()

    page.fill("#phone-password", "Passw0rd!")
    page.fill("#sms-code", "000000" if latest_code(site.url, new) != "000000" else "111111")
    page.click("#save-phone")
    error = page.wait_for_selector("#err-phone:has-text('验证码错误')")

    page.fill("#sms-code", latest_code(site.url, new))
    page.click("#save-phone")
    page.wait_for_selector("#info-phone:has-text('138****8001')")
    changes = page.inner_text("#changes")
    assert "手机号：" in changes and "138****8001" in changes
    assert latest_code(site.url, data["phone"]) is None  # nothing went to the old phone
    page.wait_for_selector(".weui-toast", state="detached")
    phone.shot("profile-phone-changed", full_page=True)


def test_an_unlisted_unit_is_cleared_once_the_district_is_chosen(phone, site):
    require_routes(site, *ROUTES)
    data = learner_world(site)
    login(phone, data["phone"])
    page = phone.open("/h5/profile")
    page.click("#clear-unit")
    assert "请先在下方选择并保存档案所在区县" in page.inner_text("#err-unit")
    page.select_option("#archive-district", "垫江县")
    page.click("#save-district")
    page.wait_for_selector("#saved-notice")
    assert page.inner_text("#info-district") == "垫江县"
    page.click("#clear-unit")
    page.click(".weui-dialog__btn_primary")
    page.wait_for_selector("#info-unit:has-text('未填写')")
    history = page.inner_text("#changes")
    assert f"单位：{OLD_UNIT} → 未填写" in history and "档案所在区县：未填写 → 垫江县" in history


def test_the_account_is_managed_from_the_profile_tab(phone, site):
    """个人信息 is a tab of its own, with 修改密码 (and back), 解除微信绑定 while bound, and
    退出登录, each confirmed and showing what the server answered."""
    data = learner_world(site)
    seed(site, lambda: make_binding(db.session.get(Trainee, data["trainee"])).openid)
    login(phone, data["phone"])
    page = phone.open("/h5/progress")
    page.click(".app-tabbar >> text=个人信息")
    page.wait_for_url("**/h5/profile")
    page.wait_for_selector("#app[data-ready]")
    assert page.inner_text(".app-tabbar .weui-bar__item_on") == "个人信息"

    # 修改密码, and 返回 to 个人信息 without changing it.
    page.click("#change-password")
    page.wait_for_url("**/h5/login?change=1*")
    page.wait_for_selector("#new_password")
    page.click("#back-link")
    page.wait_for_url("**/h5/profile")
    page.wait_for_selector("#app[data-ready]")

    # 解除微信绑定: asked first, then the page says it is done and stops offering it.
    page.click("#unbind-wechat")
    page.click(".js_dialog .weui-dialog__btn_default")  # 取消: nothing happens
    assert page.locator("#unbind-wechat").count() == 1
    page.click("#unbind-wechat")
    confirm(page, "解除微信绑定")
    notice = page.wait_for_selector("#account-notice")
    assert "已解除微信绑定" in notice.inner_text()
    assert page.locator("#unbind-wechat").count() == 0
    with site.app.app_context():
        assert db.session.execute(db.select(WechatBinding)).first() is None
    phone.shot("profile-account")

    # 退出登录 refused by the server (Redis down): its message, still logged in.
    page.route(
        "**/api/logout",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": "unavailable", "message": "服务暂时不可用，请稍后再试"}',
        ),
    )
    page.click("#logout")
    confirm(page, "确定退出登录")
    assert (
        "服务暂时不可用，请稍后再试"
        in page.wait_for_selector(".js_dialog .weui-dialog").inner_text()
    )
    page.click(".js_dialog .weui-dialog__btn")
    page.unroute("**/api/logout")

    page.click("#logout")
    confirm(page, "确定退出登录")
    page.wait_for_url("**/h5/login")
    assert page.request.get(f"{site.url}/api/me").status == 401


def test_a_password_change_goes_back_to_the_profile(phone, site):
    data = learner_world(site)
    login(phone, data["phone"])
    page = phone.open("/h5/profile")
    page.wait_for_selector("#account-actions")
    # Never bound to WeChat (/api/me says so): nothing to unbind is offered.
    assert page.locator("#unbind-wechat").count() == 0
    page.click("#change-password")
    page.wait_for_selector("#new_password")
    page.fill("#old_password", "Wrong0001x")
    page.fill("#new_password", "Newpass2026")
    page.fill("#new_password2", "Newpass2026")
    page.click("#submit")
    assert "密码错误" in page.wait_for_selector(".weui-toptips").inner_text()
    page.fill("#old_password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_url("**/h5/profile")
    page.wait_for_selector("#info-name")


def test_a_units_administrator_finds_the_unit_page_from_the_profile(phone, site):
    """单位学时统计 (/h5/unit) is linked from 个人信息 for a unit's administrator only."""
    data = learner_world(site)
    seed(
        site,
        lambda: (
            make_unit_admin(
                db.session.get(Trainee, data["trainee"]), make_unit(name="垫江县中医院")
            ).unit_id
        ),
    )
    login(phone, data["phone"])
    page = phone.open("/h5/profile")
    link = page.wait_for_selector("#unit-page")
    assert "单位学时统计" in link.inner_text() and "垫江县中医院" in link.inner_text()
    link.click()
    page.wait_for_url("**/h5/unit")
    page.wait_for_selector("#app[data-ready]")
    assert "垫江县中医院" in page.inner_text("#app")

    other = learner_world(site, unit=False)
    login(phone, other["phone"])
    page = phone.open("/h5/profile")
    page.wait_for_selector("#account-actions")
    assert page.locator("#unit-page").count() == 0
