"""Invoices raced on real commits (live_app, threads): the tax platform is asked once per
issue however many paths reach it at the same moment."""

import threading
import time

import pytest

from models import Invoice, db
from tests.factories import make_order, make_plan, make_trainee, sign_in
from tests.integration.test_progress_concurrency import run_together
from wxapp.orders.invoice_issuer import SandboxInvoiceIssuer
from wxapp.orders.invoices import issue_requested

PERSON = {"title_type": "个人", "title": "张三", "email": "zs@example.cn"}


class SlowIssuer(SandboxInvoiceIssuer):
    """The sandbox issuer, taking as long as a tax platform's round trip and counting its
    calls: the window in which a second caller would slip in."""

    def __init__(self):
        self.numbers: list[str] = []
        self._lock = threading.Lock()

    def issue(self, data):
        time.sleep(0.3)
        issued = super().issue(data)
        with self._lock:
            self.numbers.append(issued.number)
        return issued


@pytest.fixture
def paid(live_app):
    """A paid order of a signed-in trainee, and the slow issuer in place."""
    clock = live_app.extensions["clock"]
    issuer = live_app.extensions["invoice_issuer"] = SlowIssuer()
    with live_app.app_context():
        me = make_trainee()
        order = make_order(me, make_plan(), clock.now())
        order.status, order.success_time = "SUCCESS", clock.now()
        order.transaction_id = f"42{order.id:026d}"
        db.session.commit()
        ids = {"me": me.id, "order": order.id, "no": order.out_trade_no}
    return ids, issuer


def phone(app, trainee_id):
    client = app.test_client()
    sign_in(client, trainee_id)
    return client


def invoices_of(app, order_id):
    with app.app_context():
        rows = db.session.execute(db.select(Invoice).where(Invoice.order_id == order_id))
        found = [(i.status, i.number, i.modified_count) for i in rows.scalars()]
        db.session.remove()
        return found


def test_notification_and_reconciliation_at_once_issue_one_invoice(live_app, paid):
    ids, issuer = paid
    clock = live_app.extensions["clock"]
    with live_app.app_context():
        db.session.add(
            Invoice(
                order_id=ids["order"],
                trainee_id=ids["me"],
                title_type="个人",
                title="张三",
                email="zs@example.cn",
                amount_fen=30000,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
        db.session.commit()

    def issue():
        with live_app.app_context():
            return issue_requested(ids["order"], issuer, clock.now())

    assert sorted(run_together([issue, issue])) == [False, True]
    assert len(issuer.numbers) == 1
    assert invoices_of(live_app, ids["order"]) == [("issued", issuer.numbers[0], 0)]


def test_two_apply_taps_at_once_issue_one_invoice(live_app, paid):
    ids, issuer = paid
    phones = [phone(live_app, ids["me"]) for _ in range(2)]
    replies = run_together(
        [lambda p=p: p.post(f"/api/orders/{ids['no']}/invoice", json=PERSON) for p in phones]
    )
    assert sorted(r.status_code for r in replies) == [201, 409]
    refused = next(r for r in replies if r.status_code == 409)
    assert refused.json["error"] == "invoice_exists"
    assert "发票已开具" in refused.json["message"]
    assert len(issuer.numbers) == 1
    assert invoices_of(live_app, ids["order"]) == [("issued", issuer.numbers[0], 0)]


def test_two_modifications_at_once_count_as_two(live_app, paid):
    """修改 is allowed once: sent from two phones at the same moment, one is refused."""
    ids, issuer = paid
    first = phone(live_app, ids["me"]).post(f"/api/orders/{ids['no']}/invoice", json=PERSON)
    assert first.status_code == 201
    phones = [phone(live_app, ids["me"]) for _ in range(2)]
    changed = [{**PERSON, "title": name} for name in ("李四", "王五")]
    replies = run_together(
        [
            lambda p=p, body=body: p.put(f"/api/invoices/{first.json['id']}", json=body)
            for p, body in zip(phones, changed, strict=True)
        ]
    )
    assert sorted(r.status_code for r in replies) == [200, 409]
    refused = next(r for r in replies if r.status_code == 409)
    assert refused.json["error"] == "invoice_modified_once"
    assert len(issuer.numbers) == 2  # the first issue and one re-issue
    assert invoices_of(live_app, ids["order"]) == [("issued", issuer.numbers[1], 1)]
