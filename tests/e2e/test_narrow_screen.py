"""Usable on a 360-px-wide phone: no page scrolls sideways, whatever its content; long words
(an invoice title, a unit's name) wrap."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.conftest import PHONE, TEST_VIDEO_URL, login, seed, wait_for
from tests.e2e.realdata import complete, learn, learner_world, lowercase_x_id_number, order
from tests.factories import make_plan, make_trainee, make_unit
from wxapp.orders.enrollments import grant_enrollment
from wxapp.orders.uscc import check_char as uscc_check_char

NARROW = {"width": 360, "height": 740}


def _overflow(page) -> int:
    # A mobile browser widens its layout viewport to fit wide content, so compare with the
    # phone's own width, not window.innerWidth.
    return page.evaluate("document.documentElement.scrollWidth") - NARROW["width"]


def test_no_page_is_wider_than_a_360px_phone(new_phone, site):
    # Real content as long as it gets: a long plan title, 12 courses, learned and started
    # courses, an issued certificate, a pending group order and a paid one with its invoice.
    data = learner_world(site)
    learn(site, data)
    complete(site, data)

    def build():
        plan = make_plan(year=2025, courses=12)
        plan.title = "2025年专业技术人员继续教育专业科目培训项目（工程建设、教育新知、农业技术）"
        for pc in plan.courses:
            for ch in pc.course.chapters:
                ch.video_url = TEST_VIDEO_URL
        grant_enrollment(data["trainee"], plan.id, datetime(2025, 6, 1, tzinfo=UTC))
        others = [make_trainee(name=n).id_number for n in ("学员甲", "学员乙", "学员丙")]
        for_sale = [make_plan(year=2025).id for _ in range(2)]
        return {
            "plan": plan.id,
            "course": plan.courses[0].course.id,
            "others": others,
            "for_sale": for_sale,
        }

    more = seed(site, build)
    phone = new_phone(viewport=NARROW)
    login(phone, data["phone"])
    page = phone.page
    issued = page.request.post(f"{site.url}/api/plans/{data['plan']}/certificate")
    assert issued.ok, issued.text()
    tax_number = "91500000MA5U00000" + uscc_check_char("91500000MA5U00000")
    invoice = {
        "title_type": "单位",
        "title": "重庆市垫江县人民医院（垫江县第一人民医院）",
        "tax_number": tax_number,
        "email": "caiwu@example.com",
    }
    order(page, site, more["for_sale"][0], invoice=invoice, pay=True)
    group = page.request.post(
        f"{site.url}/api/group-orders",
        data={"plan_id": more["for_sale"][1], "id_numbers": "\n".join(more["others"][:2])},
    )
    assert group.ok, group.text()
    unpaid = order(page, site, more["for_sale"][1])
    for path in [
        "/h5/login",
        "/h5/plans",
        f"/h5/plan?id={more['plan']}",
        f"/h5/plan?id={data['plan']}",
        f"/h5/course?id={more['course']}&plan={more['plan']}",
        "/h5/progress",
        "/h5/learning-record",
        "/h5/certificates",
        "/h5/orders",
        "/h5/login?change=1",
        "/h5/forgot",
        "/h5/bind",
        f"/h5/order?no={group.json()['order']['out_trade_no']}",
        f"/h5/order?no={unpaid}",
        "/h5/group-orders",
        f"/h5/group?plan={data['plan']}",  # the last: its form is filled below
    ]:
        phone.open(path)
        assert _overflow(page) <= 0, path
    page.fill("#ids", f"{more['others'][2]}\n{lowercase_x_id_number()}\n")
    page.click("#group-submit")
    page.wait_for_selector("#rejects")
    assert _overflow(page) <= 0, "group result"
    phone.shot("narrow-group", full_page=True)
    # The certificate print page: a scaled preview of the A4 sheet, never wider than the phone.
    page.goto(site.url + issued.json()["print_url"])
    wait_for(page, "document.querySelector('.stage').dataset.fitted === 'true'")
    assert _overflow(page) <= 0, "certificate print page"


def test_long_words_wrap_and_the_invoice_sheet_stays_on_screen(phone, site):
    """An invoice title or a unit name without a space (100 × "A") wraps: the page keeps the
    phone's width, and 修改发票 opens a form the trainee can reach."""
    long_word = "A" * 100

    def build():
        t = make_trainee(name="孙八", unit=make_unit(name="重庆" + long_word))
        return {"phone": t.phone, "plan": make_plan(year=2025).id}

    data = seed(site, build)
    login(phone, data["phone"])
    page = phone.page
    invoice = {"title_type": "个人", "title": long_word, "tax_number": None, "email": "a@b.cn"}
    no = order(page, site, data["plan"], invoice=invoice, pay=True)
    width = PHONE["width"]
    for path in ["/h5/orders", f"/h5/order?no={no}", "/h5/profile", "/h5/certificates"]:
        phone.open(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path

    phone.open("/h5/orders")
    page.click("text=修改发票")
    submit = page.wait_for_selector("#submit-invoice")
    for node in (submit, page.wait_for_selector(".invoice-sheet input[name=title]")):
        box = node.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.input_value(".invoice-sheet input[name=title]") == long_word
    phone.shot("invoice-sheet-long-title")
