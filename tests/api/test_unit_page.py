"""The unit page's API: the 应训未训 list with its filters and counts, the xlsx download
carrying the same filters, and 一键提醒 through the outbox to the sandbox's inbox (once a
week per trainee)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import Outbox, Trainee, Unit, UnitReminder, db
from tests.factories import (
    make_binding,
    make_enrollment,
    make_plan,
    make_trainee,
    make_unit,
    make_unit_admin,
    sign_in,
)
from tests.integration.test_spreadsheet_formulas import HYPERLINK, assert_all_text, cells
from wxapp.sandbox import oa_state

NOW = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)
# name: (公需 done, 专业 done, bound and following)
STAFF = {
    "甲达标": ("30", "68", True),
    "乙学习中": ("10", None, True),
    "丙未开始": (None, None, True),
    "丁专业不足": ("30", "20", True),
    "戊未关注": (None, None, False),
}


def seed(app) -> SimpleNamespace:
    with app.app_context():
        unit = make_unit(name="垫江县人民医院")
        other = make_unit(name="垫江县中学")
        public = make_plan(kind="public", required_hours=30)
        specialist = make_plan(kind="specialist", required_hours=60)
        openids = {}
        for name, (pub, spec, bound) in STAFF.items():
            t = make_trainee(name=name, unit=unit)
            if pub:
                make_enrollment(t, public, hours=pub)
            if spec:
                make_enrollment(t, specialist, hours=spec)
            openids[name] = make_binding(t, following=bound).openid
        admin = make_trainee(name="管理员", unit=other)
        make_unit_admin(admin, unit)
        other_admin = make_trainee(name="别家管理员", unit=other)
        make_unit_admin(other_admin, other)
        plain = make_trainee(name="普通学员", unit=unit)
        db.session.commit()
        return SimpleNamespace(unit=unit.id, other=other.id, admin=admin.id,
                               other_admin=other_admin.id, plain=plain.id, openids=openids)  # fmt: skip


@pytest.fixture
def page(live_server):
    app = live_server.app
    app.extensions["clock"].set(NOW)
    data = seed(app)
    client = app.test_client()
    sign_in(client, data.admin)
    return SimpleNamespace(app=app, client=client, **vars(data))


def names(reply) -> list[str]:
    return [row["name"] for row in reply.get_json()["items"]]


def test_filters_and_counts(page):
    url = f"/api/units/{page.unit}/staff?year=2025"
    everyone = page.client.get(url).get_json()
    # 普通学员 also belongs to the unit and has learned nothing.
    assert everyone["counts"] == {"all": 6, "not_started": 3, "learning": 2, "unmet": 5, "met": 1}
    assert everyone["filter_text"] == "2025年度 · 全部科目 · 全部"
    assert names(page.client.get(url + "&state=met")) == ["甲达标"]
    assert set(names(page.client.get(url + "&state=learning"))) == {"乙学习中", "丁专业不足"}
    assert len(names(page.client.get(url + "&state=unmet"))) == 5
    public = page.client.get(url + "&kind=public&state=met").get_json()
    assert set(names_of(public)) == {"甲达标", "丁专业不足"}
    assert public["counts"]["met"] == 2 and public["counts"]["unmet"] == 4
    row = next(r for r in everyone["items"] if r["name"] == "丁专业不足")
    assert row["state_label"] == "学习中" and row["shortfall"] == "还差专业40学时"


def names_of(data) -> list[str]:
    return [row["name"] for row in data["items"]]


def test_the_download_carries_the_filters(page):
    reply = page.client.get(
        f"/api/units/{page.unit}/staff.xlsx?year=2025&kind=specialist&state=unmet"
    )
    assert reply.status_code == 200 and reply.mimetype.endswith("spreadsheetml.sheet")
    rows = list(
        load_workbook(BytesIO(reply.data), read_only=True).active.iter_rows(values_only=True)
    )
    assert rows[1][0] == "筛选：2025年度 · 专业科目 · 未达标"
    at = next(i for i, r in enumerate(rows) if r[0] == "姓名")
    listed = {r[0]: r for r in rows[at + 1 :]}
    assert set(listed) == {"乙学习中", "丙未开始", "丁专业不足", "戊未关注", "普通学员"}
    header = rows[at]
    assert header[6:9] == ("年度计入学时", "状态", "还差")
    assert listed["丙未开始"][6:8] == (0, "未开始")


def test_remind_once_a_week(page):
    url = f"/api/units/{page.unit}/reminders"
    first = page.client.post(url, json={"year": 2025}).get_json()
    # 5 未达标: 乙 丙 丁 follow; 戊 does not; 普通学员 has no binding.
    assert (first["sent"], first["skipped_recent"], first["skipped_unfollowed"]) == (3, 0, 2)
    assert first["message"].startswith("已向 3 人发送学习提醒")
    result = page.app.test_cli_runner().invoke(args=["notify", "worker", "--once"])
    assert "发送 3" in result.output, result.output
    r = page.app.extensions["redis"]
    for name in ("乙学习中", "丙未开始", "丁专业不足"):
        (message,) = oa_state.inbox(r, page.openids[name])
        values = [v["value"] for v in message["data"].values()]
        assert "垫江县人民医院" in values and "请尽快完成2025年度学习" in values
    (ding,) = oa_state.inbox(r, page.openids["丁专业不足"])
    assert "还差专业40学时" in [v["value"] for v in ding["data"].values()]
    assert oa_state.inbox(r, page.openids["甲达标"]) == []

    page.app.extensions["clock"].advance(timedelta(days=6).total_seconds())
    second = page.client.post(url, json={"year": 2025}).get_json()
    assert (second["sent"], second["skipped_recent"]) == (0, 3)
    assert "7 天内已提醒过，本次未重复发送" in second["message"]
    listed = page.client.get(f"/api/units/{page.unit}/staff?year=2025&state=unmet").get_json()
    assert {r["name"] for r in listed["items"] if r["reminded_at"]} == {
        "乙学习中",
        "丙未开始",
        "丁专业不足",
    }

    page.app.extensions["clock"].advance(timedelta(days=1, seconds=1).total_seconds())
    third = page.client.post(url, json={"year": 2025, "kind": "public"}).get_json()
    assert third["sent"] == 2  # 公需 only: 乙 and 丙 (丁 has met 公需)


@pytest.mark.parametrize("year", [2100, 2023, "2025"])
def test_a_reminder_is_for_this_year_or_last_and_names_the_field(page, year):
    url = f"/api/units/{page.unit}/reminders"
    refused = page.client.post(url, json={"year": year})
    assert refused.status_code == 422 and refused.get_json()["field"] == "year"
    assert "年度" in refused.get_json()["message"]
    # Nothing was sent, and nobody's weekly reminder was spent: 2025's goes out in full.
    assert page.client.post(url, json={"year": 2025}).get_json()["sent"] == 3


def test_the_list_says_which_years_a_reminder_is_for(page):
    """The page greys 一键提醒 out for a year the reminder would refuse (it is 2025 here)."""
    can = {
        year: page.client.get(f"/api/units/{page.unit}/staff?year={year}").get_json()["can_remind"]
        for year in (2025, 2024, 2023)
    }
    assert can == {2025: True, 2024: True, 2023: False}


@pytest.mark.parametrize("who", ["other_admin", "plain"])
def test_only_the_units_administrator(page, who):
    client = page.app.test_client()
    sign_in(client, getattr(page, who))
    assert client.get(f"/api/units/{page.unit}/staff").status_code == 403
    assert client.get(f"/api/units/{page.unit}/staff.xlsx").status_code == 403
    assert client.post(f"/api/units/{page.unit}/reminders", json={}).status_code == 403


def test_bad_filters_are_named(page):
    reply = page.client.get(f"/api/units/{page.unit}/staff?kind=both")
    assert reply.status_code == 422 and reply.get_json()["field"] == "kind"
    reply = page.client.get(f"/api/units/{page.unit}/staff?state=x")
    assert reply.status_code == 422 and "未开始" in reply.get_json()["message"]
    reply = page.client.post(f"/api/units/{page.unit}/reminders", json={"year": "2025"})
    assert reply.status_code == 422 and reply.get_json()["field"] == "year"


def test_my_unit(page):
    assert page.client.get("/api/me/unit").get_json()["name"] == "垫江县人民医院"
    client = page.app.test_client()
    sign_in(client, page.plain)
    assert client.get("/api/me/unit").status_code == 403


def test_a_formula_or_markup_name_stays_text_in_the_list_and_the_download(page):
    """Names are typed by people: a formula stays a quoted text cell in the download, and
    markup comes back as plain JSON text (the page builds text nodes, never HTML)."""
    markup = "<img src=x onerror=alert(1)>"
    with page.app.app_context():
        unit = db.session.get(Unit, page.unit)
        make_trainee(name=HYPERLINK, unit=unit)
        make_trainee(name=markup, unit=unit)
        db.session.commit()
    listed = page.client.get(f"/api/units/{page.unit}/staff?year=2025").get_json()
    names = {row["name"] for row in listed["items"]}
    assert {HYPERLINK, markup} <= names
    reply = page.client.get(f"/api/units/{page.unit}/staff.xlsx?year=2025")
    assert reply.status_code == 200
    assert_all_text(cells(reply.data), [HYPERLINK])


def test_two_presses_at_once_remind_each_trainee_once(page):
    """A double tap, or two administrators of one unit pressing together: the presses are
    serialised, so each untrained trainee gets one reminder, not two."""
    import threading

    url = f"/api/units/{page.unit}/reminders"
    clients = [page.client, page.app.test_client()]
    sign_in(clients[1], page.admin)
    start = threading.Barrier(2)
    results: list[dict] = []

    def press(client) -> None:
        start.wait()
        results.append(client.post(url, json={"year": 2025}).get_json())

    threads = [threading.Thread(target=press, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["sent"] for r in results) == [0, 3]
    assert sorted(r["skipped_recent"] for r in results) == [0, 3]
    page.app.test_cli_runner().invoke(args=["notify", "worker", "--once"])
    r = page.app.extensions["redis"]
    for name in ("乙学习中", "丙未开始", "丁专业不足"):
        assert len(oa_state.inbox(r, page.openids[name])) == 1


def test_someone_who_moves_away_leaves_the_list_but_shows_as_moved(page):
    """Changing unit takes a trainee off the unit's 应训未训 list: the clerk sees who left and
    where to, on the page and in the download, so no one escapes the list unseen."""
    with page.app.app_context():
        mover = db.session.execute(
            db.select(Trainee).where(Trainee.name == "丙未开始")
        ).scalar_one()
        mover_id = mover.id
    own = page.app.test_client()
    sign_in(own, mover_id)
    moved = own.patch("/api/me/profile", json={"unit_id": page.other})
    assert moved.status_code == 200, moved.get_json()

    listing = page.client.get(f"/api/units/{page.unit}/staff?year=2025").get_json()
    assert "丙未开始" not in names_of(listing)
    [left] = listing["movements"]["left"]
    assert (left["name"], left["to_unit"], left["date"]) == (
        "丙未开始",
        "垫江县中学",
        "2025年6月2日",
    )
    assert listing["movements"]["joined"] == []

    reply = page.client.get(f"/api/units/{page.unit}/staff.xlsx?year=2025")
    sheet = load_workbook(BytesIO(reply.data), read_only=True)["2025年度人员变动"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][:2] == ("调出", "丙未开始") and rows[2][4] == "新单位：垫江县中学"


def test_a_large_unit_is_reminded_in_a_few_statements(app):
    """Two multi-row inserts for the whole unit, not two statements per person, under the
    unit's row lock: a unit of 20,000 is reminded within a request."""
    app.extensions["clock"].set(NOW)
    staff = 400
    with app.app_context():
        unit = make_unit(name="重庆市某大医院")
        admin = make_trainee(name="人事专员", unit=unit)
        make_unit_admin(admin, unit)
        for _ in range(staff):
            make_binding(make_trainee(unit=unit))
        db.session.commit()
        unit_id, admin_id, engine = unit.id, admin.id, db.engine
    statements = []
    client = app.test_client()
    sign_in(client, admin_id)
    counting = lambda *_: statements.append(1)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", counting)
    try:
        reply = client.post(f"/api/units/{unit_id}/reminders", json={"year": 2025})
    finally:
        sa.event.remove(engine, "before_cursor_execute", counting)
    assert reply.status_code == 200 and reply.get_json()["sent"] == staff
    assert len(statements) < 30, len(statements)
    with app.app_context():
        reminders = db.session.execute(
            sa.select(UnitReminder.trainee_id, UnitReminder.id).where(
                UnitReminder.unit_id == unit_id
            )
        ).all()
        pushed = db.session.execute(
            sa.select(Outbox.trainee_id, Outbox.payload).where(Outbox.event_type == "unit_reminded")
        ).all()
    assert len(reminders) == len(pushed) == staff
    # Each push names its own trainee's reminder.
    assert {(t, p["reminder_id"]) for t, p in pushed} == set(reminders)
