"""A unit's administrator works at that unit: the grant is given only to the unit's own staff,
and it ends when the account leaves the unit. A clerk who changes employer and updates
个人信息 no longer reads the old unit's staff (names, phone numbers, hours) nor corrects them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from models import ProfileChange, UnitAdmin, db
from tests.factories import make_trainee, make_unit, make_unit_admin

PASSWORD = "Passw0rd!"


@pytest.fixture
def clerk(app, client):
    """人事 at 垫江县人民医院 and its administrator, signed in; a colleague there; another unit."""
    with app.app_context():
        hospital = make_unit(name="垫江县人民医院", district="垫江县")
        school = make_unit(name="垫江县中学", district="垫江县")
        admin = make_trainee(name="人事干事", unit=hospital)
        colleague = make_trainee(name="同事", unit=hospital)
        make_unit_admin(admin, hospital)
        db.session.commit()
        world = SimpleNamespace(
            hospital=hospital.id,
            school=school.id,
            admin=admin.id,
            admin_phone=admin.phone,
            colleague=colleague.id,
        )
    reply = client.post("/api/login", json={"username": world.admin_phone, "password": PASSWORD})
    assert reply.status_code == 200
    return world


def _grants(app) -> list[tuple[int, int]]:
    with app.app_context():
        return [
            tuple(r) for r in db.session.execute(sa.select(UnitAdmin.trainee_id, UnitAdmin.unit_id))
        ]


def _correct_colleague(client, world):
    return client.post(
        f"/api/units/{world.hospital}/trainees/{world.colleague}/identity",
        json={"name": "同事甲", "reason": "姓名录入有误"},
    )


@pytest.mark.parametrize("new_unit", ["school", None])
def test_leaving_the_unit_ends_the_administrators_grant(app, client, clerk, new_unit):
    assert client.get(f"/api/units/{clerk.hospital}/report?year=2025").status_code == 200
    assert client.get(f"/api/units/{clerk.hospital}/staff.xlsx?year=2025").status_code == 200
    assert _correct_colleague(client, clerk).status_code == 200
    assert client.get("/api/me").get_json()["unit_admin"] is True
    body = {"unit_id": getattr(clerk, new_unit) if new_unit else None}
    if new_unit is None:
        body["archive_district"] = "垫江县"  # what the certificate shows without a unit

    reply = client.patch("/api/me/profile", json=body)

    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["unit_admin_ended"] == {"id": clerk.hospital, "name": "垫江县人民医院"}
    assert client.get("/api/me").get_json()["unit_admin"] is False
    report = client.get(f"/api/units/{clerk.hospital}/report?year=2025")
    assert report.status_code == 403 and report.get_json()["error"] == "not_unit_admin"
    assert client.get(f"/api/units/{clerk.hospital}/staff.xlsx?year=2025").status_code == 403
    assert client.get("/api/me/unit").status_code == 403
    refused = client.post(
        f"/api/units/{clerk.hospital}/trainees/{clerk.colleague}/identity",
        json={"name": "同事乙", "reason": "姓名录入有误"},
    )
    assert refused.status_code == 403
    assert _grants(app) == []
    with app.app_context():  # the unit change itself is kept as always
        fields = db.session.execute(
            sa.select(ProfileChange.field).where(ProfileChange.trainee_id == clerk.admin)
        ).scalars()
        assert "unit" in list(fields)


def test_other_changes_keep_the_grant(app, client, clerk):
    assert client.patch("/api/me/profile", json={"archive_district": "万州区"}).status_code == 200
    same = client.patch("/api/me/profile", json={"unit_id": clerk.hospital})
    assert same.status_code == 200 and same.get_json()["unit_admin_ended"] is None
    assert client.get(f"/api/units/{clerk.hospital}/report?year=2025").status_code == 200
    assert _grants(app) == [(clerk.admin, clerk.hospital)]


def test_a_refused_unit_change_keeps_the_grant(app, client, clerk):
    reply = client.patch("/api/me/profile", json={"unit_id": 999999})
    assert reply.status_code == 422 and reply.get_json()["field"] == "unit_id"
    assert _grants(app) == [(clerk.admin, clerk.hospital)]


def test_the_command_grants_only_the_units_own_staff(app, runner, clerk):
    with app.app_context():
        outsider = make_trainee(name="外单位人员")
        db.session.commit()
        outsider_phone, outsider_id = outsider.phone, outsider.id

    refused = runner.invoke(
        args=["unit-admin", "grant", outsider_phone, "--unit", str(clerk.school)]
    )
    assert refused.exit_code != 0
    assert "该学员的工作单位不是此单位，不能授予单位管理员" in refused.output
    # Moving the existing administrator to another unit's grant is refused the same way.
    moved = runner.invoke(
        args=["unit-admin", "grant", clerk.admin_phone, "--unit", str(clerk.school)]
    )
    assert moved.exit_code != 0
    assert sorted(_grants(app)) == [(clerk.admin, clerk.hospital)]
    assert outsider_id not in [t for t, _ in _grants(app)]


def test_a_grant_racing_the_accounts_unit_change_leaves_no_grant_of_the_old_unit(
    live_app, monkeypatch
):
    """The operator grants unit A while the trainee moves to B in 个人信息: whichever commits
    first, the account does not end up administering A while working at B."""
    import threading

    from wxapp.reports import access

    with live_app.app_context():
        a, b = make_unit(name="甲单位"), make_unit(name="乙单位")
        trainee = make_trainee(name="人事干事", unit=a)
        db.session.commit()
        tid, phone, a_id, b_id = trainee.id, trainee.phone, a.id, b.id

    checked, moved = threading.Event(), []
    real_check = access.check_grantable

    def check_then_linger(*args):
        real_check(*args)
        checked.set()
        moved_in_time = threading.Event()
        moved.append(moved_in_time)
        moved_in_time.wait(1.0)  # the move runs meanwhile (or waits for this grant)

    monkeypatch.setattr(access, "check_grantable", check_then_linger)

    def move():
        checked.wait(10)
        client = live_app.test_client()
        reply = client.post("/api/login", json={"username": phone, "password": PASSWORD})
        assert reply.status_code == 200
        assert client.patch("/api/me/profile", json={"unit_id": b_id}).status_code == 200
        moved[0].set()

    mover = threading.Thread(target=move)
    mover.start()
    with live_app.app_context():
        access.grant_unit_admin(phone, a_id, live_app.extensions["clock"].now())
    mover.join(20)

    with live_app.app_context():
        grants = db.session.execute(
            sa.select(UnitAdmin.unit_id).where(UnitAdmin.trainee_id == tid)
        ).scalars()
        assert a_id not in list(grants)


def test_a_correction_or_a_profile_change_of_kilobytes_is_refused_unread(client, clerk):
    """Both take a few short fields; a body of kilobytes is 413 before it is parsed."""
    big = {"name": "同事甲", "reason": "理" * 3000}
    reply = client.post(
        f"/api/units/{clerk.hospital}/trainees/{clerk.colleague}/identity", json=big
    )
    assert reply.status_code == 413
    assert (
        client.patch("/api/me/profile", json={"archive_district": "县" * 3000}).status_code == 413
    )


def test_a_correction_tells_whether_an_id_number_has_an_account_only_when_otherwise_whole(
    app, client, clerk
):
    """A clerk may not probe ID numbers through 更正: an ID number that is no typo of the
    colleague's, or a correction without its reason, is refused the same way whether the
    number has an account or not; only a whole correction learns it is taken."""
    from tests.factories import make_id_number

    with app.app_context():
        registered = make_trainee(name="外人")
        db.session.commit()
        taken, colleague_id = registered.id_number, _id_number_of(clerk.colleague)
    free = make_id_number(987_654)
    url = f"/api/units/{clerk.hospital}/trainees/{clerk.colleague}/identity"

    def answer(body):
        reply = client.post(url, json=body)
        return reply.status_code, reply.get_json()["error"]

    assert answer({"id_number": taken}) == answer({"id_number": free})  # no reason
    with_reason = {"reason": "身份证号码录入有误"}
    assert answer({"id_number": taken, **with_reason}) == answer({"id_number": free, **with_reason})

    # A typo of the colleague's own number (one of the last digits) that is someone's.
    near = colleague_id[:14] + ("1" if colleague_id[14] != "1" else "2") + colleague_id[15:17]
    near += _check_char(near)
    with app.app_context():
        owner = make_trainee(name="近号人")
        owner.id_number = near
        db.session.commit()
    assert answer({"id_number": near, **with_reason}) == (409, "id_number_taken")


def test_a_clerk_sending_many_corrections_is_slowed(client, clerk):
    url = f"/api/units/{clerk.hospital}/trainees/{clerk.colleague}/identity"
    codes = [client.post(url, json={"name": "同事"}).status_code for _ in range(21)]
    assert codes[:20] == [422] * 20 and codes[20] == 429


def _id_number_of(trainee_id: int) -> str:
    from models import Trainee

    return db.session.get(Trainee, trainee_id).id_number


def _check_char(first17: str) -> str:
    from wxapp.accounts.idnumbers import check_char

    return check_char(first17)


def test_the_units_report_gives_its_administrator_no_phone_numbers(app, client, clerk):
    """Anyone can choose the unit in 个人信息: its administrator must not collect their
    phone numbers from the report (nor from the staff list)."""
    with app.app_context():
        stranger = make_trainee(name="路人")
        stranger.unit_id = clerk.hospital
        db.session.commit()
        phone = stranger.phone
    report = client.get(f"/api/units/{clerk.hospital}/report?year=2025")
    assert report.status_code == 200 and "路人" in report.get_data(as_text=True)
    assert phone not in report.get_data(as_text=True)
    assert all("phone" not in row for row in report.get_json()["trainees"])
    assert phone not in client.get(f"/api/units/{clerk.hospital}/staff?year=2025").get_data(
        as_text=True
    )
