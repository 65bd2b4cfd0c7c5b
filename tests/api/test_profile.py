"""个人信息 for the certificate: updating name / unit / 档案所在区县, the unit chooser, 区县 list."""

from __future__ import annotations

import pytest

from models import db
from tests.factories import make_trainee, make_unit


@pytest.fixture
def logged_in(app, client):
    with app.app_context():
        make_unit(name="垫江县人民医院", district="垫江县")
        make_unit(name="垫江县中学", district="垫江县")
        sha = make_unit(name="重庆市第一中学", district="沙坪坝区")
        trainee = make_trainee(name="张三")
        db.session.commit()
        phone, sha_id = trainee.phone, sha.id
    assert (
        client.post("/api/login", json={"username": phone, "password": "Passw0rd!"}).status_code
        == 200
    )
    return sha_id


def test_units_are_searched_by_part_of_the_name_and_by_district(client, logged_in):
    names = [u["name"] for u in client.get("/api/units?q=垫江").get_json()["items"]]
    assert names == sorted(["垫江县人民医院", "垫江县中学"])
    items = client.get("/api/units?district=沙坪坝区").get_json()["items"]
    assert items == [{"id": logged_in, "name": "重庆市第一中学", "district": "沙坪坝区"}]
    assert client.get("/api/units?q=%25").get_json()["items"] == []  # % is literal
    bad = client.get("/api/units?district=成都市")
    assert bad.status_code == 422 and bad.get_json()["field"] == "district"


def test_districts_are_the_38_of_chongqing(client, logged_in):
    items = client.get("/api/districts").get_json()["items"]
    assert len(items) == 38 and "垫江县" in items and "渝中区" in items


def test_profile_update_sets_and_clears_unit_and_district(client, logged_in):
    body = client.patch(
        "/api/me/profile",
        json={"name": " 张三丰 ", "unit_id": logged_in, "archive_district": "沙坪坝区"},
    ).get_json()
    assert body["name"] == "张三丰"
    assert body["unit"]["name"] == "重庆市第一中学"
    assert body["archive_district"] == "沙坪坝区"
    body = client.patch("/api/me/profile", json={"unit_id": None}).get_json()
    assert body["unit"] is None and body["archive_district"] == "沙坪坝区"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "张3"}, "name"),
        ({"unit_id": 999999}, "unit_id"),
        ({"unit_id": "1"}, "unit_id"),
        ({"archive_district": "成都市"}, "archive_district"),
        ({}, "body"),
    ],
)
def test_bad_profile_input_is_named_and_nothing_changes(client, logged_in, payload, field):
    response = client.patch("/api/me/profile", json={**payload})
    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert client.get("/api/me").get_json()["name"] == "张三"
