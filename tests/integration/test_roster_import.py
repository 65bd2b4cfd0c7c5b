"""Bulk registration from a unit's roster: `flask --app wsgi trainees import FILE.xlsx`."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from models import Trainee, Unit, db
from tests.factories import (
    ROSTER_FIRST_ROW,
    ROSTER_SPOILERS,
    make_trainee,
    make_unit,
    roster_person,
    roster_rows,
)
from wxapp.accounts.idnumbers import initial_password
from wxapp.accounts.roster_template import write_roster

DISTRICT, UNIT = "垫江县", "垫江县人民医院"


def run_import(runner, path: Path):
    result = runner.invoke(args=["trainees", "import", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def read_errors(path: Path) -> dict[int, tuple[str, str]]:
    """{row number: (reasons, reason codes)} from roster.errors.xlsx."""
    workbook = load_workbook(path.with_name(f"{path.stem}.errors.xlsx"), read_only=True)
    try:
        sheet = workbook.worksheets[0]
        header, *rows = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    assert header[0] == "行号" and header[-2] == "原因"
    return {row[0]: (row[-2], row[-1]) for row in rows}


def trainee_count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Trainee)).scalar_one()


def test_ten_thousand_rows_with_fifty_bad_ones(app, runner, tmp_path):
    rows, spoiled = roster_rows(10_000, 50)
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, rows)

    first = run_import(runner, path)
    assert first.exit_code == 0, first.output
    assert "新注册 9950 人" in first.stdout
    assert "50 行有误" in first.stdout and "roster.errors.xlsx" in first.stdout
    assert "读取名单" in first.stderr  # the progress bar of a large file
    with app.app_context():
        assert trainee_count() == 9950
        unit = db.session.execute(sa.select(Unit).where(Unit.name == UNIT)).scalar_one()
        assert unit.district == DISTRICT
        imported = db.session.execute(
            sa.select(Trainee).where(Trainee.id_number == rows[0]["id_number"])
        ).scalar_one()
        assert imported.unit_id == unit.id
        assert imported.password_hash is None and imported.must_change_password

    errors = read_errors(path)
    assert sorted(errors) == sorted(spoiled)
    for row_number, code in spoiled.items():
        message, codes = errors[row_number]
        assert codes == code, (row_number, message)
        assert message  # Chinese reason a person can act on

    second = run_import(runner, path)
    assert second.exit_code == 0
    assert "9950 人此前已注册" in second.stdout
    assert "没有新学员，数据库未做任何更改" in second.stdout
    with app.app_context():
        assert trainee_count() == 9950
    assert sorted(read_errors(path)) == sorted(spoiled)


# What the errors file tells the unit for each kind of bad row.
EXPECTED_WORDS = {
    "id_checksum": "校验位错误",
    "id_lowercase_x": "大写",
    "id_birth_date": "出生日期无效",
    "id_format": "18 位",
    "name_space": "姓名中间不能有空格",
    "name_symbol": "姓名不能含符号",
    "phone_invalid": "11 位",
    "gender_invalid": "“男”或“女”",
    "gender_mismatch": "性别与身份证号码不符",
    "duplicate_id": f"身份证号码与第 {ROSTER_FIRST_ROW} 行重复",
    "duplicate_phone": f"手机号码与第 {ROSTER_FIRST_ROW} 行重复",
}


@pytest.mark.parametrize("code", sorted(ROSTER_SPOILERS))
def test_each_bad_row_is_reported_with_its_reason(app, runner, tmp_path, code):
    rows, _ = roster_rows(3, 0, start=800_000)
    rows[1] = ROSTER_SPOILERS[code](rows[1], rows[0])
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, rows)
    result = run_import(runner, path)
    assert "新注册 2 人" in result.stdout
    errors = read_errors(path)
    assert list(errors) == [ROSTER_FIRST_ROW + 1]
    message, codes = errors[ROSTER_FIRST_ROW + 1]
    assert codes == code
    assert EXPECTED_WORDS[code] in message


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"name": ""}, "name_missing", "姓名不能为空"),
        ({"id_number": ""}, "id_missing", "身份证号码不能为空"),
        ({"phone": ""}, "phone_missing", "手机号码不能为空"),
        ({"gender": ""}, "gender_missing", "性别不能为空"),
        ({"name": "张三" * 30}, "name_too_long", "姓名过长"),
        ({"note": "备" * 201}, "note_too_long", "备注过长"),
        ({"id_number": "50023119850307 001"}, "id_format", "空格"),
    ],
)
def test_missing_and_oversized_fields(app, runner, tmp_path, change, code, words):
    rows = [{**roster_person(810_000), **change}, roster_person(810_001)]
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, rows)
    assert "新注册 1 人" in run_import(runner, path).stdout
    message, codes = read_errors(path)[ROSTER_FIRST_ROW]
    assert codes == code and words in message


def test_every_reason_of_a_row_is_listed(app, runner, tmp_path):
    rows = [{**roster_person(811_000), "name": "李 四", "phone": "123", "gender": "X"}]
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, rows)
    result = run_import(runner, path)
    assert "没有新学员" in result.stdout
    _, codes = read_errors(path)[ROSTER_FIRST_ROW]
    assert codes == "name_space,phone_invalid,gender_invalid"
    with app.app_context():
        assert trainee_count() == 0
        # No good row: not even the unit is created.
        assert db.session.execute(sa.select(Unit).where(Unit.name == UNIT)).first() is None


def test_an_id_number_typed_as_a_number_is_refused(app, runner, tmp_path):
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, [{**roster_person(812_000), "id_number": 5.0023119e17}])
    run_import(runner, path)
    message, codes = read_errors(path)[ROSTER_FIRST_ROW]
    assert codes == "id_not_text" and "文本格式" in message


def test_rows_clashing_with_registered_trainees(app, runner, tmp_path):
    with app.app_context():
        unit = make_unit(UNIT, DISTRICT)
        same = roster_person(820_000)
        db.session.add(Trainee(**{k: v for k, v in same.items() if k != "note"}, unit_id=unit.id))
        other = make_trainee(name="王五", n=820_100)
        db.session.commit()
        other_phone, other_id = other.phone, other.id_number
    rows = [
        same,  # already registered, same data: left alone
        {**roster_person(820_001), "phone": other_phone},  # phone of someone else
        {**roster_person(820_002), "id_number": other_id, "gender": "男"},  # ID registered
        roster_person(820_003),
    ]
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, rows)
    result = run_import(runner, path)
    assert "新注册 1 人" in result.stdout and "1 人此前已注册" in result.stdout
    errors = read_errors(path)
    assert errors[ROSTER_FIRST_ROW + 1][1] == "phone_taken"
    assert "已被其他学员使用" in errors[ROSTER_FIRST_ROW + 1][0]
    assert errors[ROSTER_FIRST_ROW + 2][1] == "id_registered"
    assert "姓名" in errors[ROSTER_FIRST_ROW + 2][0] and "单位" in errors[ROSTER_FIRST_ROW + 2][0]
    assert len(errors) == 2


def test_header_is_found_where_the_unit_put_it(app, runner, tmp_path):
    path = tmp_path / "shifted.xlsx"
    write_roster(
        path, "渝北区", "重庆市渝北区第二实验小学", [roster_person(830_000)], top=4, left=3
    )
    result = run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert "渝北区 重庆市渝北区第二实验小学" in result.stdout and "新注册 1 人" in result.stdout
    assert not path.with_name("shifted.errors.xlsx").exists()


def test_header_block_in_single_cells_and_template_rows(app, runner, tmp_path):
    """区县：xx in one cell, a footnote and the template's empty numbered rows are skipped."""
    person = roster_person(831_000)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["学员注册名单"])
    sheet.append(["区县：垫江县", None, "联系人：张老师"])
    sheet.append(["单位全称：垫江县第一中学", None, "联系电话：023-74606177"])
    sheet.append(["序号", "姓名", "身份证号码", "手机号码", "性别", "备注"])
    sheet.append([1, person["name"], person["id_number"], int(person["phone"]), person["gender"]])
    for n in range(2, 5):
        sheet.append([n])
    sheet.append(["注意：1.文件格式要求为 Excel电子格式"])
    path = tmp_path / "template.xlsx"
    workbook.save(path)
    result = run_import(runner, path)
    assert "垫江县 垫江县第一中学：名单 1 人" in result.stdout and "新注册 1 人" in result.stdout


