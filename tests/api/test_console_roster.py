"""What the 管理员 meets in the console's 导入单位名单 and 单位报表 pages: a roster checked
before anything is written, every bad row named with its row, field and reason, the import
itself (the command's own code) on confirmation, audited; limits with a clear message;
the errors file and the unit report read back as spreadsheets whose cells stay text."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from models import Operator, OperatorAudit, Trainee, Unit, db
from tests.console_helpers import console_app, create_operator, csrf_of, sign_in
from tests.factories import (
    make_enrollment,
    make_plan,
    make_trainee,
    make_unit,
    roster_person,
)
from wxapp.accounts import roster_import
from wxapp.accounts.roster_template import write_roster
from wxapp.console import admin_roster

DISTRICT, UNIT = "垫江县", "垫江县人民医院"
FIRST_ROW = 5  # write_roster: title, 区县, 单位全称, header, then the first trainee
PAGE = "/admin/roster_import/"


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _signed_in(app, login="boss", role="admin"):
    secret = create_operator(app, login, role)
    client = app.test_client()
    sign_in(app, client, login, secret)
    return client


def _roster(tmp_path: Path, rows, district=DISTRICT, unit=UNIT) -> bytes:
    path = tmp_path / "名单.xlsx"
    write_roster(path, district, unit, rows)
    return path.read_bytes()


def _people(count: int, start: int = 810_000) -> list[dict[str, str]]:
    return [roster_person(start + i) for i in range(count)]


def _upload(client, data: bytes, filename: str = "垫江县人民医院名单.xlsx", **fields):
    """The upload form posted as a browser does (the body encoded here, in memory: the test
    client would spool a large one to a file it never closes when the app refuses it)."""
    if "csrf_token" not in fields:
        fields["csrf_token"] = csrf_of(client.get(PAGE).text)
    boundary, body = encode_multipart(
        {**fields, "file": FileStorage(io.BytesIO(data), filename=filename)}
    )
    return client.post(PAGE, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _confirm(client, preview):
    token = re.search(r'name="token" value="([^"]+)"', preview.text)
    assert token, "no confirm button on the preview"
    return client.post(
        f"{PAGE}confirm",
        data={"csrf_token": csrf_of(preview.text), "token": token.group(1)},
    )


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|div|table)>', html, re.S)
    assert found, f"no #{element_id} on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def _bad_rows(html: str) -> list[tuple[str, str, str, str]]:
    """The bad-row table as (行号, 字段, 填写的内容, 问题)."""
    body = html.split('id="roster-errors"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", body)
    return [tuple(cell.strip() for cell in row) for row in rows]


def _count(app, model) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _imports(app) -> list[OperatorAudit]:
    with app.app_context():
        rows = (
            db.session.execute(
                sa.select(OperatorAudit)
                .where(OperatorAudit.action == "trainees.import")
                .order_by(OperatorAudit.id)
            )
            .scalars()
            .all()
        )
        for row in rows:
            _ = row.operator  # loaded before the session ends
            db.session.expunge(row)
        return rows


# --- the import ----------------------------------------------------------------------------


def test_a_clean_roster_is_checked_first_and_imported_on_confirmation(capp, tmp_path):
    people = _people(3)
    client = _signed_in(capp)

    preview = _upload(client, _roster(tmp_path, people))
    assert preview.status_code == 200
    assert "检查结果（尚未导入）" in preview.text
    # A console page like the others: the strict policy, no inline handler, not cached.
    assert "'nonce-" in preview.headers["Content-Security-Policy"]
    assert " onclick=" not in preview.text and "javascript:" not in preview.text
    assert preview.headers["Cache-Control"] == "no-store"
    assert "尚未登记，确认导入时新建" in preview.text
    assert _text(preview.text, "roster-counts") == (
        "名单共 3 人：将新注册 3 人；此前已注册且资料一致 0 人（跳过）；有误 0 行（不导入）。"
    )
    # Checking wrote nothing: no trainee, no unit, no audit row.
    assert (_count(capp, Trainee), _count(capp, Unit), _imports(capp)) == (0, 0, [])

    done = _confirm(client, preview)
    assert done.status_code == 200
    assert _text(done.text, "roster-counts") == (
        f"{DISTRICT} {UNIT}：名单 3 人，新注册 3 人，更新 0 人（导入不修改已注册学员的资料），"
        "跳过 0 行（此前已注册且资料一致 0 人，有误 0 行）。"
    )
    assert f"已新建单位：{DISTRICT} {UNIT}" in done.text
    with capp.app_context():
        unit = db.session.execute(sa.select(Unit).where(Unit.name == UNIT)).scalar_one()
        trainees = db.session.execute(sa.select(Trainee).order_by(Trainee.id)).scalars().all()
        assert [t.id_number for t in trainees] == [p["id_number"] for p in people]
        assert {t.unit_id for t in trainees} == {unit.id}
        # The command's rule: initial password by rule, to be changed at first login.
        assert all(t.password_hash is None and t.must_change_password for t in trainees)
        unit_id = unit.id

    [entry] = _imports(capp)
    assert entry.operator.login == "boss"
    assert entry.at == capp.extensions["clock"].now()
    assert entry.target_type == "units" and entry.target_id == str(unit_id)
    assert entry.after["file"] == "垫江县人民医院名单.xlsx"
    assert (entry.after["created"], entry.after["unchanged"], entry.after["bad_rows"]) == (3, 0, [])
    assert entry.after["unit_created"] is True
    log = client.get("/admin/audit_log/").text
    assert "导入单位名单（批量注册学员）" in log


def test_every_bad_row_is_listed_by_row_field_and_reason_and_only_good_rows_import(capp, tmp_path):
    people = _people(6)
    people[1] = {**people[1], "name": "张 三"}
    people[2] = {**people[2], "phone": "2" + people[2]["phone"][1:]}
    people[3] = {**people[3], "gender": "女" if people[3]["gender"] == "男" else "男"}
    people[4] = {**people[4], "id_number": people[0]["id_number"], "gender": people[0]["gender"]}
    client = _signed_in(capp)

    preview = _upload(client, _roster(tmp_path, people))
    assert _bad_rows(preview.text) == [
        (f"第 {FIRST_ROW + 1} 行", "姓名", "张 三", "姓名中间不能有空格"),
        (
            f"第 {FIRST_ROW + 2} 行",
            "手机号码",
            people[2]["phone"],
            "手机号码应为 11 位中国大陆手机号",
        ),
        (
            f"第 {FIRST_ROW + 3} 行",
            "性别",
            people[3]["gender"],
            "性别与身份证号码不符（第 17 位奇数为男、偶数为女）",
        ),
        (
            f"第 {FIRST_ROW + 4} 行",
            "身份证号码",
            people[0]["id_number"],
            f"身份证号码与第 {FIRST_ROW} 行重复",
        ),
    ]
    assert "将新注册 2 人" in preview.text and "有误 4 行（不导入）" in preview.text
    assert "有 4 行有误，不会导入。确定只导入其余的 2 人？" in preview.text
    assert _count(capp, Trainee) == 0 and _count(capp, Unit) == 0

    # As `flask trainees import` does: the good rows are registered, the bad ones are not.
    done = _confirm(client, preview)
    assert "新注册 2 人" in done.text and "有误 4 行" in done.text
    assert len(_bad_rows(done.text)) == 4
    with capp.app_context():
        imported = set(db.session.execute(sa.select(Trainee.id_number)).scalars())
    assert imported == {people[0]["id_number"], people[5]["id_number"]}
    [entry] = _imports(capp)
    assert entry.after["bad_rows"] == [FIRST_ROW + n for n in (1, 2, 3, 4)]


def test_a_roster_already_registered_is_skipped_and_a_changed_person_is_named(capp, tmp_path):
    people = _people(3)
    client = _signed_in(capp)
    _confirm(client, _upload(client, _roster(tmp_path, people)))

    again = _upload(client, _roster(tmp_path, people))
    assert "此前已注册且资料一致 3 人（跳过）" in again.text
    assert "没有需要新注册的学员，无需导入" in again.text
    assert 'id="roster-confirm"' not in again.text

    moved = [people[0], {**people[1], "phone": "13900000001"}, people[2]]
    checked = _upload(client, _roster(tmp_path, moved))
    assert _bad_rows(checked.text) == [
        (
            f"第 {FIRST_ROW + 1} 行",
            "身份证号码",
            people[1]["id_number"],
            "该身份证号码已注册，手机号码与已登记的不一致",
        )
    ]
    with capp.app_context():
        phone = db.session.execute(
            sa.select(Trainee.phone).where(Trainee.id_number == people[1]["id_number"])
        ).scalar_one()
    assert phone == people[1]["phone"]  # never changed by an import


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "empty.xlsx", "文件是空的"),
        (b"name,id\n", "roster.csv", "须为 .xlsx 格式（旧的 .xls 请先另存为 .xlsx）"),
        ("rows", "no-header.xlsx", "未找到表头行"),
        ("district", "bad-district.xlsx", "区县“垫江”不是重庆市的区县"),
    ],
)
def test_a_file_that_is_no_roster_is_refused_with_its_reason(
    capp, tmp_path, content, filename, message
):
    if content == "rows":  # an xlsx without the roster's header row
        path = tmp_path / "x.xlsx"
        from openpyxl import Workbook

        book = Workbook()
        book.active.append(["甲", "乙"])
        book.save(path)
        content = path.read_bytes()
    elif content == "district":
        content = _roster(tmp_path, _people(2), district="垫江")
    client = _signed_in(capp)
    reply = _upload(client, content, filename)
    assert reply.status_code == 200
    problem = _text(reply.text, "roster-problem")
    assert problem.startswith(f"文件“{filename}”：") and message in problem
    assert 'id="roster-upload"' in reply.text  # the form again, to choose another file
    assert (_count(capp, Trainee), _count(capp, Unit), _imports(capp)) == (0, 0, [])


def test_a_roster_over_the_row_limit_is_refused(capp, tmp_path, monkeypatch):
    monkeypatch.setattr(admin_roster, "MAX_ROWS", 40)
    monkeypatch.setattr(admin_roster, "SHEET_SLACK", 5)
    client = _signed_in(capp)
    over = _upload(client, _roster(tmp_path, _people(41)))
    assert "名单超过 40 行，网页导入每次最多 40 人" in _text(over.text, "roster-problem")
    assert _count(capp, Trainee) == 0
    assert "将新注册 40 人" in _upload(client, _roster(tmp_path, _people(40))).text


def test_a_file_over_the_size_limit_is_refused_with_the_limit(capp, tmp_path):
    client = _signed_in(capp)
    big = _upload(client, b"x" * (admin_roster.MAX_BYTES + 1), "huge.xlsx")
    assert "网页导入的名单最大 1.0 MB" in _text(big.text, "roster-problem")
    # Past what the app reads at all (2 MB): the same page and message, not a bare 413.
    huge = _upload(client, b"x" * (3 * 1024 * 1024), "huge.xlsx")
    assert huge.status_code == 413
    assert "网页导入的名单最大 1.0 MB" in huge.text and "未做任何更改" in huge.text
    assert _count(capp, Trainee) == 0


def test_an_xlsx_that_unpacks_to_gigabytes_is_not_read(capp):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (admin_roster.MAX_UNPACKED + 1))
    assert len(packed.getvalue()) < admin_roster.MAX_BYTES
    client = _signed_in(capp)
    reply = _upload(client, packed.getvalue(), "bomb.xlsx")
    assert "解压后超过" in _text(reply.text, "roster-problem")


def test_the_errors_file_keeps_formulas_as_text(capp, tmp_path):
    people = _people(3)
    people[1] = {**people[1], "name": '=HYPERLINK("http://evil.example","点我")'}
    people[2] = {**people[2], "gender": "M", "note": "@SUM(1+1)"}
    client = _signed_in(capp)
    preview = _upload(client, _roster(tmp_path, people))
    link = re.search(r'href="([^"]+)" id="roster-errors-file"', preview.text)
    assert link, "no errors-file link"
    reply = client.get(link.group(1))
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
    book = load_workbook(io.BytesIO(reply.data))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["行号", "序号", "姓名"] and "原因" in header
    by_row = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    name = by_row[FIRST_ROW + 1][2]
    assert name.value == '=HYPERLINK("http://evil.example","点我")'
    assert name.data_type == "s"  # text, not a live formula
    note = by_row[FIRST_ROW + 2][6]
    assert note.value == "@SUM(1+1)" and note.data_type == "s"
    assert "性别应填写“男”或“女”" in by_row[FIRST_ROW + 2][7].value


def test_html_in_the_file_or_its_name_is_shown_as_text(capp, tmp_path):
    unit = "<script>alert(1)</script>医院"
    people = _people(2)
    people[1] = {**people[1], "name": "<img src=x onerror=alert(1)>"}
    client = _signed_in(capp)
    page = _upload(client, _roster(tmp_path, people, unit=unit), "<svg onload=alert(2)>.xlsx")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "<img src=x" not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "<svg onload" not in page.text and "&lt;svg onload=alert(2)&gt;.xlsx" in page.text


def test_the_upload_name_never_becomes_a_path(capp, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    client = _signed_in(capp)
    page = _upload(client, _roster(tmp_path, _people(2)), "../../escaped.xlsx")
    assert "将新注册 2 人" in page.text
    assert "文件：escaped.xlsx" in page.text
    _confirm(client, page)
    assert list(scratch.iterdir()) == []  # nothing left behind
    assert not list(tmp_path.rglob("escaped*"))


def test_without_the_csrf_token_nothing_is_checked_or_imported(capp, tmp_path):
    client = _signed_in(capp)
    data = _roster(tmp_path, _people(2))
    refused = _upload(client, data, csrf_token="")
    assert refused.status_code == 400 and "页面已过期" in refused.text
    assert "检查结果（尚未导入）" not in refused.text
    preview = _upload(client, data)
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    assert client.post(f"{PAGE}confirm", data={"token": token}).status_code == 400
    assert (
        client.post(f"{PAGE}confirm", data={"token": token, "csrf_token": "x"}).status_code == 400
    )
    assert _count(capp, Trainee) == 0 and _imports(capp) == []


def test_a_confirmation_counts_once_and_only_for_the_operator_who_checked(capp, tmp_path):
    first = _signed_in(capp, "boss")
    preview = _upload(first, _roster(tmp_path, _people(2)))
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)

    other = _signed_in(capp, "boss2")
    stolen = other.post(
        f"{PAGE}confirm",
        data={"csrf_token": csrf_of(other.get(PAGE).text), "token": token},
        follow_redirects=True,
    )
    assert "这份名单已经导入，或上传已超过 30 分钟：请重新上传" in stolen.text
    assert _count(capp, Trainee) == 0

    assert "新注册 2 人" in _confirm(first, preview).text
    twice = first.post(
        f"{PAGE}confirm",
        data={"csrf_token": csrf_of(preview.text), "token": token},
        follow_redirects=True,
    )
    assert "这份名单已经导入" in twice.text
    assert _count(capp, Trainee) == 2 and len(_imports(capp)) == 1


def test_an_import_that_fails_midway_writes_nothing(capp, tmp_path, monkeypatch):
    """Someone registers one of the roster's people between the check and the insert: the
    whole import (unit, trainees, audit row) is rolled back, and the page says so."""
    people = _people(3)
    client = _signed_in(capp)
    preview = _upload(client, _roster(tmp_path, people))
    with capp.app_context():
        taken = make_trainee(name="抢先注册")
        taken.id_number = people[2]["id_number"]
        db.session.commit()
    monkeypatch.setattr(roster_import, "_registered", lambda ids, phones: ({}, {}))
    failed = _confirm(client, preview)
    assert failed.status_code == 200
    assert "未导入任何学员：导入期间名单中的身份证号码或手机号码被其他操作注册" in failed.text
    assert _count(capp, Trainee) == 1 and _count(capp, Unit) == 0 and _imports(capp) == []

    # The upload is still there: 再次确认导入 checks it anew and imports the other two.
    monkeypatch.undo()
    assert "再次确认导入" in failed.text
    again = _confirm(client, failed)
    assert "新注册 2 人" in again.text and "有误 1 行" in again.text
    assert _count(capp, Trainee) == 3 and len(_imports(capp)) == 1
    done = _confirm(client, failed)  # the same button a second time: used up
    assert done.status_code == 302 and _count(capp, Trainee) == 3


def test_a_confirmation_while_the_same_upload_is_importing_waits(capp, tmp_path):
    """A second click (or tab) while the import runs is told to wait; nothing twice."""
    client = _signed_in(capp)
    preview = _upload(client, _roster(tmp_path, _people(2)))
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    with capp.app_context():
        operator = db.session.execute(sa.select(Operator)).scalar_one()
        lock = f"console:roster:{operator.id}:{token}:importing"
    redis = capp.extensions["redis"]
    redis.set(lock, "1")  # the first confirmation, still running
    waiting = client.post(
        f"{PAGE}confirm",
        data={"csrf_token": csrf_of(preview.text), "token": token},
        follow_redirects=True,
    )
    assert "这份名单正在导入，请稍候刷新页面查看结果" in waiting.text
    assert _count(capp, Trainee) == 0
    assert redis.get(lock) == "1"  # the running one's claim is not released by the other
    redis.delete(lock)
    assert "新注册 2 人" in _confirm(client, preview).text
    assert _count(capp, Trainee) == 2 and len(_imports(capp)) == 1


@pytest.mark.parametrize("role", ["support", "finance"])
def test_only_the_administrator_imports_rosters_and_downloads_unit_reports(capp, tmp_path, role):
    admin = _signed_in(capp, "boss")
    preview = _upload(admin, _roster(tmp_path, _people(2)))
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    with capp.app_context():
        unit_id = make_unit(name="垫江县中学").id
        db.session.commit()

    client = _signed_in(capp, f"op-{role}", role)
    home = client.get("/admin/")
    menu = home.text.split("</nav>")[0]
    assert "导入单位名单" not in menu and "单位报表" not in menu
    assert client.get(PAGE).status_code == 403
    csrf = csrf_of(home.text)
    assert _upload(client, _roster(tmp_path, _people(2)), csrf_token=csrf).status_code == 403
    assert (
        client.post(f"{PAGE}confirm", data={"csrf_token": csrf, "token": token}).status_code == 403
    )
    assert client.get(f"{PAGE}errors/{token}").status_code == 403
    too_big = _upload(client, b"x" * (3 * 1024 * 1024), csrf_token=csrf)
    assert too_big.status_code == 413 and "网页导入的名单" not in too_big.text
    assert client.get("/admin/unit_report/").status_code == 403
    assert client.get(f"/admin/unit_report/download?unit={unit_id}&year=2025").status_code == 403
    assert _count(capp, Trainee) == 0


# --- the unit report -----------------------------------------------------------------------


def _report_unit(app) -> int:
    with app.app_context():
        unit = make_unit(name='=HYPERLINK("http://evil.example","点我")', district="垫江县")
        make_unit(name="垫江县中学", district="垫江县")
        public = make_plan(kind="public", required_hours=30)
        specialist = make_plan(kind="specialist", required_hours=60)
        met = make_trainee(name="甲达标", unit=unit)
        make_enrollment(met, public, hours="30")
        make_enrollment(met, specialist, hours="60")
        short = make_trainee(name="@SUM(1+1)", unit=unit)
        make_enrollment(short, public, hours="30")
        make_enrollment(short, specialist, hours="59.5")
        db.session.commit()
        return unit.id


def test_the_unit_report_downloads_for_a_chosen_unit_and_year(capp):
    unit_id = _report_unit(capp)
    client = _signed_in(capp)
    page = client.get("/admin/unit_report/?q=HYPERLINK&year=2025")
    assert page.status_code == 200
    table = _text(page.text, "unit-report-units")
    assert "垫江县" in table and "2" in table and "垫江县中学" not in table
    link = re.search(r'href="([^"]*download[^"]*)"', page.text).group(1).replace("&amp;", "&")
    assert f"unit={unit_id}" in link and "year=2025" in link

    reply = client.get(link)
    assert reply.status_code == 200
    assert reply.mimetype.endswith("spreadsheetml.sheet")
    assert reply.headers["Cache-Control"] == "no-store"  # staff's phone numbers: not cached
    assert "2025" in reply.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(reply.data))
    sheet = book["2025年度应训未训"]
    title = sheet["A1"]
    assert title.value.startswith('=HYPERLINK("http://evil.example","点我")（垫江县）2025年度')
    assert title.data_type == "s"  # the unit's name stays text, never a live link
    assert sheet["A2"].value == "学员 2 人，达标 1 人，未达标 1 人"
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=4)}
    assert rows["甲达标"][7].value == "达标"
    assert rows["@SUM(1+1)"][0].data_type == "s"
    assert rows["@SUM(1+1)"][7].value == "未达标" and "0.5" in rows["@SUM(1+1)"][9].value

    with capp.app_context():
        entry = db.session.execute(
            sa.select(OperatorAudit).where(OperatorAudit.action == "units.report")
        ).scalar_one()
        assert entry.operator.login == "boss" and entry.target_id == str(unit_id)
        assert entry.after == {"year": 2025, "trainees": 2}
    assert "下载单位报表（应训未训）" in client.get("/admin/audit_log/").text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("unit={unit}&year=abc", "年度须为 2000 至 2100 之间的年份"),
        ("unit={unit}&year=1999", "年度须为 2000 至 2100 之间的年份"),
        ("unit=999999&year=2025", "单位不存在"),
        ("unit=x&year=2025", "请先查找并选择单位"),
        ("year=2025", "请先查找并选择单位"),
    ],
)
def test_a_bad_unit_report_request_says_why(capp, query, message):
    unit_id = _report_unit(capp)
    client = _signed_in(capp)
    reply = client.get(
        "/admin/unit_report/download?" + query.format(unit=unit_id), follow_redirects=True
    )
    assert reply.status_code == 200 and message in reply.text
    with capp.app_context():
        assert (
            db.session.execute(
                sa.select(sa.func.count()).where(OperatorAudit.action == "units.report")
            ).scalar_one()
            == 0
        )


def test_the_unit_search_says_when_nothing_matches_and_checks_the_year(capp):
    _report_unit(capp)
    client = _signed_in(capp)
    none = client.get("/admin/unit_report/?q=%25")  # a LIKE wildcard is just a character
    assert "没有名称含“%”的单位" in none.text
    bad_year = client.get("/admin/unit_report/?q=中学&year=二〇二五")
    assert "年度须为 2000 至 2100 之间的年份" in _text(bad_year.text, "unit-report-problem")
    assert "垫江县中学" in bad_year.text


def test_a_new_unit_named_like_a_registered_one_is_pointed_out_before_import(capp, tmp_path):
    with capp.app_context():
        make_unit(name="垫江县人民医院", district=DISTRICT)
        make_unit(name="垫江县中医院", district=DISTRICT)
        db.session.commit()
    client = _signed_in(capp)
    alike = _upload(client, _roster(tmp_path, _people(1), unit="垫江县人民医院（本部）<b>"))
    warning = re.search(r'id="roster-similar">(.*?)</div>', alike.text, re.S).group(1)
    assert "垫江县已登记名称相近的单位：垫江县人民医院。" in warning
    assert "中医院" not in warning and "<b>" not in alike.text  # the roster's text escaped
    other = _upload(client, _roster(tmp_path, _people(1), unit="垫江县第一中学"))
    assert "尚未登记，确认导入时新建" in other.text and "roster-similar" not in other.text
