"""What the 管理员 meets in the console's own forms: a sold plan's 年度, 类别 and 要求学时 stay
as bought, a unit administrator needs a chosen unit, a unit needs a name, and the console
answers in Chinese throughout (Flask-Admin's own messages and the plan list included)."""

from __future__ import annotations

import re
from pathlib import Path

import flask_admin
import pytest
import sqlalchemy as sa
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from models import Enrollment, EnrollmentStatus, TrainingPlan, Unit, UnitAdmin, db
from tests.console_helpers import (
    console_app,
    create_operator,
    csrf_of,
    plan_form,
    sign_in,
    signed_in_admin,
)
from tests.factories import (
    enroll,
    make_order,
    make_plan,
    make_trainee,
    make_unit,
    make_unit_admin,
)
from wxapp.console import LOCALE, TRANSLATIONS
from wxapp.infra.clock import local


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _plan_form(client, plan_id: int | None = None, **changes) -> dict[str, str]:
    page = client.get(f"/admin/plans/edit/?id={plan_id}" if plan_id else "/admin/plans/new/")
    return plan_form(csrf_of(page.text), **changes)


def _flashes(html: str) -> str:
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


def _cells(html: str, column: str) -> list[str]:
    """The texts of one column of a Flask-Admin list."""
    found = re.findall(rf'<td class="col-{column}">(.*?)</td>', html, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in found]


UNPAID = "unpaid"  # an order placed, not yet paid: its price and 学时 are fixed already


def _sold_plan(app, status: str = EnrollmentStatus.PAID) -> tuple[int, str]:
    with app.app_context():
        plan = make_plan(year=2032, required_hours=60)
        trainee = make_trainee(name="已购学员")
        if status == UNPAID:
            make_order(trainee, plan, app.extensions["clock"].now())
        else:
            enroll(trainee.id, plan.id, app.extensions["clock"].now())
            db.session.execute(
                sa.update(Enrollment).where(Enrollment.plan_id == plan.id).values(status=status)
            )
        db.session.commit()
        return plan.id, plan.code


@pytest.mark.parametrize("status", [EnrollmentStatus.PAID, EnrollmentStatus.REFUNDED, UNPAID])
@pytest.mark.parametrize(
    ("field", "value", "label"),
    [("year", "2033", "年度"), ("kind", "public", "类别"), ("required_hours", "20", "要求学时")],
)
def test_a_bought_plan_keeps_its_year_kind_and_required_hours(capp, status, field, value, label):
    plan_id, code = _sold_plan(capp, status)
    client = signed_in_admin(capp)
    form = _plan_form(client, plan_id, code=code, **{field: value})
    refused = client.post(f"/admin/plans/edit/?id={plan_id}", data=form, follow_redirects=True)
    assert refused.status_code == 200
    assert f"不能修改{label}" in refused.text and "已有学员购买或正在支付" in refused.text
    assert "保存记录成功" not in refused.text
    with capp.app_context():
        plan = db.session.get(TrainingPlan, plan_id)
        assert (plan.year, plan.kind, plan.required_hours) == (2032, "specialist", 60)


def test_a_bought_plans_price_sale_window_title_and_provider_still_change(capp):
    plan_id, code = _sold_plan(capp)
    client = signed_in_admin(capp)
    form = _plan_form(
        client,
        plan_id,
        code=code,
        title="2032年专业科目（新版）",
        provider="重庆市继续教育中心",
        price_per_hour_fen="120",
        sale_start="2032-01-01 00:00:00",
        sale_end="2032-12-31 00:00:00",
    )
    saved = client.post(f"/admin/plans/edit/?id={plan_id}", data=form, follow_redirects=True)
    assert "保存记录成功" in saved.text, _flashes(saved.text)
    with capp.app_context():
        plan = db.session.get(TrainingPlan, plan_id)
        assert (plan.title, plan.provider, plan.price_per_hour_fen) == (
            "2032年专业科目（新版）",
            "重庆市继续教育中心",
            120,
        )
        assert local(plan.sale_start).year == 2032 and plan.sale_end is not None


