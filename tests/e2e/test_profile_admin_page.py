"""个人信息 asks /api/me/unit (for the 单位学时统计 link) only when /api/me says the account
administers a unit: a trainee who does not gets no 403 in the console and no wasted call."""

from __future__ import annotations

from models import Trainee, db
from tests.e2e.conftest import login, seed
from tests.e2e.realdata import learner_world
from tests.factories import make_unit, make_unit_admin


def _unit_calls(page) -> list[int]:
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: (
            statuses.append(r.status) if r.url.split("?")[0].endswith("/api/me/unit") else None
        ),
    )
    return statuses


def test_only_a_units_administrator_has_the_unit_asked_for(phone, site):
    trainee = learner_world(site, unit=False)
    login(phone, trainee["phone"])
    page = phone.page
    calls = _unit_calls(page)
    phone.open("/h5/profile")
    page.wait_for_selector("#account-actions")
    page.wait_for_timeout(300)
    assert page.locator("#unit-page").count() == 0
    assert calls == []
    # 垫江县's own office is for 垫江县's trainees: this one has no unit and no 区县.
    assert "023-74606177" not in page.inner_text("#identity-notice")

    admin = learner_world(site)
    seed(
        site,
        lambda: (
            make_unit_admin(
                db.session.get(Trainee, admin["trainee"]), make_unit(name="垫江县中医院")
            ).unit_id
        ),
    )
    login(phone, admin["phone"])
    phone.open("/h5/profile")
    assert "垫江县中医院" in page.wait_for_selector("#unit-page").inner_text()
    assert calls == [200]


def test_an_administrator_leaving_the_unit_is_told_first_and_then_loses_the_unit_page(phone, site):
    admin = learner_world(site, unit=False)
    seed(
        site,
        lambda: _admin_at(
            db.session.get(Trainee, admin["trainee"]), "垫江县中医院", "垫江县第二中学"
        ),
    )
    login(phone, admin["phone"])
    page = phone.page
    phone.open("/h5/profile")
    page.wait_for_selector("#unit-page")

    page.fill("#unit-q", "第二")
    page.click(".unit-option:has-text('垫江县第二中学')")
    page.click("#save-unit")
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert "您是“垫江县中医院”的单位管理员" in dialog.inner_text()
    page.click(".js_dialog .weui-dialog__btn_default")  # 取消: nothing changes
    page.wait_for_selector(".js_dialog .weui-dialog", state="detached")
    assert "垫江县中医院" in page.inner_text("#info-unit")

    page.click("#save-unit")
    page.wait_for_selector(".js_dialog .weui-dialog")
    page.click(".js_dialog .weui-dialog__btn_primary")  # 仍要变更
    ended = page.wait_for_selector("#admin-ended")
    assert ended.inner_text() == "您已不再是“垫江县中医院”的单位管理员。"
    assert "垫江县第二中学" in page.inner_text("#info-unit")
    assert page.locator("#unit-page").count() == 0


def _admin_at(trainee: Trainee, unit_name: str, other_name: str) -> None:
    unit = make_unit(name=unit_name)
    make_unit(name=other_name)
    trainee.unit_id = unit.id
    make_unit_admin(trainee, unit)
