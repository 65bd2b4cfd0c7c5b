"""Invoices (电子发票) with an injected clock: the year of payment, one change within 15 days,
立即申请 issued on payment, and the PDF with extractable Chinese."""

import io
import json
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
import sqlalchemy as sa

from models import Invoice, Order, PaymentAnomaly, db
from tests import paysign
from tests.factories import make_order, make_plan, make_trainee

COMPANY = {
    "title_type": "单位",
    "title": "垫江县人民医院",
    "tax_number": "9144030071526726XG",
    "email": "cw@example.cn",
}
PERSON = {"title_type": "个人", "title": "张三", "email": "zs@example.cn"}
# 2025-12-31 23:00 in Shanghai.
NEW_YEARS_EVE = datetime(2025, 12, 31, 15, 0, tzinfo=UTC)


@pytest.fixture
def paid_order(app, client, clock):
    """An order of the session's trainee, paid on 2025-12-31 23:00 Shanghai time."""
    clock.set(NEW_YEARS_EVE)
    with app.app_context():
        me, other = make_trainee(), make_trainee()
        order = make_order(me, make_plan(), clock.now())
        order.status, order.success_time = "SUCCESS", clock.now()
        order.transaction_id = f"42{order.id:026d}"
        db.session.commit()
        ids = {"me": me.id, "other": other.id, "no": order.out_trade_no}
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = ids["me"], False
    return ids


def test_apply_in_the_year_of_payment_and_download_the_pdf(client, clock, paid_order):
    clock.advance(50 * 60)  # 23:50 on 31 December
    res = client.post(f"/api/orders/{paid_order['no']}/invoice", json=COMPANY)
    assert res.status_code == 201, res.json
    invoice = res.json
    assert invoice["status"] == "issued" and invoice["amount"] == 9000 and invoice["number"]
    pdf = client.get(invoice["pdf_url"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    for words in ("电子发票", "垫江县人民医院", "9144030071526726XG", "¥90.00", invoice["number"]):
        assert words in text
    assert client.get(f"/api/orders/{paid_order['no']}").json["invoice"]["id"] == invoice["id"]
    # A second request on the same order is a modification, not a new invoice.
    assert client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON).status_code == 409


def test_no_invoice_after_the_year_of_payment(client, clock, paid_order):
    clock.advance(61 * 60)  # 00:01 on 1 January 2026, Shanghai
    res = client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON)
    assert res.status_code == 409
    assert "请在缴费当年申请发票" in res.json["message"] and "2025" in res.json["message"]
    assert client.get(f"/api/orders/{paid_order['no']}").json["invoice"] is None


def test_modify_once_within_fifteen_days_even_across_the_new_year(app, client, clock, paid_order):
    first = client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON).json
    clock.advance(timedelta(days=14).total_seconds())
    res = client.put(f"/api/invoices/{first['id']}", json=COMPANY)
    assert res.status_code == 200, res.json
    assert res.json["title"] == "垫江县人民医院" and res.json["modified_count"] == 1
    assert res.json["number"] != first["number"]
    again = client.put(f"/api/invoices/{first['id']}", json=PERSON)
    assert again.status_code == 409 and "1 次" in again.json["message"]
    # The first invoice must be reversed in the tax system: 财务 is told its number, once.
    with app.app_context():
        [task] = db.session.execute(sa.select(PaymentAnomaly)).scalars().all()
    assert task.reason == "invoice_modified" and task.out_trade_no == paid_order["no"]
    assert task.detail["invoice_number"] == first["number"]
    assert task.detail["invoice_amount_fen"] == 9000 and task.detail["invoice_title"] == "张三"


def test_no_modification_after_fifteen_days(client, clock, paid_order):
    first = client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON).json
    clock.advance(timedelta(days=15, minutes=1).total_seconds())
    res = client.put(f"/api/invoices/{first['id']}", json=COMPANY)
    assert res.status_code == 409 and "15 日内可修改发票 1 次" in res.json["message"]


def test_no_modification_once_the_order_is_refunded(app, client, paid_order):
    """A refunded order's invoice is not re-issued under a new number by 修改."""
    first = client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON).json
    with app.app_context():
        order = db.session.execute(
            db.select(Order).where(Order.out_trade_no == paid_order["no"])
        ).scalar_one()
        order.status = "REFUND"
        db.session.commit()
    res = client.put(f"/api/invoices/{first['id']}", json=COMPANY)
    assert res.status_code == 409 and "已退款，不能修改发票" in res.json["message"]
    invoice = client.get(f"/api/orders/{paid_order['no']}").json["invoice"]
    assert invoice["number"] == first["number"] and invoice["title"] == "张三"