def test_an_unsold_plan_may_still_move_to_another_year(capp):
    with capp.app_context():
        plan = make_plan(year=2032, courses=1)
        db.session.commit()
        plan_id, code = plan.id, plan.code
    client = signed_in_admin(capp)
    form = _plan_form(client, plan_id, code=code, year="2033")
    assert client.post(f"/admin/plans/edit/?id={plan_id}", data=form).status_code == 302
    with capp.app_context():
        assert db.session.get(TrainingPlan, plan_id).year == 2033


@pytest.mark.parametrize("year", ["1800", "1999", "2101", "20260"])
def test_an_absurd_year_is_refused_on_create(capp, year):
    client = signed_in_admin(capp)
    reply = client.post("/admin/plans/new/", data=_plan_form(client, year=year))
    assert reply.status_code == 200
    assert "年度须在 2000 至 2100 之间" in reply.text
    with capp.app_context():
        assert (
            db.session.execute(
                sa.select(TrainingPlan).where(TrainingPlan.code == "p-2032")
            ).scalar_one_or_none()
            is None
        )


def test_the_plan_list_shows_kinds_in_chinese_and_prices_in_yuan(capp):
    with capp.app_context():
        make_plan(year=2032, kind="public", required_hours=30, price_per_hour_fen=150)
        db.session.commit()
    client = signed_in_admin(capp)
    table = client.get("/admin/plans/").text
    assert "每学时价格（元）" in table and "价格（元）" in table
    # per 学时 and the plan's price (30 × 1.50)
    assert _cells(table, "kind") == ["公需科目"]
    assert _cells(table, "price_per_hour_fen") == ["1.50"]
    assert _cells(table, "price") == ["45.00"]
    # The form keeps 分, and says so.
    assert "每学时价格（分）" in client.get("/admin/plans/new/").text


def test_flask_admins_failure_messages_read_in_chinese(capp):
    client = signed_in_admin(capp)
    created = client.post("/admin/plans/new/", data=_plan_form(client, year="1800"))
    assert "创建记录失败" in created.text and "Failed to create record" not in created.text
    with capp.app_context():
        plan = make_plan(year=2032, courses=1)
        db.session.commit()
        plan_id, code = plan.id, plan.code
    saved = client.post(
        f"/admin/plans/edit/?id={plan_id}", data=_plan_form(client, plan_id, code=code, year="x")
    )
    assert "保存记录失败" in saved.text and "Failed to save record" not in saved.text


def test_every_message_flask_admin_flashes_has_a_chinese_text():
    """Flask-Admin's shipped zh_Hans_CN catalogue misses some of its own flashes: the
    console's catalogue fills them, and any left in English (after an upgrade, say) fails
    here."""
    root = Path(flask_admin.__file__).resolve().parent
    flashed: set[str] = set()
    for source in (root / "model" / "base.py", root / "contrib" / "sqla" / "view.py"):
        text = source.read_text(encoding="utf-8")
        flashed |= set(re.findall(r'flash\(\s*gettext\(\s*"([^"]+)"', text))
    assert {"Failed to save record.", "Failed to create record."} <= flashed
    # Merged as Flask-Admin's domain merges them: the console's first, Flask-Admin's over it.
    catalogue = Translations.load(str(TRANSLATIONS), [LOCALE], "admin")
    catalogue.merge(Translations.load(str(root / "translations"), [LOCALE], "admin"))
    assert [m for m in sorted(flashed) if catalogue.gettext(m) == m] == []


