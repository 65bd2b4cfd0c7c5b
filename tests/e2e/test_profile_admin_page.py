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
