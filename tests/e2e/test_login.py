"""登录, and the step to 激活账号 after the initial password, as a trainee meets them in the
phone's browser."""

from __future__ import annotations

from tests.e2e.conftest import copy_to_docs, seed
from tests.factories import make_trainee
from wxapp.accounts.idnumbers import initial_password


def _trainee(site, password):
    def build():
        t = make_trainee(name="王五", password=password)
        return {"id_number": t.id_number, "phone": t.phone}

    return seed(site, build)


def test_wrong_password_is_explained_in_chinese_then_login_goes_on(phone, site):
    t = _trainee(site, "Passw0rd!")
    page = phone.open("/h5/login?next=/h5/progress")
    page.fill("#username", t["phone"])
    page.fill("#password", "wrong-password1")
    page.click("#submit")
    tip = page.wait_for_selector(".weui-toptips")
    assert "用户名或密码错误" in tip.inner_text()
    assert "{" not in tip.inner_text()
    phone.shot("login-error")

    page.fill("#password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_url("**/h5/progress*")


def test_lower_case_x_is_caught_before_sending(phone, site):
    page = phone.open("/h5/login")
    page.fill("#username", "50023119850307001x")
    page.fill("#password", "whatever")
    page.click("#submit")
    assert "X 请大写" in page.wait_for_selector(".weui-toptips").inner_text()


def test_first_login_with_the_initial_password_goes_to_activation(phone, site):
    """The initial password is public: it opens 激活账号 only (tests/e2e/
    test_account_recovery_pages.py follows the activation through)."""
    t = _trainee(site, None)
    page = phone.open("/h5/login")
    shot = phone.shot("login")
    copy_to_docs(shot, "login.png")
    assert page.is_visible("#forgot-link")
    page.fill("#username", t["id_number"])
    page.fill("#password", initial_password(t["id_number"]))
    page.click("#submit")

    page.wait_for_url("**/h5/activate?next=*")
    page.wait_for_selector("#send-code")
    assert "单位统一注册的账号首次登录，或客服为您设置临时密码后，须验证账号登记的手机号" in (
        page.inner_text("body")
    )
    assert "王五" not in page.inner_text("body")
    phone.shot("activation-required")


def test_pages_send_a_stranger_to_login_and_back(phone, site):
    t = _trainee(site, "Passw0rd!")
    page = phone.page
    page.goto(site.url + "/h5/plans?kind=public")
    page.wait_for_url("**/h5/login?next=*")
    page.fill("#username", t["phone"])
    page.fill("#password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_url("**/h5/plans?kind=public*")


def test_an_initial_password_session_is_sent_to_activation_from_any_page(phone, site):
    t = _trainee(site, None)
    page = phone.page
    response = page.request.post(
        site.url + "/api/login",
        data={"username": t["id_number"], "password": initial_password(t["id_number"])},
    )
    assert response.ok
    page.goto(site.url + "/h5/plans")
    page.wait_for_url("**/h5/activate?next=%2Fh5%2Fplans")
    page.wait_for_selector("#send-code")


def test_inside_wechat_a_stranger_goes_through_wechat_authorization(new_phone, site):
    wechat = new_phone(
        user_agent="Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI"
    )
    page = wechat.page
    with page.expect_request("**/auth/wechat?next=*") as auth:
        page.goto(site.url + "/h5/plans?kind=specialist")
    assert auth.value.url.endswith("/auth/wechat?next=%2Fh5%2Fplans%3Fkind%3Dspecialist")