@pytest.mark.parametrize(
    ("district", "unit", "words"),
    [("", UNIT, "区县"), (DISTRICT, "", "单位全称")],
)
def test_header_block_must_name_district_and_unit(app, runner, tmp_path, district, unit, words):
    path = tmp_path / "roster.xlsx"
    write_roster(path, district, unit, [roster_person(840_000)])
    result = runner.invoke(args=["trainees", "import", str(path)])
    assert result.exit_code == 1
    assert f"表头未填写“{words}”" in result.output


@pytest.mark.parametrize(
    ("district", "unit", "words"),
    [
        ("垫江", UNIT, "区县“垫江”不是重庆市的区县，请填写全称"),
        ("北京市朝阳区", UNIT, "不是重庆市的区县"),
        ("渝" * 51, UNIT, "不是重庆市的区县"),  # longer than Unit.district's 50
        (DISTRICT, "长" * 201, "单位全称过长（最多 200 个字）"),
    ],
)
def test_header_block_names_a_real_district_and_a_unit_that_fits(
    app, runner, tmp_path, district, unit, words
):
    """A typo in the 区县 would make a unit in no district's list; a 单位全称 too long for
    the column would fail the insert: both are refused with the reason, nothing written."""
    path = tmp_path / "roster.xlsx"
    write_roster(path, district, unit, [roster_person(841_000)])
    result = runner.invoke(args=["trainees", "import", str(path)])
    assert result.exit_code == 1 and words in result.output, result.output
    with app.app_context():
        assert trainee_count() == 0
        assert db.session.execute(sa.select(sa.func.count(Unit.id))).scalar_one() == 0


