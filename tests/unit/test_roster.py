"""Reading and checking roster rows, without a database or a file."""

import pytest

from tests.factories import roster_person
from wxapp.accounts.roster import RosterFileError, RosterRow, check_row, parse_rows


def row(**change) -> RosterRow:
    return RosterRow(row=5, serial="1", **{**roster_person(1234), **change})


def test_a_good_row_has_no_problem():
    assert check_row(row()) == []


def test_minority_names_keep_their_middle_dot():
    assert check_row(row(name="买买提·艾力")) == []


@pytest.mark.parametrize(
    ("name", "code"),
    [("张\u3000三", "name_space"), ("张三1", "name_symbol"), ("Zhang-San", "name_symbol")],
)
def test_names_without_spaces_or_symbols(name, code):
    assert [p.code for p in check_row(row(name=name))] == [code]


def test_gender_must_match_the_id_number():
    person = roster_person(1234)
    other = "女" if person["gender"] == "男" else "男"
    assert [p.code for p in check_row(row(gender=other))] == ["gender_mismatch"]


def test_header_found_by_text_with_the_templates_notes():
    person = roster_person(99)
    rows = [
        (None, "重庆市专业技术人员继续教育培训学员注册名单"),
        (),
        (None, "区  县：", None, "渝中区", "联系人：", "王"),
        (None, "单位全称：", "重庆市第一人民医院", None, "联系电话：", "023"),
        (
            None,
            "序 号",
            "姓名\n（姓名中间不能有空格和符号）",
            "身份证号码（含 X，必须大写）",
            "手机号码",
            "性别",
            "备注",
        ),
        (None, 1, person["name"], person["id_number"], person["phone"], person["gender"], "x"),
        (None, 2),
    ]
    roster = parse_rows(rows)
    assert (roster.district, roster.unit_name) == ("渝中区", "重庆市第一人民医院")
    assert len(roster.rows) == 1
    assert roster.rows[0].row == 6 and roster.rows[0].note == "x"
    assert roster.rows[0].id_number == person["id_number"]


def test_a_label_is_not_taken_for_a_value():
    rows = [
        ("区县：", "联系人：", "王"),
        ("单位全称：", "某单位"),
        ("序号", "姓名", "身份证号码", "手机号码", "性别", "备注"),
    ]
    with pytest.raises(RosterFileError, match="区县"):
        parse_rows(rows)
