"""The yearly standing (wxapp/progress/standing.py): each kind counts up to its requirement,
surplus apart, 还差 per kind. Pure: no app."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from wxapp.progress.standing import REQUIRED_HOURS, TOTAL_REQUIRED, hours_text, year_standing
from wxapp.reports.unit import verdict

D = Decimal


def test_zhang_mings_case_68_specialist_and_no_public():
    standing = year_standing(2026, {"specialist": D(68)})
    public, specialist = standing.of("public"), standing.of("specialist")
    assert (specialist.counted, specialist.surplus, specialist.short) == (60, 8, 0)
    assert (public.counted, public.short) == (0, 30)
    assert standing.counted == 60 and not standing.met
    assert standing.shortfall_text() == "还差 30 公需学时"
    assert (
        standing.summary_text()
        == "2026年度已计 60 / 90 学时（公需 0/30，专业 60/60，另超出 8 学时）"
    )
    assert public.line_text() == "公需科目：0 / 30 学时，还差 30 学时"
    assert specialist.line_text() == (
        "专业科目：60 / 60 学时，已达标（另有 8 学时超出要求，不计入年度学时）"
    )
    body = standing.to_dict()
    assert body["total"] == {
        "done": 68.0,
        "counted": 60.0,
        "surplus": 8.0,
        "required": 90,
        "short": 30.0,
    }
    assert body["shortfall"] == "还差 30 公需学时" and body["met"] is False


def test_both_kinds_short_name_each():
    standing = year_standing(2025, {"public": D("12.5"), "specialist": D(30)})
    assert standing.shortfall_text() == "还差 公需 17.5 学时、专业 30 学时"
    assert standing.of("public").line_text() == "公需科目：12.5 / 30 学时，还差 17.5 学时"


def test_met_exactly_and_with_surplus():
    exact = year_standing(2025, {"public": D(30), "specialist": D(60)})
    assert exact.met and exact.shortfall_text() == "" and exact.surplus == 0
    assert exact.of("public").line_text() == "公需科目：30 / 30 学时，已达标"
    more = year_standing(2025, {"public": D(45), "specialist": D("60.0")})
    assert more.met and more.counted == 90 and more.surplus == 15
    assert "另超出 15 学时" in more.summary_text()


def test_floats_from_json_read_as_written_and_missing_kinds_are_zero():
    standing = year_standing(2025, {"public": 29.9})
    assert standing.of("public").short == D("0.1")
    assert standing.of("specialist").done == 0
    assert standing.started  # 29.9 学时 done
    assert year_standing(2025, {}).started is False


def test_hours_text():
    assert [hours_text(D(x)) for x in ("60", "60.0", "12.50", "0", "100")] == [
        "60",
        "60",
        "12.5",
        "0",
        "100",
    ]


def test_unit_report_verdict_reads_the_standing():
    row = verdict(D(0), D(68), 2026)
    assert row["verdict"] == "未达标" and row["counted"] == 60.0
    assert row["shortfall"] == "还差 30 公需学时"
    assert verdict(D(30), D(60))["verdict"] == "达标"


hours = st.decimals(min_value=0, max_value=500, places=1, allow_nan=False, allow_infinity=False)


@given(hours, hours)
def test_each_kind_counts_up_to_its_requirement_and_never_covers_the_other(public, specialist):
    standing = year_standing(2025, {"public": public, "specialist": specialist})
    for kind in standing.kinds:
        assert kind.counted + kind.surplus == kind.done
        assert kind.counted + kind.short == kind.required == REQUIRED_HOURS[kind.kind]
        assert 0 <= kind.counted <= kind.required
        assert kind.met == (kind.short == 0) == (kind.done >= kind.required)
        assert kind.surplus == 0 or kind.short == 0
    assert standing.counted + standing.short == TOTAL_REQUIRED
    assert standing.met == (standing.counted == TOTAL_REQUIRED) == (standing.shortfall_text() == "")
    # More of one kind never makes up for a shortfall of the other.
    more = year_standing(2025, {"public": public, "specialist": specialist + 100})
    assert more.of("public").short == standing.of("public").short


@given(hours, hours)
def test_shortfall_text_names_exactly_the_kinds_that_are_short(public, specialist):
    standing = year_standing(2025, {"public": public, "specialist": specialist})
    text = standing.shortfall_text()
    for kind in standing.kinds:
        name = {"public": "公需", "specialist": "专业"}[kind.kind]
        assert (name in text) == (not kind.met)
        if not kind.met:
            assert hours_text(kind.short) in text