def test_file_without_header_row_or_not_excel(app, runner, tmp_path):
    workbook = Workbook()
    workbook.active.append(["随便", "什么"])
    path = tmp_path / "nothing.xlsx"
    workbook.save(path)
    result = runner.invoke(args=["trainees", "import", str(path)])
    assert result.exit_code == 1 and "未找到表头行" in result.output

    text = tmp_path / "roster.xlsx"
    text.write_text("not a spreadsheet")
    result = runner.invoke(args=["trainees", "import", str(text)])
    assert result.exit_code == 1 and "无法读取 Excel 文件" in result.output


def test_unit_registered_in_another_district_is_refused(app, runner, tmp_path):
    with app.app_context():
        make_unit(UNIT, "渝北区")
        db.session.commit()
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, [roster_person(850_000)])
    result = runner.invoke(args=["trainees", "import", str(path)])
    assert result.exit_code == 1 and "已登记在渝北区" in result.output
    with app.app_context():
        assert trainee_count() == 0


def test_stale_errors_file_is_removed_once_the_roster_is_clean(app, runner, tmp_path):
    rows, _ = roster_rows(4, 2, start=860_000)
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, rows)
    run_import(runner, path)
    assert path.with_name("roster.errors.xlsx").exists()
    fixed, _ = roster_rows(4, 0, start=860_000)
    write_roster(path, DISTRICT, UNIT, fixed)
    assert "新注册 2 人" in run_import(runner, path).stdout
    assert not path.with_name("roster.errors.xlsx").exists()


def test_imported_trainee_logs_in_with_the_initial_password(app, runner, client, tmp_path):
    person = roster_person(870_000)
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, UNIT, [person])
    run_import(runner, path)
    initial = initial_password(person["id_number"])
    res = client.post("/api/login", json={"username": person["id_number"], "password": initial})
    assert res.status_code == 200, res.json
    # The initial password is public: it opens only 激活账号, no personal data.
    assert res.json["must_change_password"] is True
    assert res.json["activation_required"] is True
    assert "unit" not in res.json and UNIT not in res.get_data(as_text=True)
    # With the roster's username only: typed with the phone, it would confirm the phone.
    res = client.post("/api/login", json={"username": person["phone"], "password": initial})
    assert res.status_code == 401
    with app.app_context():
        imported = db.session.execute(
            db.select(Trainee).where(Trainee.id_number == person["id_number"])
        ).scalar_one()
        assert (imported.unit.name, imported.unit.district) == (UNIT, DISTRICT)
    res = client.post("/api/login", json={"username": person["phone"], "password": "edu@000000"})
    assert res.status_code == 401


def test_a_new_unit_named_like_a_registered_one_is_pointed_out(app, runner, tmp_path):
    """垫江县人民医院（本部） beside a registered 垫江县人民医院: its staff would be split over
    two units, so the import says which registered unit it looks like."""
    with app.app_context():
        make_unit(UNIT, DISTRICT)
        make_unit("垫江县中医院", DISTRICT)  # another unit, not alike
        make_unit("垫江县人民医院分院", "渝北区")  # alike, but another 区县
        db.session.commit()
    path = tmp_path / "roster.xlsx"
    write_roster(path, DISTRICT, "垫江县人民医院（本部）", [roster_person(851_000)])
    result = run_import(runner, path)
    assert "新建单位：垫江县 垫江县人民医院（本部）" in result.output
    assert "注意：垫江县已登记名称相近的单位：垫江县人民医院；" in result.output
    assert "中医院" not in result.output and "分院" not in result.output
