"""个人信息: the unit chooser and 区县 list; unit / 区县 changes kept as history and shown in the
unit reports; name and ID number never changed by the trainee, only by their unit's
administrator (IDOR tried) or customer service (CLI), always with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import ProfileChange, Trainee, db
from tests.factories import (
    make_binding,
    make_id_number,
    make_trainee,
    make_unit,
    make_unit_admin,
)
from tests.sms import latest_code
from wxapp.accounts import unit_corrections
from wxapp.accounts.idnumbers import check_char, mask_id_number
from wxapp.accounts.roster import gender_from_id

PASSWORD = "Passw0rd!"


def login(client, phone: str) -> None:
    response = client.post("/api/login", json={"username": phone, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def world(app):
    """Two units of 垫江县 and one of 沙坪坝区, each A and B with an administrator (who works
    elsewhere); 张三 at A, 李四 at B, 王五 with no unit."""
    with app.app_context():
        a = make_unit(name="垫江县人民医院", district="垫江县")
        b = make_unit(name="垫江县中学", district="垫江县")
        c = make_unit(name="重庆市第一中学", district="沙坪坝区")
        admin_a = make_trainee(name="甲管理员", unit=c)
        admin_b = make_trainee(name="乙管理员", unit=c)
        make_unit_admin(admin_a, a)
        make_unit_admin(admin_b, b)
        zhang = make_trainee(name="张三", unit=a)
        li = make_trainee(name="李四", unit=b)
        wang = make_trainee(name="王五")
        db.session.commit()
        return SimpleNamespace(
            a=a.id,
            b=b.id,
            c=c.id,
            admin_a=SimpleNamespace(id=admin_a.id, phone=admin_a.phone),
            admin_b=SimpleNamespace(id=admin_b.id, phone=admin_b.phone),
            zhang=SimpleNamespace(id=zhang.id, phone=zhang.phone, id_number=zhang.id_number),
            li=SimpleNamespace(id=li.id, phone=li.phone, id_number=li.id_number),
            wang=SimpleNamespace(id=wang.id, phone=wang.phone, id_number=wang.id_number),
        )


def history_of(app, trainee_id: int) -> list[ProfileChange]:
    with app.app_context():
        rows = db.session.execute(
            db.select(ProfileChange)
            .where(ProfileChange.trainee_id == trainee_id)
            .order_by(ProfileChange.id)
        ).scalars()
        return [
            SimpleNamespace(**{c.key: getattr(r, c.key) for c in r.__table__.columns}) for r in rows
        ]


# --- the unit chooser and the 区县 list -----------------------------------------------------


def test_units_are_searched_by_part_of_the_name_and_by_district(client, world):
    login(client, world.zhang.phone)
    names = [u["name"] for u in client.get("/api/units?q=垫江").get_json()["items"]]
    assert names == sorted(["垫江县人民医院", "垫江县中学"])
    items = client.get("/api/units?district=沙坪坝区").get_json()["items"]
    assert items == [{"id": world.c, "name": "重庆市第一中学", "district": "沙坪坝区"}]
    assert client.get("/api/units?q=%25").get_json()["items"] == []  # % is literal
    bad = client.get("/api/units?district=成都市")
    assert bad.status_code == 422 and bad.get_json()["field"] == "district"


def test_districts_are_the_38_of_chongqing(client, world):
    login(client, world.zhang.phone)
    items = client.get("/api/districts").get_json()["items"]
    assert len(items) == 38 and "垫江县" in items and "渝中区" in items


# --- what the trainee changes themself --------------------------------------------------------


def test_unit_and_district_are_set_and_cleared_and_each_change_is_kept(app, client, clock, world):
    login(client, world.wang.phone)
    body = client.patch(
        "/api/me/profile", json={"unit_id": world.c, "archive_district": "沙坪坝区"}
    ).get_json()
    assert body["unit"]["name"] == "重庆市第一中学"
    assert body["archive_district"] == "沙坪坝区"
    clock.advance(3600)
    body = client.patch("/api/me/profile", json={"unit_id": None}).get_json()
    assert body["unit"] is None and body["archive_district"] == "沙坪坝区"
    # Saving the same again is no change and leaves no history.
    client.patch("/api/me/profile", json={"archive_district": "沙坪坝区"})

    items = client.get("/api/me/profile/changes").get_json()["items"]
    assert [(i["field"], i["old"], i["new"], i["by"]) for i in items] == [
        ("unit", "重庆市第一中学", None, "本人"),
        ("archive_district", None, "沙坪坝区", "本人"),
        ("unit", None, "重庆市第一中学", "本人"),
    ]
    assert items[0]["changed_at"] > items[1]["changed_at"]


def test_a_script_flipping_units_is_stopped_and_its_last_flip_not_written(app, client, world):
    """Each unit change shows in two units' reports: 10 changes an hour, then 429 with
    nothing written; another trainee is not held back by it."""
    login(client, world.wang.phone)
    for n in range(10):
        res = client.patch("/api/me/profile", json={"unit_id": world.a if n % 2 else world.b})
        assert res.status_code == 200, res.get_json()
    res = client.patch("/api/me/profile", json={"unit_id": world.c})
    body = res.get_json()
    assert res.status_code == 429 and body["error"] == "rate_limited"
    assert body["message"] == "修改个人信息过于频繁，请一小时后再试"
    assert 0 < body["retry_after"] <= 3600
    assert len(history_of(app, world.wang.id)) == 10
    with app.app_context():
        assert db.session.get(Trainee, world.wang.id).unit_id == world.a  # the 10th flip

    other = app.test_client()
    login(other, world.zhang.phone)
    assert other.patch("/api/me/profile", json={"unit_id": world.c}).status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "张三丰"},
        {"name": "张三"},  # even the same name: the route does not take it at all
        {"id_number": make_id_number(90001)},
        {"gender": "女"},
        {"name": "李四", "unit_id": 1},
    ],
)
def test_a_trainee_cannot_rename_themself_and_nothing_changes(app, client, world, payload):
    login(client, world.zhang.phone)
    if "unit_id" in payload:
        payload = {**payload, "unit_id": world.b}
    response = client.patch("/api/me/profile", json=payload)
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "identity_change_not_allowed"
    assert "单位" in body["message"] and "400-023-9229" in body["message"]
    me = client.get("/api/me").get_json()
    assert (me["name"], me["unit"]["id"]) == ("张三", world.a)
    assert me["id_number_masked"] == mask_id_number(world.zhang.id_number)
    assert history_of(app, world.zhang.id) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"unit_id": 999999}, "unit_id"),
        ({"unit_id": "1"}, "unit_id"),
        ({"archive_district": "成都市"}, "archive_district"),
        ({}, "body"),
    ],
)
def test_bad_profile_input_is_named_and_nothing_changes(app, client, world, payload, field):
    login(client, world.zhang.phone)
    response = client.patch("/api/me/profile", json={**payload})
    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert client.get("/api/me").get_json()["unit"]["id"] == world.a
    assert history_of(app, world.zhang.id) == []


# --- unit changes in the unit report ----------------------------------------------------------


def test_a_unit_change_shows_in_both_units_reports_with_its_date(app, client, clock, world):
    # 2024-12-31 20:00 in 重庆 is still 2024: that move belongs to 2024's reports only.
    clock.set(datetime(2024, 12, 31, 12, 0, tzinfo=UTC))
    login(client, world.wang.phone)
    assert client.patch("/api/me/profile", json={"unit_id": world.a}).status_code == 200
    # 张三 moves from A to B on 2025-03-02 (Shanghai), 王五 from A to no unit on 2025-06-16.
    clock.set(datetime(2025, 3, 1, 18, 30, tzinfo=UTC))
    login(client, world.zhang.phone)
    assert client.patch("/api/me/profile", json={"unit_id": world.b}).status_code == 200
    clock.set(datetime(2025, 6, 16, 2, 0, tzinfo=UTC))
    login(client, world.wang.phone)
    assert client.patch("/api/me/profile", json={"unit_id": None}).status_code == 200

    login(client, world.admin_a.phone)
    report = client.get(f"/api/units/{world.a}/report?year=2025").get_json()
    assert report["movements"]["joined"] == []
    left = [(m["name"], m["date"], m["to_unit"], m["by"]) for m in report["movements"]["left"]]
    assert left == [
        ("张三", "2025年3月2日", "垫江县中学", "本人"),
        ("王五", "2025年6月16日", None, "本人"),
    ]
    assert report["movements"]["left"][0]["id_number_masked"] == mask_id_number(
        world.zhang.id_number
    )
    assert report["summary"]["left"] == 2 and report["summary"]["joined"] == 0
    assert "张三" not in [t["name"] for t in report["trainees"]]
    report_2024 = client.get(f"/api/units/{world.a}/report?year=2024").get_json()
    assert [(m["name"], m["date"], m["from_unit"]) for m in report_2024["movements"]["joined"]] == [
        ("王五", "2024年12月31日", None)
    ]

    login(client, world.admin_b.phone)
    report = client.get(f"/api/units/{world.b}/report?year=2025").get_json()
    joined = [(m["name"], m["date"], m["from_unit"]) for m in report["movements"]["joined"]]
    assert joined == [("张三", "2025年3月2日", "垫江县人民医院")]
    assert "张三" in [t["name"] for t in report["trainees"]]


def test_the_report_file_lists_who_joined_and_left(app, client, runner, world, tmp_path):
    login(client, world.zhang.phone)
    client.patch("/api/me/profile", json={"unit_id": world.b})
    out = tmp_path / "b.xlsx"
    result = runner.invoke(
        args=["report", "unit", "--unit", str(world.b), "--year", "2025", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    wb = load_workbook(out, read_only=True)
    moved = list(wb.worksheets[1].iter_rows(values_only=True))
    wb.close()
    assert ("调入", "张三", mask_id_number(world.zhang.id_number), "2025年6月16日") == moved[2][:4]
    assert moved[2][4] == "原单位：垫江县人民医院"


# --- corrections by the unit administrator ----------------------------------------------------


def test_a_unit_administrator_corrects_a_name_with_a_reason(app, client, clock, world):
    login(client, world.admin_a.phone)
    url = f"/api/units/{world.a}/trainees/{world.zhang.id}/identity"
    missing = client.post(url, json={"name": "张叁"})
    assert missing.status_code == 422 and missing.get_json()["field"] == "reason"
    short = client.post(url, json={"name": "张叁", "reason": "错"})  # filled in, too short
    assert (short.status_code, short.get_json()["field"]) == (422, "reason")
    assert short.get_json()["message"] == "更正理由太短（至少 2 个字）"
    bad = client.post(url, json={"name": "张 叁", "reason": "与身份证不一致"})
    assert bad.status_code == 422 and bad.get_json()["field"] == "name"
    for hostile in ("<b>张叁</b>", '=HYPERLINK("http://evil.example/x","张叁")', "@张叁", "+张叁"):
        res = client.post(url, json={"name": hostile, "reason": "与身份证不一致"})
        assert res.status_code == 422 and res.get_json()["field"] == "name", hostile
    same = client.post(url, json={"name": "张三", "reason": "与身份证不一致"})
    assert same.status_code == 422

    response = client.post(url, json={"name": "张叁", "reason": "与身份证不一致"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["trainee"]["name"] == "张叁"
    assert body["changes"][0] | {"changed_at": None} == {
        "field": "name",
        "old": "张三",
        "new": "张叁",
        "reason": "与身份证不一致",
        "changed_at": None,
    }
    [change] = history_of(app, world.zhang.id)
    assert (change.field, change.actor, change.reason) == (
        "name",
        f"unit_admin:{world.admin_a.id}",
        "与身份证不一致",
    )

    login(client, world.zhang.phone)
    assert client.get("/api/me").get_json()["name"] == "张叁"
    [item] = client.get("/api/me/profile/changes").get_json()["items"]
    assert (item["field"], item["old"], item["new"], item["by"]) == ("name", "张三", "张叁", "单位")


def test_a_unit_administrator_reaches_only_the_trainees_of_their_own_unit(app, client, world):
    login(client, world.admin_a.phone)
    body = {"name": "改名", "reason": "测试越权"}
    # 李四 is at B: through A's URL he is "not in this unit", like an id that does not exist.
    not_here = client.post(f"/api/units/{world.a}/trainees/{world.li.id}/identity", json=body)
    nobody = client.post(f"/api/units/{world.a}/trainees/999999/identity", json=body)
    assert not_here.status_code == nobody.status_code == 404
    assert not_here.get_json() == nobody.get_json()
    # Through B's URL: not A's administrator's unit.
    other = client.post(f"/api/units/{world.b}/trainees/{world.li.id}/identity", json=body)
    assert other.status_code == 403 and other.get_json()["error"] == "other_unit"
    # A trainee of A without the role, and the administrator on their own account.
    login(client, world.zhang.phone)
    plain = client.post(f"/api/units/{world.a}/trainees/{world.zhang.id}/identity", json=body)
    assert plain.status_code == 403 and plain.get_json()["error"] == "not_unit_admin"

    for t in (world.li, world.zhang):
        assert history_of(app, t.id) == []
    with app.app_context():
        names = {t.name for t in db.session.execute(db.select(Trainee)).scalars()}
    assert "改名" not in names


def test_an_administrator_cannot_correct_their_own_account(app, client, world):
    with app.app_context():
        admin = db.session.get(Trainee, world.admin_a.id)
        admin.unit_id = world.a
        db.session.commit()
    login(client, world.admin_a.phone)
    response = client.post(
        f"/api/units/{world.a}/trainees/{world.admin_a.id}/identity",
        json={"name": "新名字", "reason": "想改"},
    )
    assert response.status_code == 403 and response.get_json()["error"] == "own_account"
    assert "客服" in response.get_json()["message"]


def _typo(app, id_number: str, at: int = 15, digits: str = "0123456789") -> str:
    """`id_number` with the digit at index `at` (the 16th character: the sequence; 16, the
    17th: the gender) changed to one of `digits`, and its check character; a number no one
    holds."""
    with app.app_context():
        taken = set(db.session.execute(db.select(Trainee.id_number)).scalars())
    for digit in digits:
        first17 = id_number[:at] + digit + id_number[at + 1 : 17]
        number = first17 + check_char(first17)
        if number != id_number and number not in taken:
            return number
    raise AssertionError("no free number one digit away")


def _typo_in_17th_digit(app, id_number: str) -> str:
    """`id_number` with its 17th digit made even (a woman's)."""
    return _typo(app, id_number, at=16, digits="02468")


def test_an_id_number_correction_checks_the_number_and_rederives_the_gender(
    app, client, runner, world
):
    login(client, world.admin_a.phone)
    url = f"/api/units/{world.a}/trainees/{world.zhang.id}/identity"
    # The 17th digit is even for a woman (the factory's trainees are all 男): one mistyped
    # digit, and the check character it changes.
    female = _typo_in_17th_digit(app, world.zhang.id_number)
    wrong_check = female[:17] + ("0" if female[17] != "0" else "1")
    with_x = next(n for n in map(make_id_number, range(50000, 50100)) if n.endswith("X"))
    for number, code in (
        (wrong_check, "id_checksum"),
        (with_x[:17] + "x", "id_lowercase_x"),
        ("5002311985030700", "id_format"),
    ):
        response = client.post(url, json={"id_number": number, "reason": "录入错误"})
        assert response.status_code == 422, number
        assert response.get_json()["field"] == "id_number"
        assert response.get_json()["error"] == code
    # Another account's number is no typo of this one's: refused as too large a change,
    # before anyone learns whether it has an account (tests/api/test_unit_admin_tenure.py).
    taken = client.post(url, json={"id_number": world.li.id_number, "reason": "录入错误"})
    assert taken.status_code == 403 and taken.get_json()["error"] == "unit_correction_too_large"
    assert "李四" not in taken.get_data(as_text=True)  # says nothing about the other account

    # The gender digit (and the birth date) tell one person from another: not the unit's.
    gender = client.post(url, json={"id_number": female, "reason": "录入错误"})
    assert gender.status_code == 403 and gender.get_json()["field"] == "id_number"
    assert "出生日期和性别" in gender.get_json()["message"]

    typo = _typo(app, world.zhang.id_number)  # a mistyped sequence digit
    response = client.post(url, json={"id_number": typo, "reason": "录入错误"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["changes"][0]["new"] == mask_id_number(typo)
    with app.app_context():
        trainee = db.session.get(Trainee, world.zhang.id)
        # The gender follows the 17th character, which the typo left as it was.
        assert (trainee.id_number, trainee.gender) == (typo, gender_from_id(world.zhang.id_number))
    [change] = history_of(app, world.zhang.id)
    assert (change.field, change.old_value, change.new_value) == (
        "id_number",
        world.zhang.id_number,
        typo,
    )
    # The ID number is a username: the new one logs in, the old one no longer does.
    assert (
        client.post("/api/login", json={"username": typo, "password": PASSWORD}).status_code == 200
    )
    old = client.post("/api/login", json={"username": world.zhang.id_number, "password": PASSWORD})
    assert old.status_code == 401

    # Customer service may change the gender digit; the gender follows the number.
    female = _typo_in_17th_digit(app, typo)
    done = runner.invoke(
        args=["trainees", "correct", "--account", typo, "--id-number", female,
              "--reason", "录入错误", "--operator", "客服小王"]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with app.app_context():
        trainee = db.session.get(Trainee, world.zhang.id)
        assert (trainee.id_number, trainee.gender) == (female, "女")


# --- corrections by customer service (CLI) ----------------------------------------------------


def test_customer_service_corrects_any_account_from_the_cli(app, runner, world):
    result = runner.invoke(
        args=[
            "trainees",
            "correct",
            "--account",
            world.li.phone,
            "--name",
            "李斯",
            "--reason",
            "户籍姓名为李斯",
            "--operator",
            "客服小王",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "姓名：李四 → 李斯" in result.output and "刷新证书" in result.output
    [change] = history_of(app, world.li.id)
    assert (change.actor, change.reason) == ("operator:客服小王", "户籍姓名为李斯")

    no_reason = runner.invoke(
        args=["trainees", "correct", "--account", world.li.phone, "--name", "李思", "--reason", " "]
    )
    assert no_reason.exit_code != 0 and "理由" in no_reason.output
    nobody = runner.invoke(
        args=["trainees", "correct", "--account", "13000000000", "--name", "某", "--reason", "xx"]
    )
    assert nobody.exit_code != 0 and "账号不存在" in nobody.output
    assert len(history_of(app, world.li.id)) == 1


# --- the phone: an SMS code to the new phone -------------------------------------------------


def test_the_phone_changes_with_a_code_sent_to_the_new_phone(app, client, clock, world):
    login(client, world.zhang.phone)
    new = "13800138001"
    # No code yet, or a made-up one: refused, nothing changes.
    guess = client.post(
        "/api/me/phone", json={"phone": new, "sms_code": "123456", "password": PASSWORD}
    )
    assert guess.status_code == 422 and guess.get_json()["error"] == "bad_sms_code"

    sent = client.post("/api/me/phone/code", json={"phone": new})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["phone_tail"] == "8001"
    assert sent.get_json()["phone_masked"] == "138****8001"
    assert latest_code(client, world.zhang.phone) is None  # not to the old phone
    code = latest_code(client, new)
    assert code is not None and len(code) == 6
    again = client.post("/api/me/phone/code", json={"phone": new})
    assert again.status_code == 429 and again.get_json()["error"] == "sms_too_soon"

    # The code of the new phone does not change the phone to a third one.
    other = client.post(
        "/api/me/phone", json={"phone": "13800138002", "sms_code": code, "password": PASSWORD}
    )
    assert other.status_code == 422 and other.get_json()["field"] == "sms_code"
    without = client.post("/api/me/phone", json={"phone": new, "sms_code": code})
    assert without.status_code == 422 and without.get_json()["field"] == "password"
    response = client.post(
        "/api/me/phone", json={"phone": new, "sms_code": code, "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["phone"] == new
    # One use only.
    replay = client.post(
        "/api/me/phone", json={"phone": new, "sms_code": code, "password": PASSWORD}
    )
    assert replay.status_code == 422

    [item] = client.get("/api/me/profile/changes").get_json()["items"]
    assert (item["field"], item["old"], item["new"], item["by"]) == (
        "phone",
        world.zhang.phone[:3] + "****" + world.zhang.phone[-4:],
        "138****8001",
        "本人",
    )
    # The new phone is the username now; the old one names nobody.
    assert (
        client.post("/api/login", json={"username": new, "password": PASSWORD}).status_code == 200
    )
    gone = client.post("/api/login", json={"username": world.zhang.phone, "password": PASSWORD})
    assert gone.status_code == 401


def test_a_phone_used_by_another_account_is_refused_and_reveals_nothing(app, client, clock, world):
    login(client, world.zhang.phone)
    # The code goes out as for any phone: whether the phone is taken is learned only by whoever
    # reads the code on it.
    sent = client.post("/api/me/phone/code", json={"phone": world.li.phone})
    assert sent.status_code == 200
    code = latest_code(client, world.li.phone)
    response = client.post(
        "/api/me/phone", json={"phone": world.li.phone, "sms_code": code, "password": PASSWORD}
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "phone_taken" and body["field"] == "phone"
    assert "已被其他账号使用" in body["message"]
    text = response.get_data(as_text=True)
    assert "李四" not in text and world.li.id_number not in text and str(world.li.id) not in text
    assert client.get("/api/me").get_json()["phone"] == world.zhang.phone
    assert history_of(app, world.zhang.id) == []


def test_a_session_alone_cannot_move_the_phone_and_then_reset_the_password(
    app, client, clock, world
):
    """Whoever holds only a session (a phone left unlocked in WeChat) and not the password
    cannot put their own phone on the account: 忘记密码 would then send its code there."""
    login(client, world.zhang.phone)
    mine = "13900007777"
    client.post("/api/me/phone/code", json={"phone": mine})
    code = latest_code(client, mine)
    for guess in ("Guess0001x", "Guess0002x"):
        wrong = client.post(
            "/api/me/phone", json={"phone": mine, "sms_code": code, "password": guess}
        )
        assert wrong.status_code == 422 and wrong.get_json()["field"] == "password"
        assert "登录密码错误" in wrong.get_json()["message"]
    assert client.get("/api/me").get_json()["phone"] == world.zhang.phone
    assert history_of(app, world.zhang.id) == []
    # A wrong password did not spend the code: the owner, who knows it, still can.
    done = client.post(
        "/api/me/phone", json={"phone": mine, "sms_code": code, "password": PASSWORD}
    )
    assert done.status_code == 200


def test_guessing_the_password_from_a_session_locks_the_device(app, client, world):
    """A session may not try passwords without end (原密码 or 登录密码): the wrong ones count
    toward the lockout like failed logins, and then even the right one waits. The browser
    is a known device of the account (its session began there), so the lock is that
    device's: the owner's other browsers are not shut out by whoever holds this one."""
    login(client, world.zhang.phone)
    tries = [
        client.post(
            "/api/me/password",
            json={"old_password": f"Guess{n:04d}x", "new_password": "N3wSecret99"},
        )
        for n in range(5)
    ]
    assert [t.status_code for t in tries] == [422, 422, 422, 422, 429]
    assert "还可尝试 1 次" in tries[3].get_json()["message"]
    right = client.post(
        "/api/me/password", json={"old_password": PASSWORD, "new_password": "N3wSecret99"}
    )
    assert right.status_code == 429 and right.get_json()["error"] == "locked"
    phone = client.post(
        "/api/me/phone", json={"phone": "13900007778", "sms_code": "123456", "password": PASSWORD}
    )
    assert phone.status_code == 429
    again = client.post("/api/login", json={"username": world.zhang.phone, "password": PASSWORD})
    assert again.status_code == 429  # one lock for the device, however it was guessed
    elsewhere = app.test_client().post(
        "/api/login", json={"username": world.zhang.phone, "password": PASSWORD}
    )
    assert elsewhere.status_code == 200


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"phone": "1380013800"}, "phone", "bad_phone"),
        ({"phone": "23800138000"}, "phone", "bad_phone"),
        ({}, "phone", "missing"),
    ],
)
def test_a_bad_new_phone_is_named_and_no_code_is_sent(client, world, payload, field, code):
    login(client, world.zhang.phone)
    response = client.post("/api/me/phone/code", json=payload)
    assert response.status_code == 422
    assert (response.get_json()["field"], response.get_json()["error"]) == (field, code)
    if payload.get("phone"):
        assert latest_code(client, payload["phone"]) is None


def test_the_current_phone_is_not_a_new_one(client, world):
    login(client, world.zhang.phone)
    response = client.post("/api/me/phone/code", json={"phone": world.zhang.phone})
    assert response.status_code == 422 and response.get_json()["error"] == "same_phone"
    assert latest_code(client, world.zhang.phone) is None


def test_the_phone_routes_need_a_session(client):
    assert client.post("/api/me/phone/code", json={"phone": "13800138001"}).status_code == 401
    assert (
        client.post("/api/me/phone", json={"phone": "13800138001", "sms_code": "1"}).status_code
        == 401
    )
    assert latest_code(client, "13800138001") is None


def test_a_unit_corrects_a_typo_but_cannot_give_an_account_another_identity(app, client, world):
    """A unit administrator who swaps a trainee's name and ID number moves their 学时 and
    certificates to another person: a unit corrects typos only; the rest is 客服's."""
    login(client, world.admin_a.phone)
    url = f"/api/units/{world.a}/trainees/{world.zhang.id}/identity"
    other = make_id_number(70001)
    swap = client.post(url, json={"name": "赵大宝", "id_number": other, "reason": "与身份证不一致"})
    assert swap.status_code == 403, swap.get_json()
    assert swap.get_json()["error"] == "unit_correction_too_large"
    assert "客服" in swap.get_json()["message"]
    renamed = client.post(url, json={"name": "赵大宝", "reason": "与身份证不一致"})
    assert renamed.status_code == 403 and renamed.get_json()["field"] == "name"
    renumbered = client.post(url, json={"id_number": other, "reason": "录入错误"})
    assert renumbered.status_code == 403 and renumbered.get_json()["field"] == "id_number"
    assert history_of(app, world.zhang.id) == []

    # A wrong character is a typo the unit corrects (so is a missing or an extra one).
    fixed = client.post(url, json={"name": "张叁", "reason": "与身份证不一致"})
    assert fixed.status_code == 200, fixed.get_json()
    # Once a year per field: chained small corrections would make another name.
    again = client.post(url, json={"name": "张叁丰", "reason": "与身份证不一致"})
    assert again.status_code == 403 and again.get_json()["error"] == "unit_correction_repeated"
    assert "姓名已由单位更正过" in again.get_json()["message"]
    # Nor the other field within the year: a name and a number both changed make another
    # person (twins of one district differ in a digit or two and a character).
    typo = _typo(app, world.zhang.id_number)
    number = client.post(url, json={"id_number": typo, "reason": "录入错误"})
    assert number.status_code == 403 and number.get_json()["error"] == "unit_correction_repeated"
    with app.app_context():
        trainee = db.session.get(Trainee, world.zhang.id)
        assert (trainee.name, trainee.id_number) == ("张叁", world.zhang.id_number)


def test_a_unit_corrects_one_field_at_a_time_and_never_the_birth_date(app, client, world):
    login(client, world.admin_a.phone)
    url = f"/api/units/{world.a}/trainees/{world.zhang.id}/identity"
    both = client.post(
        url,
        json={"name": "张叁", "id_number": _typo(app, world.zhang.id_number), "reason": "录入错误"},
    )
    assert (
        both.status_code == 403 and "只能更正姓名或身份证号码中的一项" in both.get_json()["message"]
    )
    # 1985 -> 1955: three positions with the check character, but another birth date.
    born = world.zhang.id_number[:8] + "5" + world.zhang.id_number[9:17]
    older = born + check_char(born)
    birth = client.post(url, json={"id_number": older, "reason": "录入错误"})
    assert birth.status_code == 403 and "出生日期和性别" in birth.get_json()["message"]
    assert history_of(app, world.zhang.id) == []


@pytest.mark.parametrize(
    ("old", "new", "typo"),
    [
        ("张三", "张叁", True),
        ("张三", "张三丰", True),
        ("欧阳娜娜", "欧阳娜", True),
        ("张三", "李四", False),
        ("张三", "张三丰丰", False),
        ("欧阳娜娜", "欧娜娜阳", False),
    ],
)
def test_what_counts_as_one_character_apart(old, new, typo):
    assert unit_corrections.one_character_apart(old, new) is typo


# --- /api/me: whether the account administers a unit ------------------------------------


def test_me_says_whether_the_account_administers_a_unit_without_a_query_more(app, client, world):
    """个人信息 offers 单位学时统计 (and asks /api/me/unit for its name) only to a unit's
    administrator, so /api/me says who is one; it reads no more than it did before
    (the account and its WeChat binding: two statements)."""
    with app.app_context():
        make_binding(db.session.get(Trainee, world.admin_a.id))
        db.session.commit()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    def me() -> dict:
        statements.clear()
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                response = client.get("/api/me")
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return response.get_json()

    login(client, world.admin_a.phone)
    admin = me()
    assert (admin["unit_admin"], admin["wechat_bound"]) == (True, True)
    assert admin["unit"]["name"] == "重庆市第一中学"  # where they work, not the unit they run
    assert len(statements) <= 2, statements
    login(client, world.zhang.phone)
    zhang = me()
    assert (zhang["unit_admin"], zhang["wechat_bound"]) == (False, False)
    assert len(statements) <= 2, statements
    assert client.get("/api/me/unit").status_code == 403  # what the page no longer asks
