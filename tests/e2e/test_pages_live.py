"""The pages against the other areas' real APIs (group purchase, orders, certificates)."""

from __future__ import annotations

from datetime import UTC, datetime

from models import Enrollment, Refund, db
from tests.e2e.conftest import login, require_routes, seed, wait_for
from tests.factories import (
    credit_hours,
    make_id_number,
    make_order,
    make_plan,
    make_trainee,
    make_unit,
)
from wxapp.orders.enrollments import grant_enrollment


def test_group_purchase_checks_each_line_then_is_paid_by_qr(phone, site, new_phone):
    require_routes(
        site,
        ("POST", "/api/group-orders"),
        ("POST", "/api/orders/X1/pay"),
        ("GET", "/api/orders/X1/qrcode.png"),
        ("GET", "/_sandbox/pay/scan"),
    )

    def build():
        payer = make_trainee(name="单位经办人")
        a, b = make_trainee(name="学员甲"), make_trainee(name="学员乙")
        plan = make_plan(year=2025)
        return {"payer": payer.phone, "ids": [a.id_number, b.id_number], "plan": plan.id}

    data = seed(site, build)
    unknown = make_id_number(987_654)
    login(phone, data["payer"])
    page = phone.open(f"/h5/group?plan={data['plan']}")
    page.fill("#ids", "\n".join([*data["ids"], unknown, data["ids"][1]]) + "\n")
    page.click("#group-submit")
    summary = page.wait_for_selector("#group-summary").inner_text()
    assert "验证通过 2 人" in summary and "¥180.00" in summary
    rows = page.locator("#rejects tbody tr")
    assert rows.count() == 2
    reasons = page.inner_text("#rejects")
    assert "该身份证号码尚未注册学员账号，请先为其注册后再购买" in reasons
    assert "身份证号码与第 2 行重复" in reasons
    errors = page.request.get(site.url + page.get_attribute("#error-file", "href"))
    assert errors.ok and errors.body()[:2] == b"PK"  # an .xlsx
    wait_for(
        page,
        "document.querySelector('#pay-qr') && document.querySelector('#pay-qr').naturalWidth > 0",
    )
    phone.shot("group-live")

    # Nobody scans in a test: the sandbox's scan page plays the payer's phone.
    scan = phone.new_page()
    scan.goto(site.url + page.get_attribute("#sandbox-scan", "href"))
    scan.click("#pay")
    assert "2 名学员即可登录进行学习" in page.wait_for_selector("#group-paid").inner_text()


def test_orders_page_lists_a_real_order(phone, site):
    require_routes(site, ("POST", "/api/orders"), ("GET", "/api/me/orders"))

    def build():
        t = make_trainee(name="吴十")
        plan = make_plan(year=2025)
        plan.title = "2025年专业科目培训项目（工程建设）"
        return {"phone": t.phone, "plan": plan.id}

    data = seed(site, build)
    login(phone, data["phone"])
    created = phone.page.request.post(
        site.url + "/api/orders", data={"plan_id": data["plan"], "invoice": None}
    )
    assert created.ok, created.text()
    page = phone.open("/h5/orders")
    card = page.locator(".order-card").first
    text = card.inner_text()
    assert "2025年专业科目培训项目（工程建设）" in text
    assert "待支付" in text and "¥90.00" in text and "继续支付" in text
    phone.shot("orders-live")


def test_orders_page_shows_what_went_back(phone, site):
    """A group order with one member's share refunded keeps 申请开票 for the rest; an order
    being refunded in full shows 退款中 and offers no invoice."""
    require_routes(site, ("GET", "/api/me/orders"))

    def build():
        payer, member = make_trainee(name="单位经办人"), make_trainee(name="学员甲")
        plan = make_plan(year=2025)
        now = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)
        group = make_order(payer, plan, now, [payer, member])
        alone = make_order(payer, make_plan(year=2025), now)
        for order, status in ((group, "SUCCESS"), (alone, "PROCESSING")):
            order.status, order.success_time = "SUCCESS", now
            order.transaction_id = f"42{order.id:026d}"
            db.session.add(
                Refund(
                    out_refund_no=f"{order.out_trade_no}R01",
                    order_id=order.id,
                    amount_fen=order.unit_price_fen,
                    reason="already_enrolled",
                    requested_by="system",
                    status=status,
                )
            )
        return {"phone": payer.phone, "group": group.out_trade_no, "alone": alone.out_trade_no}

    data = seed(site, build)
    login(phone, data["phone"])
    page = phone.open("/h5/orders")
    group = page.locator(f'.order-card[data-order-no="{data["group"]}"]')
    assert "已退款 ¥90.00" in group.inner_text()
    assert group.get_by_role("button", name="申请开票").count() == 1
    alone = page.locator(f'.order-card[data-order-no="{data["alone"]}"]')
    assert "退款中 ¥90.00（原路退回）" in alone.inner_text()
    assert alone.get_by_role("button", name="申请开票").count() == 0
    phone.shot("orders-refunds")


def test_certificate_from_a_complete_plan_and_the_personal_info_it_needs(phone, site):
    require_routes(
        site,
        ("GET", "/api/me/certificates"),
        ("POST", "/api/plans/1/certificate"),
        ("PATCH", "/api/me/profile"),
        ("GET", "/api/units"),
    )

    def build():
        make_unit(name="垫江县人民医院", district="垫江县")
        t = make_trainee(name="郑十一")  # no unit yet: the certificate must wait for it
        plan = make_plan(year=2025, required_hours=60)
        plan.title = "2025年专业科目培训项目（工程建设）"
        grant_enrollment(t.id, plan.id, datetime(2025, 6, 1, tzinfo=UTC))
        db.session.flush()
        enrollment = db.session.execute(
            db.select(Enrollment).where(Enrollment.trainee_id == t.id)
        ).scalar_one()
        credit_hours(t, plan, "60")
        enrollment.completed_at = datetime(2025, 7, 1, tzinfo=UTC)
        return {"phone": t.phone, "plan": plan.id}

    data = seed(site, build)
    login(phone, data["phone"])
    page = phone.open("/h5/certificates")
    assert "打印证书前请完善个人信息" in page.inner_text("#missing-info")
    page.locator(f".plan-card[data-plan-id='{data['plan']}'] >> text=打印证书").click()
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert "请先完善个人信息" in dialog.inner_text()
    page.click(".js_dialog .weui-dialog__btn")

    page.fill("#unit-q", "垫江县人民")
    page.click("#unit-results >> text=垫江县人民医院")
    page.click("#save-profile")
    page.wait_for_selector("#missing-info", state="detached")
    page.locator(f".plan-card[data-plan-id='{data['plan']}'] >> text=打印证书").click()
    page.wait_for_url("**/certificates/*")
    assert "郑十一" in page.inner_text("body")
    phone.shot("certificate-print")
    page = phone.open("/h5/certificates")
    card = page.locator(".cert-card")
    assert "证书编号" in card.inner_text()
    assert card.locator("text=下载 PDF").get_attribute("href").endswith(".pdf")
