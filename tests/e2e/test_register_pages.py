"""自主注册 as a trainee meets it on a 390x844 phone: inside the WeChat sandbox, from the
official account's menu through 网页授权 to a new account bound to that WeChat user, with
the SMS code read from the sandbox's inbox (/_sandbox/sms); and the mistakes the page shows
next to their fields (a lower-case x, a missing unit, a wrong code, an ID number already
registered, which points to 忘记密码)."""

from __future__ import annotations

from models import WechatBinding, db
from tests.e2e.conftest import Phone, require_routes, seed
from tests.factories import make_id_number, make_phone, make_trainee, make_unit
from tests.sms import latest_code

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI"
)
ROUTES = (
    ("GET", "/_sandbox/phone"),
    ("GET", "/auth/wechat"),
    ("GET", "/_sandbox/sms"),
    ("GET", "/api/register/units"),
    ("POST", "/api/register/code"),
    ("POST", "/api/register"),
)
PASSWORD = "Qingshan2025"
UNIT = "垫江县第一人民医院"


def _unit(site) -> int:
    return seed(site, lambda: make_unit(name=UNIT, district="垫江县").id)


def _fill_person(page, id_number: str, phone: str, name: str = "李青山") -> None:
    page.fill("#name", name)
    page.fill("#id_number", id_number)
    page.fill("#phone", phone)


def _send_code(page, phone: str) -> None:
    page.click("#send-code")
    note = page.wait_for_selector("#code-sent:not([hidden])")
    assert f"验证码已发送至尾号 {phone[-4:]} 的手机" in note.inner_text()


def _choose_unit(page) -> None:
    page.fill("#unit-q", "垫江")
    page.click(f".unit-option:has-text('{UNIT}')")


def _password(page) -> None:
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)


def _field_error(page, field: str) -> str:
    return page.wait_for_selector(f"#err-{field}:not([hidden])").inner_text()


def test_register_inside_wechat_with_the_code_from_the_sandbox_inbox(new_phone, site):
    require_routes(site, *ROUTES)
    _unit(site)
    id_number, phone = make_id_number(), make_phone()
    wechat: Phone = new_phone(user_agent=WECHAT_UA)
    page = wechat.page

    # 继续教育 → 我的进度 in the sandbox phone: this WeChat user has no account yet.
    page.goto(site.url + "/_sandbox/phone")
    openid = page.eval_on_selector("#openid", "s => s.value")
    page.click("button[data-kind=click]:has-text('我的进度')")
    page.click("#chat a:has-text('点此登录并绑定')")
    page.wait_for_selector("button[name=agree]")
    page.click("button[name=agree]")
    page.wait_for_url("**/h5/bind?next=*")
    page.wait_for_selector("#app[data-ready]")

    # Not registered at all: the bind page's 自主注册 link opens the register page in the
    # same WeChat browser (网页授权 left the openid pending in this browser's session).
    page.click("#register-link")
    page.wait_for_url("**/h5/register?next=*")
    page.wait_for_selector("#app[data-ready]")
    assert "自主注册" in page.inner_text(".weui-form__title")
    assert "8～64 位" in page.inner_text("#password-rule")
    assert "已有账号？去登录" in page.inner_text("#login-link")
    wechat.shot("register-1-form")

    _fill_person(page, id_number, phone)
    gender = "男" if int(id_number[16]) % 2 else "女"
    assert f"性别：{gender}" in page.inner_text("#gender-note")
    _send_code(page, phone)
    assert page.is_disabled("#send-code") and "后重新获取" in page.inner_text("#send-code")
    wechat.shot("register-2-code-sent")

    # The code, as the trainee reads it on the phone: the sandbox's SMS inbox.
    inbox = wechat.new_page()
    inbox.goto(f"{site.url}/_sandbox/sms?phone={phone}")
    message = inbox.wait_for_selector(".sms")
    assert "注册" in message.inner_text()
    code = message.get_attribute("data-code")
    assert code and code == latest_code(site.url, phone)
    wechat.shot("register-3-sms-inbox", page=inbox)
    inbox.close()

    page.fill("#sms_code", code)
    _choose_unit(page)
    _password(page)
    wechat.shot("register-4-filled", full_page=True)
    page.click("#submit")
    page.wait_for_url("**/h5/progress*")
    page.wait_for_selector("#app[data-ready]")
    wechat.shot("register-5-progress")

    me = page.request.get(site.url + "/api/me").json()
    assert me["name"] == "李青山" and me["gender"] == gender
    assert me["unit"]["name"] == UNIT and me["must_change_password"] is False
    with site.app.app_context():
        bound = db.session.execute(
            db.select(WechatBinding.trainee_id).where(WechatBinding.openid == openid)
        ).scalar_one_or_none()
    assert bound == me["id"]

    # Bound: the menu now logs this WeChat user straight in, in a fresh browser.
    again = new_phone(user_agent=WECHAT_UA)
    again.page.goto(site.url + "/_sandbox/phone")
    again.page.select_option("#openid", openid)
    again.page.click("button[data-kind=click]:has-text('我的进度')")
    again.page.click("#chat a")
    again.page.wait_for_selector("button[name=agree]")
    again.page.click("button[name=agree]")
    again.page.wait_for_url("**/h5/progress*")
    assert again.page.request.get(site.url + "/api/me").json()["id"] == me["id"]


