"""激活账号 and 忘记密码 in the phone's browser (390x844), the code read from the SMS sandbox's
inbox (/_sandbox/sms) as the trainee reads it on the phone."""

from __future__ import annotations

import re

from models import Trainee, db
from tests.e2e.conftest import seed
from tests.factories import make_trainee, make_unit
from tests.sms import latest_code
from wxapp.accounts.idnumbers import initial_password

NEW_PASSWORD = "Better2025pass"


def _roster(site, *, phone=True):
    def build():
        t = make_trainee(name="赵六", password=None, unit=make_unit())
        if not phone:
            t.phone = None
        return {"id": t.id, "id_number": t.id_number, "phone": t.phone}

    return seed(site, build)


def _active(site):
    def build():
        t = make_trainee(name="王五", password="Passw0rd!")
        return {"id": t.id, "id_number": t.id_number, "phone": t.phone}

    return seed(site, build)


def _code_from_the_sms_page(phone, site, number: str) -> str:
    """Open /_sandbox/sms for `number` in another tab and read the code off the message."""
    inbox = phone.new_page()
    inbox.goto(f"{site.url}/_sandbox/sms?phone={number}")
    text = inbox.inner_text(f".card[data-phone='{number}'] .sms")
    assert text.startswith("【重庆继续教育】您的验证码为 ")
    code = re.search(r"验证码为 (\d{6})", text).group(1)
    assert code == latest_code(site.url, number)  # the JSON inbox says the same
    return code, inbox


def test_a_roster_account_activates_by_sms(phone, site):
    t = _roster(site)
    page = phone.open("/h5/login?next=/h5/progress")
    page.fill("#username", t["id_number"])
    page.fill("#password", initial_password(t["id_number"]))
    page.click("#submit")

    # The initial password opens 激活账号 only, showing the roster phone masked.
    page.wait_for_url("**/h5/activate?next=%2Fh5%2Fprogress")
    page.wait_for_selector("#send-code")
    masked = "*******" + t["phone"][-4:]  # the last four digits only
    assert page.inner_text("#phone-masked") == masked
    body = page.inner_text("body")
    assert "赵六" not in body and t["phone"] not in body
    assert "400-023-9229" in body  # a wrong roster phone: the unit or customer service
    phone.shot("activate-1-start")

    page.click("#send-code")
    note = page.wait_for_selector("#code-sent:not([hidden])")
    assert note.inner_text() == f"验证码已发送至尾号 {t['phone'][-4:]} 的手机，5 分钟内有效。"
    assert re.fullmatch(r"(60|59|58) 秒后重发", page.inner_text("#send-code"))
    assert page.is_disabled("#send-code")
    code, inbox = _code_from_the_sms_page(phone, site, t["phone"])
    phone.shot("activate-2-sms-inbox", page=inbox)
    inbox.close()

    # Mistakes show next to their fields.
    page.fill("#sms_code", "12345")
    page.fill("#new_password", "short1")
    page.fill("#new_password2", "short1")
    page.click("#submit")
    assert page.inner_text("#err-sms_code") == "短信验证码应为 6 位数字"
    assert "8～64" in page.inner_text("#err-new_password")
    wrong = "000000" if code != "000000" else "111111"
    page.fill("#sms_code", wrong)
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password2", NEW_PASSWORD)
    page.click("#submit")
    page.wait_for_selector("#err-sms_code:not([hidden])")
    assert "验证码错误或已过期" in page.inner_text("#err-sms_code")
    assert page.is_visible("#err-new_password") is False
    phone.shot("activate-3-field-error")

    page.fill("#sms_code", code)
    page.click("#submit")
    page.wait_for_url("**/h5/progress*")
    me = page.request.get(site.url + "/api/me").json()
    assert me["must_change_password"] is False and me["name"] == "赵六"
    phone.shot("activate-4-done")
    with site.app.app_context():
        assert db.session.get(Trainee, t["id"]).password_hash is not None


def test_a_roster_account_without_a_phone_is_sent_to_the_unit(phone, site):
    t = _roster(site, phone=False)
    page = phone.page
    res = page.request.post(
        site.url + "/api/login",
        data={"username": t["id_number"], "password": initial_password(t["id_number"])},
    )
    assert res.ok and res.json()["phone_masked"] is None
    page.goto(site.url + "/h5/plans")
    page.wait_for_url("**/h5/activate?next=*")  # every page sends it to 激活账号
    page.wait_for_selector("#no-phone")
    text = page.inner_text("body")
    assert "所在单位" in text and "400-023-9229" in text and "023-74606177" in text
    phone.shot("activate-no-phone")


def test_forgot_password_from_the_login_page(phone, site):
    t = _active(site)
    page = phone.open("/h5/login?next=/h5/orders")
    page.click("#forgot-link")
    page.wait_for_url("**/h5/forgot?next=%2Fh5%2Forders")
    page.wait_for_selector("#username")
    phone.shot("forgot-1-start")

    page.click("#send-code")  # no username yet: said next to the field
    assert page.inner_text("#err-username") == "请输入手机号或身份证号码"
    page.fill("#username", t["id_number"])
    page.click("#send-code")
    note = page.wait_for_selector("#code-sent:not([hidden])")
    assert f"验证码已发送至尾号 {t['phone'][-4:]} 的手机" in note.inner_text()
    assert "秒后重发" in page.inner_text("#send-code")
    code, inbox = _code_from_the_sms_page(phone, site, t["phone"])
    assert "找回" in inbox.inner_text(".sms")
    inbox.close()

    page.fill("#sms_code", code)
    page.fill("#new_password", "a1" + t["id_number"][-6:])  # the server's rule
    page.fill("#new_password2", "a1" + t["id_number"][-6:])
    page.click("#submit")
    page.wait_for_selector("#err-new_password:not([hidden])")
    assert "身份证号码后六位" in page.inner_text("#err-new_password")
    phone.shot("forgot-2-field-error")
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password2", NEW_PASSWORD)
    page.click("#submit")

    page.wait_for_url("**/h5/login?next=%2Fh5%2Forders")
    page.wait_for_selector("#username")
    page.fill("#username", t["phone"])
    page.fill("#password", NEW_PASSWORD)
    page.click("#submit")
    page.wait_for_url("**/h5/orders*")
    phone.shot("forgot-3-logged-in")


def test_forgot_password_lifts_a_lockout_and_logs_out_other_phones(phone, new_phone, site):
    t = _active(site)
    other = new_phone()
    assert other.page.request.post(
        site.url + "/api/login", data={"username": t["phone"], "password": "Passw0rd!"}
    ).ok
    for _ in range(5):
        phone.page.request.post(
            site.url + "/api/login", data={"username": t["phone"], "password": "Wrong123x"}
        )
    page = phone.open(f"/h5/forgot?username={t['phone']}")
    assert page.input_value("#username") == t["phone"]
    page.click("#send-code")
    page.wait_for_selector("#code-sent:not([hidden])")
    page.fill("#sms_code", latest_code(site.url, t["phone"]))
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password2", NEW_PASSWORD)
    page.click("#submit")
    page.wait_for_url("**/h5/login*")
    ended = other.page.request.get(site.url + "/api/me")
    assert ended.status == 401 and ended.json()["error"] == "session_ended"
    page.wait_for_selector("#username")
    page.fill("#username", t["id_number"])
    page.fill("#password", NEW_PASSWORD)
    page.click("#submit")
    page.wait_for_url("**/h5/plans*")
