"""Certificate eligibility and content, and the report verdict: pure functions, no app."""

from datetime import UTC, datetime
from decimal import Decimal

from tests.factories import make_id_number
from wxapp.accounts.units import CHONGQING_DISTRICTS
from wxapp.certificates import rules
from wxapp.reports.unit import verdict

ID = make_id_number(7)


def check(**overrides):
    values = {
        "hours_done": Decimal("60"),
        "required_hours": 60,
        "completed_at": None,
        "name": "张三",
        "id_number": ID,
        "unit_name": "垫江县人民医院",
        "archive_district": None,
        "districts": CHONGQING_DISTRICTS,
    }
    values.update(overrides)
    return rules.check_eligibility(**values)


def test_complete_plan_with_complete_info_is_eligible():
    assert check().ok


def test_plan_is_incomplete_below_the_required_hours_unless_marked_complete():
    assert not check(hours_done=Decimal("59.5")).plan_complete
    assert check(hours_done=Decimal("59.5"), completed_at=datetime(2025, 6, 1, tzinfo=UTC)).ok
    assert check(hours_done=Decimal("61.5")).ok


def test_missing_info_is_named_in_order():
    result = check(name=" ", unit_name=None, archive_district=None)
    assert result.missing == ("name", "unit_or_district")
    assert (
        result.missing_message() == "请先完善个人信息：姓名、单位（单位未列出时选择档案所在区县）"
    )


def test_archive_district_stands_in_for_an_unlisted_unit_but_must_be_a_chongqing_district():
    assert check(unit_name=None, archive_district="垫江县").ok
    assert check(unit_name=None, archive_district="成都市").missing == ("unit_or_district",)


def test_an_invalid_id_number_counts_as_missing():
    assert check(id_number=ID[:-1] + ("0" if ID[-1] != "0" else "1")).missing == ("id_number",)


def test_content_keeps_only_the_masked_id_number_and_prefers_the_unit():
    content = rules.certificate_content(
        name="张三",
        id_number=ID,
        unit_name="垫江县人民医院",
        archive_district="垫江县",
        plan_title="2025年专业科目",
        year=2025,
        kind="specialist",
        hours=Decimal("60.0"),
    )
    assert ID not in str(content)
    assert content["id_number_masked"] == ID[:6] + "********" + ID[-4:]
    assert content["archive_district"] is None
    assert content["hours"] == "60"
    assert content["kind_name"] == "专业科目"


def test_serial_numbers_carry_year_kind_and_id():
    assert rules.serial_number(2025, "specialist", 42) == "CQJX2025ZY0000042"
    assert rules.serial_number(2025, "public", 7) == "CQJX2025GX0000007"


def test_chongqing_has_38_districts():
    assert len(set(CHONGQING_DISTRICTS)) == 38


def test_verdict_needs_both_kinds():
    assert verdict(Decimal(30), Decimal(60))["verdict"] == "达标"
    assert verdict(Decimal(29.5), Decimal(90))["verdict"] == "未达标"
    assert verdict(Decimal(40), Decimal("59.5"))["met"] is False


def content(**overrides):
    values = {
        "name": "张三",
        "id_number": ID,
        "unit_name": "垫江县人民医院",
        "archive_district": None,
        "plan_title": "2025年专业科目培训项目",
        "year": 2025,
        "kind": "specialist",
        "hours": Decimal("60"),
    }
    values.update(overrides)
    return rules.certificate_content(**values)


def test_a_new_version_names_what_changed_and_who_corrected_it():
    old = content()
    new = content(name="张叁", unit_name=None, archive_district="垫江县", hours=Decimal("61.5"))
    changes = rules.content_changes(old, new)
    assert [c[0] for c in changes] == ["name", "organisation", "hours"]
    reason = rules.version_reason(changes, {"name": ["单位"]})
    assert reason == (
        "姓名：张三 → 张叁（经所在单位更正）；"
        "单位：工作单位 垫江县人民医院 → 档案所在区县 垫江县；"
        "完成学时：60 学时 → 61.5 学时"
    )


def test_a_unit_move_and_an_id_number_correction_read_as_people_say_them():
    other = make_id_number(8)
    changes = rules.content_changes(content(), content(id_number=other, unit_name="重庆市第一中学"))
    reason = rules.version_reason(changes, {"id_number": ["客服", "客服"]})
    assert reason == (
        f"身份证号码：{ID[:6]}********{ID[-4:]} → {other[:6]}********{other[-4:]}"
        "（经客服更正）；工作单位：垫江县人民医院 → 重庆市第一中学"
    )
    assert rules.content_changes(content(), content()) == []
