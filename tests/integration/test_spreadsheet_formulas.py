"""Text people typed never becomes a formula in a spreadsheet the service writes.

Each file is read back with openpyxl: the hostile text is there, exactly as typed, in a
text cell with Excel's quote prefix, and no cell of the file is a formula.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from models import db
from tests.factories import make_plan, make_trainee, make_unit
from wxapp.accounts.roster_template import write_roster

HYPERLINK = '=HYPERLINK("http://evil.example/x","点击查看详情")'
DDE = "=cmd|' /C calc'!A0"
HOSTILE = [HYPERLINK, DDE, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1"]


def cells(data: bytes | Path) -> list[openpyxl.cell.Cell]:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    book = openpyxl.load_workbook(source)
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_all_text(found: list, expected: list[str]) -> None:
    assert not [c.coordinate for c in found if c.data_type == "f"], "a formula cell"
    by_value = {c.value: c for c in found if isinstance(c.value, str)}
    for text in expected:
        assert text in by_value, f"{text!r} missing"
        assert by_value[text].data_type == "s" and by_value[text].quotePrefix


def paste_rejects_file(app, client, pasted: str) -> bytes:
    """A payer pastes lines every one of which is refused; their 下载错误文件."""
    with app.app_context():
        payer = make_trainee()
        plan = make_plan()
        db.session.commit()
        payer_id, plan_id = payer.id, plan.id
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = payer_id, False
    res = client.post("/api/group-orders", json={"plan_id": plan_id, "id_numbers": pasted})
    assert res.status_code == 200 and res.json["accepted"] == 0, res.json  # every line refused
    assert len(res.json["rejects"]) == len(pasted.split("\n"))
    xlsx = client.get(res.json["errors_url"])
    assert xlsx.status_code == 200
    return xlsx.data


def test_group_paste_rejects_file_keeps_formulas_as_text(app, client, clock):
    data = paste_rejects_file(app, client, "\n".join(HOSTILE))
    # The lines are kept cut to 20 characters: still text, never a formula.
    assert_all_text(cells(data), [HYPERLINK[:20], DDE])


def test_control_characters_in_a_paste_do_not_break_its_error_file(app, client, clock):
    """A line holding a character a spreadsheet cannot hold (a stray control character
    from a copy) is still refused with its reason, and 下载错误文件 still downloads: the
    character shows as �."""
    values = [c.value for c in cells(paste_rejects_file(app, client, "\x01abc\n\x1b=1+1"))]
    assert "\ufffdabc" in values and "\ufffd=1+1" in values


def test_roster_errors_file_keeps_formulas_as_text(app, runner, tmp_path):
    rows = [
        {"name": HYPERLINK, "id_number": "500231198503070011", "phone": "13900000001"},
        {"name": "张三", "id_number": DDE, "phone": "13900000002"},
        {"name": "李四", "id_number": "500231198503070038", "phone": "@SUM(1,2)"},
    ]
    path = tmp_path / "roster.xlsx"
    write_roster(path, "垫江县", "垫江县人民医院", rows)
    assert_all_text(cells(path), [HYPERLINK, DDE, "@SUM(1,2)"])  # the roster written is safe
    result = runner.invoke(args=["trainees", "import", str(path)])
    assert "行有误" in result.output, result.output
    assert_all_text(cells(path.with_name("roster.errors.xlsx")), [HYPERLINK, DDE, "@SUM(1,2)"])


def test_unit_report_keeps_a_formula_name_as_text(app, runner, tmp_path):
    """A trainee named =HYPERLINK(...) was a live link in the unit's 应训未训 sheet."""
    with app.app_context():
        unit = make_unit()
        trainee = make_trainee(unit=unit)
        trainee.name = HYPERLINK  # a name the roster rules would refuse, set directly
        db.session.commit()
        unit_id = unit.id
    out = tmp_path / "report.xlsx"
    result = runner.invoke(
        args=["report", "unit", "--unit", str(unit_id), "--year", "2025", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert_all_text(cells(out), [HYPERLINK])
