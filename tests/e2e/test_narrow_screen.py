"""Usable on a 360-px-wide phone: no page scrolls sideways, whatever its content."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.conftest import TEST_VIDEO_URL, login, seed
from tests.e2e.stubs import cert_entries, progress_reply, stub, world
from tests.factories import make_plan
from wxapp.enrollments import grant_enrollment

NARROW = {"width": 360, "height": 740}


def _overflow(page) -> int:
    # A mobile browser widens its layout viewport to fit wide content, so compare with the
    # phone's own width, not window.innerWidth.
    return page.evaluate("document.documentElement.scrollWidth") - NARROW["width"]


def test_no_page_is_wider_than_a_360px_phone(new_phone, site):
    data = world(site)

    def build():
        from models import Trainee, db

        trainee = db.session.execute(db.select(Trainee)).scalars().first()
        plan = make_plan(year=2025, courses=12)
        plan.title = "2025年专业技术人员继续教育专业科目培训项目（工程建设、教育新知、农业技术）"
        for pc in plan.courses:
            for ch in pc.course.chapters:
                ch.video_url = TEST_VIDEO_URL
        grant_enrollment(trainee.id, plan.id, datetime(2025, 6, 1, tzinfo=UTC))
        return {"plan": plan.id, "course": plan.courses[0].course.id}

    more = seed(site, build)
    phone = new_phone(viewport=NARROW)
    login(phone, data["phone"])
    page = phone.page
    stub(page, "**/api/me/progress*", progress_reply(data))
    stub(
        page,
        "**/api/group-orders",
        {
            "accepted": 1,
            "amount": 9000,
            "rejects": [{"line": 2, "id_number": "50023119850307001x", "reason": "小写x"}],
            "errors_url": "/x.xlsx",
            "order": {"out_trade_no": "GP2025061600000000001", "status": "NOTPAY", "amount": 9000},
        },
    )
    stub(page, "**/api/orders/GP2025061600000000001/pay", {"method": "native"})
    stub(page, "**/api/me/certificates", cert_entries(data, with_certificate=True))
    stub(page, "**/api/districts", {"items": ["垫江县"]})
    stub(
        page,
        "**/api/me/orders",
        {
            "items": [
                {
                    "out_trade_no": "2025061610000067292070362512",
                    "status": "NOTPAY",
                    "amount": 9000,
                    "plan_title": "2025年专业技术人员继续教育专业科目培训项目",
                    "kind": "group",
                    "quantity": 120,
                },
                {
                    "out_trade_no": "2025061610000067292070362513",
                    "status": "SUCCESS",
                    "amount": 4500,
                    "plan_title": "2025年公需科目",
                    "invoice": {
                        "id": 5,
                        "status": "issued",
                        "title": "垫江县人民医院",
                        "modified_count": 0,
                        "pdf_url": "/api/invoices/5.pdf",
                    },
                },
            ]
        },
    )
    for path in [
        "/h5/login",
        "/h5/plans",
        f"/h5/plan?id={more['plan']}",
        f"/h5/plan?id={data['plan']}",
        f"/h5/course?id={more['course']}&plan={more['plan']}",
        "/h5/progress",
        "/h5/certificates",
        "/h5/orders",
        "/h5/login?change=1",
        "/h5/bind",
        f"/h5/group?plan={data['plan']}",
    ]:
        phone.open(path)
        assert _overflow(page) <= 0, path
    page.fill("#ids", "500231198503070011\n50023119850307001x\n")
    page.click("#group-submit")
    page.wait_for_selector("#rejects")
    assert _overflow(page) <= 0, "group result"
    phone.shot("narrow-group", full_page=True)
