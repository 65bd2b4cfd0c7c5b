"""The unit page as a unit's HR clerk uses it: each person shows which of the year's plans
they hold and whether their roster account is still 未激活, with a count over the unit; 更正
corrects a colleague's typo'd name, the server's refusals shown under the field they name,
the list updated after, and the clerk told that a printed certificate needs 刷新证书."""

from __future__ import annotations

from types import SimpleNamespace

from tests.e2e.conftest import copy_to_docs, login, seed, wait_for
from tests.e2e.test_unit_help_pages import fits_and_chinese
from tests.factories import (
    make_binding,
    make_enrollment,
    make_plan,
    make_trainee,
    make_unit,
    make_unit_admin,
)

MARKUP = "<img src=x onerror=alert(1)>"


def build() -> SimpleNamespace:
    unit = make_unit(name="垫江县人民医院")
    public = make_plan(kind="public", required_hours=30)
    specialist = make_plan(kind="specialist", required_hours=60)
    typo = make_trainee(name="张叁", unit=unit)  # typed 叁 for 三 in the roster
    make_enrollment(typo, public, hours="10")
    make_binding(typo)
    both = make_trainee(name="李四", unit=unit)
    make_enrollment(both, public, hours="30")
    make_enrollment(both, specialist, hours="60")
    make_binding(both)
    make_trainee(name="王五", unit=unit, password=None)  # bulk-registered, never logged in
    make_trainee(name=MARKUP, unit=unit)
    clerk = make_trainee(name="人事专员", unit=unit)
    make_unit_admin(clerk, unit)
    return SimpleNamespace(clerk=clerk.phone, typo_id=typo.id_number)


def card(page, name: str):
    return page.locator(".staff-card", has=page.locator("h3", has_text=name))


def submit_correction(page) -> None:
    page.click("#submit-correction")
    wait_for(
        page,
        "!document.querySelector('.correction-sheet') || "
        "[...document.querySelectorAll('.correction-sheet .field-error')].some((e) => !e.hidden)",
    )


def test_the_list_shows_plans_bought_and_accounts_not_activated(site, phone):
    data = seed(site, build)
    login(phone, data.clerk)
    page = phone.open("/h5/unit?year=2025")
    wait_for(page, "document.querySelectorAll('.staff-card').length === 5")

    assert "已购买公需/专业" in card(page, "李四").inner_text()
    assert "已购买公需" in card(page, "张叁").inner_text()
    wang = card(page, "王五")
    assert "未购买" in wang.inner_text() and wang.locator(".inactive").inner_text() == "未激活"
    assert "账号未激活（尚未首次登录），无法提醒" in wang.inner_text()
    assert page.inner_text("#unit-summary") == (
        "本年度已购买公需 2 人、专业 1 人，均未购买 3 人；账号未激活 1 人"
    )
    # A name with markup is shown as the characters typed, never as an element.
    assert card(page, "onerror").locator("h3").inner_text().startswith(MARKUP)
    assert page.evaluate("document.querySelector('#staff-grid img')") is None
    fits_and_chinese(page, 390, typed=MARKUP, where="body")
    copy_to_docs(phone.shot("unit-staff-facts", full_page=True), "unit-staff-facts.png")


def test_the_clerk_corrects_a_typo_in_a_name_from_the_list(site, phone):
    data = seed(site, build)
    login(phone, data.clerk)
    page = phone.open("/h5/unit?year=2025")
    wait_for(page, "document.querySelectorAll('.staff-card').length === 5")
    # Their own name and ID number are customer service's to correct.
    assert card(page, "人事专员").locator("button.correct").count() == 0

    card(page, "张叁").locator("button.correct").click()
    page.wait_for_selector("#submit-correction")
    assert page.input_value("#fix-name") == "张叁"
    fits_and_chinese(page, 390, typed=MARKUP, where="body")

    # Another name altogether is not a typo: the server's reason shows under 姓名.
    page.fill("#fix-name", "赵大宝")
    page.fill("#fix-reason", "与身份证不一致")
    submit_correction(page)
    assert "单位只能更正姓名中录错、漏录或多录的一个字" in page.inner_text("#err-name")
    # A reason is required, and said so under 更正理由.
    page.fill("#fix-name", "张三")
    page.fill("#fix-reason", "")
    submit_correction(page)
    assert page.is_hidden("#err-name")
    assert "请填写更正理由" in page.inner_text("#err-reason")
    # A mistyped ID number is named under 身份证号码.
    page.fill("#fix-name", "张叁")
    bad = data.typo_id[:17] + ("0" if data.typo_id[17] != "0" else "1")
    page.fill("#fix-id-number", bad)
    page.fill("#fix-reason", "录入错误")
    submit_correction(page)
    assert "身份证号码校验位错误" in page.inner_text("#err-id_number")
    copy_to_docs(phone.shot("unit-correction-refused"), "unit-correction-refused.png")

    page.fill("#fix-id-number", "")
    page.fill("#fix-name", "张三")
    page.fill("#fix-reason", "与身份证不一致")
    submit_correction(page)
    wait_for(page, "document.querySelector('#correction-result')")
    result = page.inner_text("#correction-result")
    assert "姓名由“张叁”更正为“张三”" in result and "刷新证书" in result
    wait_for(page, "document.querySelectorAll('.staff-card').length === 5")
    assert card(page, "张三").count() == 1 and card(page, "张叁").count() == 0
    fits_and_chinese(page, 390, typed=MARKUP, where="body")
    copy_to_docs(phone.shot("unit-correction-done", full_page=True), "unit-correction-done.png")

    # Once a year: a second correction is refused, and the page says why under the field.
    card(page, "张三").locator("button.correct").click()
    page.wait_for_selector("#submit-correction")
    page.fill("#fix-name", "张三丰")
    page.fill("#fix-reason", "与身份证不一致")
    submit_correction(page)
    assert "已由单位更正过" in page.inner_text("#err-name")
    page.click("#cancel-correction")
    assert page.locator(".correction-sheet").count() == 0