def test_the_consoles_compiled_catalogue_matches_its_source():
    """admin.mo is what runs, admin.po what people edit: an edit not compiled fails here."""
    folder = TRANSLATIONS / LOCALE / "LC_MESSAGES"
    with (folder / "admin.po").open("rb") as po, (folder / "admin.mo").open("rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    assert {m.id: m.string for m in source if m.id} == {m.id: m.string for m in compiled if m.id}


def test_a_unit_administrator_needs_a_chosen_unit(capp):
    with capp.app_context():
        make_unit(name="甲单位", district="万州区")
        trainee = make_trainee(name="候选管理员")
        db.session.commit()
        phone = trainee.phone
    client = signed_in_admin(capp)
    page = client.get("/admin/unit_admins/new/").text
    assert re.search(r'<option[^>]*value=""[^>]*>请选择单位</option>', page)
    reply = client.post(
        "/admin/unit_admins/new/",
        data={"csrf_token": csrf_of(page), "account": phone, "unit_id": ""},
    )
    assert reply.status_code == 200 and "请选择单位" in _errors(reply.text)
    with capp.app_context():
        assert db.session.execute(sa.select(sa.func.count(UnitAdmin.id))).scalar_one() == 0


def test_a_unit_administrator_is_one_of_the_units_own_staff(capp):
    """The grant names a unit the account works at; anyone else is refused with why."""
    with capp.app_context():
        hospital = make_unit(name="甲单位", district="万州区")
        school = make_unit(name="乙单位", district="万州区")
        clerk = make_trainee(name="甲单位人事", unit=hospital)
        db.session.commit()
        phone, hospital_id, school_id = clerk.phone, hospital.id, school.id
    client = signed_in_admin(capp)

    def grant(unit_id: int):
        page = client.get("/admin/unit_admins/new/").text
        return client.post(
            "/admin/unit_admins/new/",
            data={"csrf_token": csrf_of(page), "account": phone, "unit_id": str(unit_id)},
            follow_redirects=True,
        )

    refused = grant(school_id)
    assert "该学员的工作单位不是此单位，不能授予单位管理员" in _flashes(refused.text)
    with capp.app_context():
        assert db.session.execute(sa.select(sa.func.count(UnitAdmin.id))).scalar_one() == 0

    assert "创建记录成功" in _flashes(grant(hospital_id).text)
    with capp.app_context():
        grants = db.session.execute(sa.select(UnitAdmin.unit_id)).scalars().all()
        assert grants == [hospital_id]
        # A grant from before the rule, to someone working elsewhere, is flagged in the list.
        make_unit_admin(
            make_trainee(name="外单位人员", unit=db.session.get(Unit, school_id)), hospital
        )
        db.session.commit()
    cells = _cells(client.get("/admin/unit_admins/").text, "unit_id")
    assert sorted(cells) == ["甲单位", "甲单位（该学员现已不在此单位，请撤销）"]


def _errors(html: str) -> str:
    return " ".join(re.findall(r'class="invalid-feedback"[^>]*>(.*?)</', html, re.S)) + _flashes(
        html
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "请输入单位名称"), ("", "请输入单位名称"), ("院" * 201, "不能超过 200 个字")],
)
def test_a_unit_needs_a_name(capp, name, message):
    client = signed_in_admin(capp)
    page = client.get("/admin/units/new/").text
    reply = client.post(
        "/admin/units/new/",
        data={"csrf_token": csrf_of(page), "name": name, "district": "万州区"},
    )
    assert reply.status_code == 200 and message in reply.text
    with capp.app_context():
        assert db.session.execute(sa.select(sa.func.count(Unit.id))).scalar_one() == 0


def test_a_unit_name_is_saved_without_its_surrounding_spaces(capp):
    client = signed_in_admin(capp)
    page = client.get("/admin/units/new/").text
    reply = client.post(
        "/admin/units/new/",
        data={"csrf_token": csrf_of(page), "name": "  万州区人民医院 ", "district": "万州区"},
    )
    assert reply.status_code == 302
    with capp.app_context():
        assert db.session.execute(sa.select(Unit.name)).scalars().all() == ["万州区人民医院"]


def test_the_change_history_shows_beijing_time(capp):
    with capp.app_context():
        trainee = make_trainee(name="李四")
        db.session.commit()
        tid = trainee.id
    secret = create_operator(capp, "kefu", "support")
    client = capp.test_client()
    sign_in(capp, client, "kefu", secret)
    token = csrf_of(client.get(f"/admin/trainees/{tid}").text)
    client.post(
        f"/admin/trainees/{tid}/correct",
        data={"csrf_token": token, "name": "李思", "reason": "身份证上的姓名"},
    )
    now = capp.extensions["clock"].now()
    page = client.get(f"/admin/trainees/{tid}").text
    history = page.split('id="trainee-history"', 1)[1].split("</table>", 1)[0]
    assert "李思" in history
    assert local(now).strftime("%Y-%m-%d %H:%M") in history
    assert now.strftime("%Y-%m-%d %H:%M") not in history
