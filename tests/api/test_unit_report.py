"""The unit report (应训未训): hand-computed totals, the unit administrator's scope, the xlsx
file from the CLI, the per-区县 summary, and one grouped query however many trainees."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import db
from tests.factories import make_enrollment, make_plan, make_trainee, make_unit, make_unit_admin
from wxapp.reports import districts
from wxapp.reports import unit as unit_reports

# name: (公需 done in 2025, 专业 done in 2025) — above, at and below the requirement (30/60).
UNIT_A = {
    "甲-超额": ("32", "61.5"),
    "乙-恰好": ("30", "60"),
    "丙-专业差半学时": ("30", "59.5"),
    "丁-公需不足": ("29", "90"),
    "戊-未学习": (None, None),
}


@pytest.fixture
def seeded(app):
    """Unit A (垫江县) as above, unit B (垫江县, one trainee met), unit C (沙坪坝区, one unmet),
    a trainee without a unit whose 档案所在区县 is 沙坪坝区, and 2024 hours that must not count."""
    with app.app_context():
        a = make_unit(name="垫江县人民医院", district="垫江县")
        b = make_unit(name="垫江县中学", district="垫江县")
        c = make_unit(name="重庆市第一中学", district="沙坪坝区")
        public = make_plan(kind="public", required_hours=30)
        specialist = make_plan(kind="specialist", required_hours=60)
        specialist_extra = make_plan(kind="specialist", required_hours=30)
        old = make_plan(year=2024, kind="specialist", required_hours=60)
        ids = {}
        for name, (pub, spec) in UNIT_A.items():
            t = make_trainee(name=name, unit=a)
            ids[name] = t.id
            if pub is not None:
                make_enrollment(t, public, hours=pub)
            if spec is not None:
                # 丁 has 90 专业 学时 from two plans: the report sums a kind's plans.
                if spec == "90":
                    make_enrollment(t, specialist, hours="60")
                    make_enrollment(t, specialist_extra, hours="30")
                else:
                    make_enrollment(t, specialist, hours=spec)
            make_enrollment(t, old, hours="60")  # 2024: never counted in 2025
        admin_a = make_trainee(name="甲单位管理员", unit=b)  # works at B, administers A
        make_unit_admin(admin_a, a)
        b_met = make_trainee(name="乙单位达标", unit=b)
        make_enrollment(b_met, public, hours="30")
        make_enrollment(b_met, specialist, hours="60")
        make_enrollment(admin_a, public, hours="30")
        make_enrollment(admin_a, specialist, hours="60")
        c_unmet = make_trainee(name="丙单位未达标", unit=c)
        make_enrollment(c_unmet, public, hours="30")
        no_unit = make_trainee(name="无单位")
        no_unit.archive_district = "沙坪坝区"
        plain_trainee = make_trainee(name="普通学员", unit=a)
        db.session.commit()
        return SimpleNamespace(
            a=a.id,
            b=b.id,
            c=c.id,
            ids=ids,
            admin=admin_a.phone,
            plain=plain_trainee.phone,
            plain_id=plain_trainee.id,
        )


def login(client, phone):
    assert (
        client.post("/api/login", json={"username": phone, "password": "Passw0rd!"}).status_code
        == 200
    )


def test_unit_report_matches_hand_computed_totals(client, seeded):
    login(client, seeded.admin)
    response = client.get(f"/api/units/{seeded.a}/report?year=2025")
    assert response.status_code == 200
    body = response.get_json()
    assert body["unit"] == {"id": seeded.a, "name": "垫江县人民医院", "district": "垫江县"}
    rows = {r["name"]: r for r in body["trainees"]}
    expected = {
        "甲-超额": (32, 61.5, "达标"),
        "乙-恰好": (30, 60, "达标"),
        "丙-专业差半学时": (30, 59.5, "未达标"),
        "丁-公需不足": (29, 90, "未达标"),
        "戊-未学习": (0, 0, "未达标"),
        "普通学员": (0, 0, "未达标"),
    }
    assert {n: (r["public_done"], r["specialist_done"], r["verdict"]) for n, r in rows.items()} == (
        expected
    )
    assert all(r["public_required"] == 30 and r["specialist_required"] == 60 for r in rows.values())
    assert body["summary"] == {"trainees": 6, "met": 2, "unmet": 4, "joined": 0, "left": 0}
    assert body["movements"] == {"joined": [], "left": []}
    assert all("********" in r["id_number_masked"] for r in rows.values())


def test_a_unit_administrator_cannot_read_another_units_report(client, seeded):
    login(client, seeded.admin)
    for other in (seeded.b, seeded.c, 999999):
        response = client.get(f"/api/units/{other}/report?year=2025")
        assert response.status_code == 403
        assert response.get_json()["error"] == "other_unit"


def test_a_trainee_without_the_role_is_refused(client, seeded):
    login(client, seeded.plain)
    response = client.get(f"/api/units/{seeded.a}/report?year=2025")
    assert response.status_code == 403
    assert response.get_json()["error"] == "not_unit_admin"
    client.post("/api/logout")
    assert client.get(f"/api/units/{seeded.a}/report").status_code == 401


def test_bad_year_is_named(client, seeded):
    login(client, seeded.admin)
    response = client.get(f"/api/units/{seeded.a}/report?year=abc")
    assert response.status_code == 422 and response.get_json()["field"] == "year"


def test_cli_writes_the_unit_report_as_xlsx(runner, seeded, tmp_path):
    out = tmp_path / "report.xlsx"
    result = runner.invoke(
        args=["report", "unit", "--unit", str(seeded.a), "--year", "2025", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "学员 6 人，达标 2 人，未达标 4 人" in result.output
    wb = load_workbook(out, read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    wb.close()
    header = rows.index(
        ("姓名", "身份证号码", "手机号码", "公需科目已完成学时", "公需科目要求学时")
        + ("专业科目已完成学时", "专业科目要求学时", "是否达标", "年度计入学时", "还差")
    )
    table = {r[0]: (r[3], r[5], r[7], r[8], r[9]) for r in rows[header + 1 :]}
    assert table["乙-恰好"] == (30, 60, "达标", 90, None)
    assert table["丙-专业差半学时"] == (30, 59.5, "未达标", 89.5, "还差 0.5 专业学时")
    assert len(table) == 6

    missing = runner.invoke(args=["report", "unit", "--unit", "999999", "--out", str(out)])
    assert missing.exit_code != 0 and "单位不存在" in missing.output


def test_district_summary_counts_units_and_trainees_not_meeting_the_year(app, runner, seeded):
    with app.app_context():
        rows = {r["district"]: r for r in districts.district_summary(2025)}
    assert rows["垫江县"] == {
        "district": "垫江县",
        "units": 2,
        "units_unmet": 1,  # A has unmet trainees; B's two trainees both met
        "trainees": 8,
        "trainees_unmet": 4,
    }
    assert rows["沙坪坝区"] == {
        "district": "沙坪坝区",
        "units": 1,
        "units_unmet": 1,
        "trainees": 2,  # 丙单位未达标 at C, and 无单位 by 档案所在区县
        "trainees_unmet": 2,
    }
    result = runner.invoke(args=["report", "districts", "--year", "2025"])
    assert result.exit_code == 0 and "垫江县\t2\t1\t8\t4" in result.output


def test_cli_grants_the_unit_admin_role(client, runner, seeded):
    login(client, seeded.plain)
    assert client.get(f"/api/units/{seeded.a}/report").status_code == 403
    result = runner.invoke(args=["unit-admin", "grant", seeded.plain, "--unit", str(seeded.a)])
    assert result.exit_code == 0, result.output
    assert client.get(f"/api/units/{seeded.a}/report?year=2025").status_code == 200
    assert runner.invoke(args=["unit-admin", "revoke", seeded.plain]).exit_code == 0
    assert client.get(f"/api/units/{seeded.a}/report").status_code == 403


def test_the_report_is_one_grouped_query_however_many_trainees(app, seeded):
    with app.app_context():
        unit = make_unit(name="大单位", district="万州区")
        plan = make_plan(kind="public", required_hours=30)
        for i in range(40):
            t = make_trainee(name=f"学员{i}", unit=unit)
            make_enrollment(t, plan, hours=str(i))
        db.session.flush()
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        engine = db.session.get_bind()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            report = unit_reports.unit_report(unit.id, 2025)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert report["summary"]["trainees"] == 40
    # At most the unit (unless already loaded), one grouped query for all trainees and one
    # for the year's movements into and out of the unit.
    assert len(statements) <= 3
    assert len([s for s in statements if "FROM trainees" in s]) == 1
