"""GET /api/plans, /api/plans/<id>, /api/courses/<id>: filters, paging, 学时, bad input."""

from __future__ import annotations

import pytest

from models import db
from tests.factories import make_plan, make_trainee
from wxapp.errors import FIELD_LABELS


@pytest.fixture
def signed_in(app, client):
    with app.app_context():
        trainee = make_trainee(name="孙七")
        db.session.commit()
        phone = trainee.phone
    res = client.post("/api/login", json={"username": phone, "password": "Passw0rd!"})
    assert res.status_code == 200
    return client


@pytest.fixture
def catalogue(app):
    with app.app_context():
        plans = {
            "2025-specialist": make_plan(
                year=2025, kind="specialist", courses=12, course_hours="6"
            ),
            "2025-public": make_plan(
                year=2025, kind="public", required_hours=30, courses=4, course_hours="8.5"
            ),
            "2026-specialist": make_plan(year=2026, kind="specialist", courses=2),
        }
        db.session.commit()
        return {name: plan.id for name, plan in plans.items()}


def test_plans_filtered_by_year_and_kind(signed_in, catalogue):
    res = signed_in.get("/api/plans")
    assert res.status_code == 200
    assert {p["id"] for p in res.json["items"]} == set(catalogue.values())
    assert [p["year"] for p in res.json["items"]] == [2026, 2025, 2025]  # latest year first

    res = signed_in.get("/api/plans?year=2025&kind=public")
    (plan,) = res.json["items"]
    assert plan["id"] == catalogue["2025-public"]
    assert plan["kind"] == "public" and plan["kind_name"] == "公需科目"
    assert plan["required_hours"] == 30 and plan["price_fen"] == 30 * 150

    res = signed_in.get("/api/plans?kind=specialist")
    assert {p["id"] for p in res.json["items"]} == {
        catalogue["2025-specialist"],
        catalogue["2026-specialist"],
    }
    specialist = next(p for p in res.json["items"] if p["year"] == 2025)
    assert specialist["price_fen"] == 9000 and specialist["kind_name"] == "专业科目"
    assert signed_in.get("/api/plans?year=2024").json == {"items": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=gongxu", "kind"),
        ("kind=PUBLIC", "kind"),
        ("year=abc", "year"),
        ("year=2025.0", "year"),
        ("year=1999", "year"),
        ("year=99999999999999999999999", "year"),
    ],
)
def test_bad_plan_filters_are_422_naming_the_parameter(signed_in, query, field):
    res = signed_in.get(f"/api/plans?{query}")
    assert res.status_code == 422
    assert res.json["field"] == field
    assert FIELD_LABELS[field] in res.json["message"]  # as the page names it: 年度, 科目类别


def test_plan_detail_pages_its_courses_with_hours_on_offer(signed_in, catalogue):
    plan_id = catalogue["2025-specialist"]
    res = signed_in.get(f"/api/plans/{plan_id}?per_page=5&page=3")
    assert res.status_code == 200
    assert res.json["id"] == plan_id and res.json["required_hours"] == 60
    assert res.json["hours_on_offer"] == 72  # 12 courses of 6 学时, whatever the page
    courses = res.json["courses"]
    assert (courses["page"], courses["per_page"], courses["total"]) == (3, 5, 12)
    assert len(courses["items"]) == 2
    first_page = signed_in.get(f"/api/plans/{plan_id}?per_page=5").json["courses"]["items"]
    assert len(first_page) == 5
    assert {"id", "title", "category", "hours", "teacher"} <= set(first_page[0])
    assert not {c["id"] for c in first_page} & {c["id"] for c in courses["items"]}

    default = signed_in.get(f"/api/plans/{plan_id}").json["courses"]
    assert (default["page"], default["per_page"], len(default["items"])) == (1, 10, 10)
    assert signed_in.get(f"/api/plans/{plan_id}?page=9").json["courses"]["items"] == []

    public = signed_in.get(f"/api/plans/{catalogue['2025-public']}").json
    assert public["hours_on_offer"] == 34  # 4 x 8.5: exact decimals, not floats drifting


@pytest.mark.parametrize(
    ("query", "field"),
    [("page=0", "page"), ("page=x", "page"), ("per_page=101", "per_page"), ("per_page=", None)],
)
def test_bad_paging_is_422(signed_in, catalogue, query, field):
    res = signed_in.get(f"/api/plans/{catalogue['2025-specialist']}?{query}")
    if field is None:  # an empty parameter means the default
        assert res.status_code == 200
    else:
        assert res.status_code == 422 and res.json["field"] == field


@pytest.mark.parametrize("path", ["/api/plans/{}", "/api/courses/{}"])
@pytest.mark.parametrize("ident", ["999999", "2147483648", "99999999999999999999999"])
def test_unknown_plan_or_course_is_404(signed_in, catalogue, path, ident):
    res = signed_in.get(path.format(ident))
    assert res.status_code == 404
    assert res.json["message"]


def test_course_lists_its_chapters(app, signed_in, catalogue):
    plan_id = catalogue["2026-specialist"]
    course = signed_in.get(f"/api/plans/{plan_id}").json["courses"]["items"][0]
    res = signed_in.get(f"/api/courses/{course['id']}")
    assert res.status_code == 200
    assert res.json["title"] == course["title"] and res.json["hours"] == 30
    chapters = res.json["chapters"]
    assert [c["title"] for c in chapters] == ["第1章", "第2章"]
    for chapter in chapters:
        assert isinstance(chapter["id"], int)
        assert chapter["duration"] == 60
        assert chapter["video_url"] == "/static/media/demo.mp4"
