"""The unit page's list says, for each person, which of the year's plans they hold (whom
团体购买 still needs) and whether their roster account is activated (whom 一键提醒 cannot
reach), in the JSON and the download, counted over the whole unit; still no phone number nor
full ID number, and the same few queries however large the unit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import BytesIO
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import Enrollment, EnrollmentStatus, Trainee, db
from tests.factories import (
    make_binding,
    make_enrollment,
    make_plan,
    make_trainee,
    make_unit,
    make_unit_admin,
    sign_in,
)

NOW = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def unit(app, client):
    app.extensions["clock"].set(NOW)
    with app.app_context():
        hospital = make_unit(name="垫江县人民医院")
        public = make_plan(kind="public", required_hours=30)
        specialist = make_plan(kind="specialist", required_hours=60)
        old = make_plan(year=2024, kind="specialist", required_hours=60)

        both = make_trainee(name="甲两类都买", unit=hospital)
        make_enrollment(both, public, hours="30")
        make_enrollment(both, specialist, hours="60")
        # Bought and not started: 未开始, yet already 已购买 (not to be bought again).
        bought_idle = make_trainee(name="乙买了公需未学", unit=hospital)
        make_enrollment(bought_idle, public, hours="0")
        last_year = make_trainee(name="丙去年买过专业", unit=hospital)
        make_enrollment(last_year, old, hours="60")
        refunded = make_trainee(name="丁专业已退款", unit=hospital)
        make_enrollment(refunded, specialist, hours="0")
        db.session.execute(
            sa.update(Enrollment)
            .where(Enrollment.trainee_id == refunded.id)
            .values(status=EnrollmentStatus.REFUNDED)
        )
        # Bulk-registered, never logged in: initial password, must change it, no binding.
        roster = make_trainee(name="戊未激活", unit=hospital, password=None)
        make_binding(both)
        # The clerk works at the unit too: their own row has no 更正 (customer service's).
        clerk = make_trainee(name="己管理员", unit=hospital)
        make_unit_admin(clerk, hospital)
        db.session.commit()
        people = {t.name: (t.id, t.phone, t.id_number) for t in db.session.scalars(
            sa.select(Trainee).where(Trainee.unit_id == hospital.id))}  # fmt: skip
        data = SimpleNamespace(id=hospital.id, clerk=clerk.id, roster=roster.id, people=people)
    sign_in(client, data.clerk)
    return data


def rows(client, unit_id: int, query: str = "year=2025") -> tuple[dict, dict]:
    reply = client.get(f"/api/units/{unit_id}/staff?{query}")
    assert reply.status_code == 200, reply.get_json()
    listing = reply.get_json()
    return listing, {row["name"]: row for row in listing["items"]}


def test_each_person_shows_the_plans_bought_this_year_and_whether_activated(client, unit):
    listing, by_name = rows(client, unit.id)
    assert {name: row["bought_label"] for name, row in by_name.items()} == {
        "甲两类都买": "已购买公需/专业",
        "乙买了公需未学": "已购买公需",
        "丙去年买过专业": "未购买",  # 2024's plan is no place in 2025's
        "丁专业已退款": "未购买",  # a refunded place is no place
        "戊未激活": "未购买",
        "己管理员": "未购买",
    }
    assert by_name["乙买了公需未学"]["bought"] == {"public": True, "specialist": False}
    assert by_name["乙买了公需未学"]["state_label"] == "未开始"
    assert {name for name, row in by_name.items() if not row["activated"]} == {"戊未激活"}
    assert by_name["戊未激活"]["account_label"] == "未激活"
    assert [name for name, row in by_name.items() if row["is_me"]] == ["己管理员"]
    assert listing["summary"] == {
        "bought_public": 2,
        "bought_specialist": 1,
        "bought_none": 4,
        "not_activated": 1,
    }

    # Another year, other plans: last year's buyer held a 专业 place in 2024.
    _, earlier = rows(client, unit.id, "year=2024")
    assert earlier["丙去年买过专业"]["bought_label"] == "已购买专业"
    assert earlier["甲两类都买"]["bought_label"] == "未购买"


def test_the_summary_counts_the_whole_unit_whatever_the_filter(client, unit):
    listing, by_name = rows(client, unit.id, "year=2025&state=met")
    assert list(by_name) == ["甲两类都买"]
    assert listing["summary"]["bought_none"] == 4 and listing["summary"]["not_activated"] == 1


def test_the_list_tells_no_phone_and_no_full_id_number(client, unit):
    """Anyone can choose the unit in 个人信息: the clerk learns no more than the list shows."""
    reply = client.get(f"/api/units/{unit.id}/staff?year=2025")
    text = json.dumps(reply.get_json(), ensure_ascii=False)
    assert "summary" in reply.get_json()
    for _, phone, id_number in unit.people.values():
        assert phone not in text and id_number not in text
    download = client.get(f"/api/units/{unit.id}/staff.xlsx?year=2025")
    values = {
        str(v) for r in load_workbook(BytesIO(download.data)).active.iter_rows(values_only=True)
        for v in r if v is not None
    }  # fmt: skip
    assert "未激活" in values
    for _, phone, id_number in unit.people.values():
        assert not any(phone in v or id_number in v for v in values)


def test_the_download_carries_the_plans_bought_and_the_activation(client, unit):
    reply = client.get(f"/api/units/{unit.id}/staff.xlsx?year=2025")
    assert reply.status_code == 200
    table = list(load_workbook(BytesIO(reply.data)).active.iter_rows(values_only=True))
    at = next(i for i, r in enumerate(table) if r[0] == "姓名")
    header = table[at]
    assert header[-2:] == ("本年度购买", "账号")
    listed = {r[0]: r[-2:] for r in table[at + 1 :]}
    assert listed["甲两类都买"] == ("已购买公需/专业", "已激活")
    assert listed["乙买了公需未学"] == ("已购买公需", "已激活")
    assert listed["戊未激活"] == ("未购买", "未激活")
    above = " ".join(str(r[0]) for r in table[:at])
    assert "已购买公需科目 2 人，已购买专业科目 1 人，均未购买 4 人" in above
    assert "账号未激活（尚未首次登录）1 人" in above


def test_the_list_costs_the_same_queries_for_forty_people_as_for_three(app, client):
    """Plans bought and activation come with the list in a fixed number of queries, however
    many people the unit has (a unit can have 20,000)."""
    app.extensions["clock"].set(NOW)

    def build(size: int) -> tuple[int, int]:
        with app.app_context():
            unit = make_unit(name=f"单位{size}")
            public = make_plan(kind="public", required_hours=30)
            specialist = make_plan(kind="specialist", required_hours=60)
            for i in range(size):
                t = make_trainee(name=f"职工{i:03d}", unit=unit, password=None if i % 2 else "x1")
                make_enrollment(t, public, hours=str(i % 31))
                if i % 3 == 0:
                    make_enrollment(t, specialist, hours="0")
                make_binding(t)
            admin = make_trainee(name="人事")
            make_unit_admin(admin, unit)
            db.session.commit()
            return unit.id, admin.id

    def statements(size: int) -> tuple[int, dict]:
        unit_id, admin_id = build(size)
        sign_in(client, admin_id)
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            engine = db.session.get_bind()  # the test's connection, which requests use too
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            listing = client.get(f"/api/units/{unit_id}/staff?year=2025").get_json()
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen), listing

    few, small = statements(3)
    many, large = statements(40)
    assert large["summary"] == {
        "bought_public": 40,
        "bought_specialist": 14,
        "bought_none": 0,
        "not_activated": 20,
    }
    assert small["summary"]["bought_specialist"] == 1
    assert 0 < few == many, (few, many)
