"""团体购买 says what to do with colleagues not yet registered, as the notice does (few:
they register themselves; more than 10: the unit sends the 学员注册名单 (附件2) to the
centre), and the template it links is one the centre's import reads once filled in."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.e2e.conftest import login, seed
from tests.factories import make_plan, make_trainee, roster_person
from wxapp.accounts.roster import read_roster
from wxapp.infra.texts import REGISTRATION_EMAIL


def test_the_group_page_links_the_registration_template_the_import_reads(phone, site, tmp_path):
    def build():
        payer = make_trainee(name="单位经办人")
        return {"phone": payer.phone, "plan": make_plan(year=2025).id}

    data = seed(site, build)
    login(phone, data["phone"])
    page = phone.open(f"/h5/group?plan={data['plan']}")
    hint = page.wait_for_selector("#registration-hint").inner_text()
    assert "单位未注册人数超过 10 人的" in hint and REGISTRATION_EMAIL in hint
    assert "2 个工作日内由市人服中心统一注册" in hint

    href = page.get_attribute("#roster-template", "href")
    reply = page.request.get(site.url + href)
    assert reply.ok and "attachment" in reply.headers["content-disposition"]
    book = load_workbook(io.BytesIO(reply.body()))
    sheet = book.worksheets[0]
    text = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert "学员注册名单" in text and REGISTRATION_EMAIL in text and "edu@身份证号码后六位" in text

    # A unit fills it in as it comes (区县, 单位全称, one person) and the import reads it.
    person = roster_person(861_000)
    sheet["B2"], sheet["B3"] = "垫江县", "垫江县人民医院"
    sheet["B5"], sheet["C5"] = person["name"], person["id_number"]
    sheet["D5"], sheet["E5"] = person["phone"], person["gender"]
    filled = tmp_path / "名单.xlsx"
    book.save(filled)
    roster = read_roster(filled)
    assert (roster.district, roster.unit_name) == ("垫江县", "垫江县人民医院")
    assert [(r.name, r.id_number) for r in roster.rows] == [(person["name"], person["id_number"])]