def test_someone_elses_invoice_is_not_found(client, paid_order):
    first = client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON).json
    with client.session_transaction() as s:
        s["tid"] = paid_order["other"]
    assert client.get(first["pdf_url"]).status_code == 404
    assert client.put(f"/api/invoices/{first['id']}", json=PERSON).status_code == 404
    assert client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**COMPANY, "tax_number": None}, "tax_number"),
        ({**COMPANY, "tax_number": "9144030071526726XA"}, "tax_number"),
        ({**PERSON, "title_type": "公司"}, "title_type"),
        ({**PERSON, "title": " "}, "title"),
        ({**PERSON, "email": "not-an-email"}, "email"),
        ({**PERSON, "title": "张\x00三"}, "title"),
        ({**PERSON, "title": "张\ud800"}, "title"),
        ({**PERSON, "email": "a\x00@example.cn"}, "email"),
        # What shows is not what is held: 财务 would copy another title to the tax system.
        ({**PERSON, "title": "重庆建工\u202e司公限有"}, "title"),
        ({**PERSON, "title": "张三\n李四"}, "title"),
        ({**PERSON, "title": "张\u200b三"}, "title"),
        ({**PERSON, "email": "a@example.cn\u2028b@evil.example"}, "email"),
    ],
)
def test_bad_invoice_details_name_the_field(client, paid_order, body, field):
    res = client.post(  # json.dumps escapes a lone surrogate, as a browser's JSON would
        f"/api/orders/{paid_order['no']}/invoice",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert res.status_code == 422 and res.json["field"] == field
    assert res.json["message"]  # the page shows it beside the field


def test_a_refused_invoice_is_not_applied_for_again_after_the_year(app, client, clock, paid_order):
    """财务 refused the request; in January, 修改 is applying again, which the year of payment
    no longer allows (as a new 申请 is not)."""
    first = client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON).json
    with app.app_context():
        invoice = db.session.get(Invoice, first["id"])
        invoice.status, invoice.refusal_reason, invoice.number, invoice.pdf = (
            "refused",
            "抬头有误",
            None,
            None,
        )
        db.session.commit()
    clock.advance(3 * 24 * 3600)  # January 2026
    assert client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON).status_code == 409
    again = client.put(f"/api/invoices/{first['id']}", json=PERSON)
    assert again.status_code == 409 and "请在缴费当年申请发票" in again.json["message"]
    with app.app_context():
        assert db.session.get(Invoice, first["id"]).status == "refused"


def test_a_request_waiting_for_finance_is_not_rewritten_after_the_year(
    app, client, clock, paid_order
):
    """No tax platform: the request made on 31 December waits for 财务. In March its title
    and tax number cannot be rewritten (that would be applying in a year no longer open);
    财务 issues what was asked in time."""
    app.extensions["invoice_issuer"] = None  # production without a tax platform
    asked = client.post(f"/api/orders/{paid_order['no']}/invoice", json=PERSON)
    assert asked.status_code == 201 and asked.json["status"] == "requested", asked.json
    assert client.put(f"/api/invoices/{asked.json['id']}", json=PERSON).status_code == 200
    clock.advance(60 * 24 * 3600)  # March 2026
    again = client.put(f"/api/invoices/{asked.json['id']}", json=COMPANY)
    assert again.status_code == 409 and "请在缴费当年申请发票" in again.json["message"]
    with app.app_context():
        kept = db.session.get(Invoice, asked.json["id"])
        assert (kept.status, kept.title) == ("requested", "张三")


def test_invoice_requested_at_purchase_is_issued_on_payment(app, client, clock):
    with app.app_context():
        me, plan = make_trainee(), make_plan()
        db.session.commit()
        ids = (me.id, plan.id)
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = ids[0], False
    order = client.post("/api/orders", json={"plan_id": ids[1], "invoice": PERSON}).json
    assert order["invoice"]["status"] == "requested" and order["invoice"]["pdf_url"] is None
    tx = paysign.transaction(order["out_trade_no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now())
    assert client.post("/pay/notify", data=body, headers=headers).status_code == 204
    invoice = client.get(f"/api/orders/{order['out_trade_no']}").json["invoice"]
    assert invoice["status"] == "issued" and client.get(invoice["pdf_url"]).status_code == 200