def test_mistakes_show_next_to_their_fields(phone, site):
    require_routes(site, *ROUTES)
    _unit(site)
    id_number, number = make_id_number(), make_phone()
    page = phone.open("/h5/login")
    assert page.inner_text("#register-link") == "自主注册"
    phone.shot("register-0-login-link")
    page.click("#register-link")
    page.wait_for_url("**/h5/register*")
    page.wait_for_selector("#app[data-ready]")

    # A lower-case x, caught before sending, with the roster's wording.
    _fill_person(page, id_number[:17] + "x", number)
    page.click("#submit")
    assert _field_error(page, "id_number") == "身份证号码中的字母 X 请使用大写"
    assert "weui-cell_warn" in page.get_attribute("#cell-id_number", "class")

    # No unit and no district.
    page.fill("#id_number", id_number)
    page.fill("#sms_code", "123456")
    _password(page)
    page.click("#submit")
    assert "档案所在区县" in _field_error(page, "unit_id")
    assert page.is_hidden("#err-id_number")

    # A wrong code: the server's answer lands under 验证码.
    _choose_unit(page)
    page.click("#submit")
    assert "验证码错误" in _field_error(page, "sms_code")
    phone.shot("register-error-code", full_page=True)


def test_a_registered_id_number_points_to_forgot_password(phone, site):
    require_routes(site, *ROUTES)
    _unit(site)

    def build():
        t = make_trainee(name="王秀英")
        return {"id_number": t.id_number, "phone": t.phone}

    existing = seed(site, build)
    number = make_phone()
    page = phone.open("/h5/register")
    _fill_person(page, existing["id_number"], number)
    _send_code(page, number)
    page.fill("#sms_code", latest_code(site.url, number))
    _choose_unit(page)
    _password(page)
    page.click("#submit")
    assert "身份证号码已注册" in _field_error(page, "id_number")
    notice = page.wait_for_selector("#taken")
    text = page.inner_text("body")
    assert "王秀英" not in text and existing["phone"][-4:] not in text
    assert page.get_attribute("#forgot-link", "href").startswith("/h5/forgot")
    notice.scroll_into_view_if_needed()
    phone.shot("register-taken")
    page.click("#forgot-link")
    page.wait_for_url("**/h5/forgot*")


def test_the_pages_rules_agree_with_the_servers(phone, site):
    """register-rules.js gives the server's messages for the same mistakes."""
    page = phone.open("/h5/register")
    good = make_id_number()
    wrong = good[:17] + ("1" if good[17] != "1" else "2")
    result = page.evaluate(
        """async ([good, wrong]) => {
          const m = await import('/static/js/pages/register-rules.js');
          return {
            lower: m.idNumberProblem(good.slice(0, 17) + 'x'),
            checksum: m.idNumberProblem(wrong),
            ok: m.idNumberProblem(good),
            space: m.nameProblem('李 青山'),
            symbol: m.nameProblem('李青山2'),
            dot: m.nameProblem('买买提·艾力'),
            rare: m.nameProblem('𠀀山'),
            short: m.passwordProblem('abc123', good),
            last6: m.passwordProblem('ab' + good.slice(-6) + 'cd', good),
            fine: m.passwordProblem('Qingshan2025', good),
            phone: m.phoneProblem('1390000000'),
          };
        }""",
        [good, wrong],
    )
    assert result == {
        "lower": "身份证号码中的字母 X 请使用大写",
        "checksum": "身份证号码校验位错误",
        "ok": "",
        "space": "姓名中间不能有空格",
        "symbol": "姓名不能含符号或数字",
        "dot": "",
        "rare": "",
        "short": "密码长度应为 8～64 位",
        "last6": "密码不能包含身份证号码后六位",
        "fine": "",
        "phone": "手机号码应为 11 位中国大陆手机号",
    }
