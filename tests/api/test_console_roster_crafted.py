"""Crafted roster files against the console's 导入单位名单: a roster is a file a unit sends
in and a 管理员 uploads, so its sender need not be trusted. A small file must not cost the
server minutes of CPU or gigabytes of memory, and a broken one gets a message, not a 500;
in every case nothing is written."""

from __future__ import annotations

import io
import zipfile

import pytest

from models import Trainee
from tests.api.test_console_roster import (
    _count,
    _people,
    _roster,
    _signed_in,
    _text,
    _upload,
)
from tests.console_helpers import console_app
from wxapp.accounts import roster
from wxapp.console import admin_roster


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _with_sheet(data: bytes, change) -> bytes:
    """The .xlsx with its first sheet's XML passed through `change`."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = change(body)
            dst.writestr(info.filename, body)
    return out.getvalue()


def _refused(app, reply) -> str:
    assert reply.status_code == 200
    assert 'name="token"' not in reply.text  # nothing kept for a confirmation
    assert _count(app, Trainee) == 0
    return _text(reply.text, "roster-problem")


def test_a_cell_of_thousands_of_characters_refuses_the_file(capp, tmp_path):
    """One shared string of millions of characters, stored once, would be copied into
    every row that points to it (hundreds of MB of page from a 33 KB file)."""
    people = _people(2)
    people[1]["note"] = "长" * (roster.CELL_MAX + 1)
    client = _signed_in(capp)
    problem = _refused(capp, _upload(client, _roster(tmp_path, people)))
    assert "第 6 行有单元格超过 1000 个字符，不像是学员名单，未读取" in problem


@pytest.mark.parametrize(
    "change",
    [
        # not well-formed XML
        lambda b: b.replace(b"</sheetData>", b'<row r="99"><c r="A99"></sheetData>'),
        # a shared string that does not exist
        lambda b: b.replace(
            b"</sheetData>", b'<row r="99"><c r="A99" t="s"><v>999999</v></c></row></sheetData>'
        ),
        # a number that is not one
        lambda b: b.replace(
            b"</sheetData>", b'<row r="99"><c r="A99" t="n"><v>abc</v></c></row></sheetData>'
        ),
    ],
    ids=["not-xml", "no-such-string", "not-a-number"],
)
def test_a_broken_sheet_gets_a_message_not_a_500(capp, tmp_path, change):
    client = _signed_in(capp)
    reply = _upload(client, _with_sheet(_roster(tmp_path, _people(3)), change))
    assert "已损坏或不是用 Excel 保存的" in _refused(capp, reply)


def test_a_sheet_claiming_16384_columns_is_read_as_wide_as_a_roster(capp, tmp_path, monkeypatch):
    """openpyxl pads every row to the width the sheet declares: a 5 KB file declaring
    A1:XFD10100 cost a thread 94 s of CPU."""
    widths: list[int] = []
    real = roster._header_columns
    monkeypatch.setattr(
        roster, "_header_columns", lambda cells: widths.append(len(cells)) or real(cells)
    )
    data = _with_sheet(
        _roster(tmp_path, _people(3)),
        lambda b: b.replace(b"<sheetViews>", b'<dimension ref="A1:XFD300"/><sheetViews>', 1),
    )
    client = _signed_in(capp)
    reply = _upload(client, data)
    assert reply.status_code == 200 and "将新注册 3 人" in _text(reply.text, "roster-counts")
    assert widths and max(widths) <= roster.READ_COLUMNS


def test_a_row_of_labels_above_the_header_costs_a_few_cells_not_their_square(
    capp, tmp_path, monkeypatch
):
    """A row of thousands of cells reading 区县 above the header: each one looked along the
    rest of the row for its value (32,768 cells: 96 s of CPU)."""
    calls = 0
    real = roster._text

    def counted(value):
        nonlocal calls
        calls += 1
        return real(value)

    monkeypatch.setattr(roster, "_text", counted)
    cells = b'<c t="inlineStr"><is><t>\xe5\x8c\xba\xe5\x8e\xbf</t></is></c>' * 4000  # 区县
    data = _with_sheet(
        _roster(tmp_path, _people(3)),
        lambda b: b.replace(b"</row>", cells + b"</row>", 1),  # after the title
    )
    client = _signed_in(capp)
    _upload(client, data)
    assert calls < 50_000


def test_a_roster_of_thousands_of_bad_rows_lists_the_first_on_the_page(capp, tmp_path):
    """The page lists LINES_SHOWN problems and says how many more the errors file holds."""
    people = _people(250)
    for n, person in enumerate(people):
        person["phone"] = f"12{n:03d}"  # one problem a row: too short
    client = _signed_in(capp)
    reply = _upload(client, _roster(tmp_path, people))
    assert reply.text.count("<tr><td>第 ") == admin_roster.LINES_SHOWN
    assert _text(reply.text, "roster-errors-more") == "另有 50 处问题未在此列出，见错误文件。"
    assert "有误 250 行" in _text(reply.text, "roster-counts")
