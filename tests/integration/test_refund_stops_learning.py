"""A refund that WeChat Pay completes stops the learning at the trainee's next beacon, on
every path that can complete it: its REFUND.SUCCESS notification, or reconciliation
(`orders reconcile`) asking WeChat Pay when that notification was lost. Over real HTTP on a
live server, with the sandbox playing WeChat Pay."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from models import Chapter, Order, PlanCourse, Refund, db
from tests.conftest import LiveServer, free_port, serve
from tests.integration.test_reconciliation import _buy_and_pay, _people
from tests.integration.test_refunds import login, order_status, read, wait_for
from wxapp.orders import refund_requests
from wxapp.progress.keys import entitlement_generation_key
from wxapp.sandbox import pay_store


@pytest.fixture
def site(base_config: dict[str, Any]) -> Iterator[LiveServer]:
    """A live server whose sandbox gives up at once on a notification nobody receives."""
    with serve(base_config, SANDBOX_PAY_NOTIFY_SCALE="0") as server:
        yield server


class Learner:
    """A trainee who bought a plan, playing its first chapter in the H5 player."""

    def __init__(self, site: LiveServer):
        self.app, self.url = site.app, site.url
        [id_number], plan_id = _people(self.app, 1)
        self.order = _buy_and_pay(self.url, id_number, plan_id, lose_notification=False)
        assert wait_for(lambda: order_status(self.app, self.order) == "SUCCESS")
        self.chapter = read(
            self.app,
            lambda: db.session.execute(
                sa.select(Chapter.id)
                .join(PlanCourse, PlanCourse.course_id == Chapter.course_id)
                .where(PlanCourse.plan_id == plan_id)
                .order_by(PlanCourse.position, Chapter.position)
                .limit(1)
            ).scalar_one(),
        )
        self.http = requests.Session()
        login(self.url, self.http, id_number)
        self.seq = itertools.count()

    def beacon(self) -> int:
        clock = self.app.extensions["clock"]
        clock.advance(15)
        seq = next(self.seq)
        body = {
            "chapter_id": self.chapter,
            "play_id": "phone",
            "seq": seq,
            "from": 15.0 * max(seq - 1, 0),
            "to": 15.0 * seq,
            "position": 15.0 * seq,
        }
        return self.http.post(f"{self.url}/api/beacons", json=body, timeout=10).status_code

    def refund(self, column: Any) -> Any:
        """A column of the order's refund."""
        return read(
            self.app,
            lambda: db.session.execute(
                sa.select(column)
                .join(Order, Order.id == Refund.order_id)
                .where(Order.out_trade_no == self.order)
            ).scalar_one(),
        )

    def refund_status(self) -> str:
        return self.refund(Refund.status)

    def cache_dropped(self) -> bool:
        """Whether the trainee's cached entitlements were dropped (their generation counted)."""
        payer = read(
            self.app,
            lambda: db.session.execute(
                sa.select(Order.payer_id).where(Order.out_trade_no == self.order)
            ).scalar_one(),
        )
        return bool(self.app.extensions["redis"].exists(entitlement_generation_key(payer)))

    def request_refund(self) -> None:
        """财务 refunds the whole order (the operator's use case, as the console calls it)."""
        app = self.app
        with app.app_context():
            refund_requests.request_refund(
                app.extensions["wechatpay"],
                self.order,
                "学员申请退费",
                "operator:test",
                app.extensions["clock"].now(),
                r=app.extensions["redis"],
            )
            db.session.remove()


def test_a_refund_completed_by_its_notification_stops_the_learning(site):
    learner = Learner(site)
    assert [learner.beacon(), learner.beacon()] == [200, 200]  # entitlements cached
    learner.request_refund()
    assert wait_for(lambda: learner.refund_status() == "SUCCESS")
    # The notification's handler drops the cached entitlements just after its commit (which
    # the status above shows): the beacon after that is refused.
    assert wait_for(learner.cache_dropped)
    assert learner.beacon() == 403


def test_a_refund_completed_by_reconciliation_stops_the_learning(site, monkeypatch):
    """The REFUND.SUCCESS notification is lost; `orders reconcile` asks WeChat Pay and finds
    the refund done: the next beacon is refused, not accepted for the cache's hour."""
    learner = Learner(site)
    assert [learner.beacon(), learner.beacon()] == [200, 200]  # entitlements cached
    pay = site.app.extensions["wechatpay"]
    with monkeypatch.context() as patch:
        patch.setattr(pay, "_notify_url", f"http://127.0.0.1:{free_port()}/pay/notify")
        learner.request_refund()
    assert learner.refund_status() == "PROCESSING"
    assert learner.beacon() == 200  # not refunded yet, as far as this side knows
    site.app.extensions["clock"].advance(600)
    result = site.app.test_cli_runner().invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0 and '"refunds_updated": 1' in result.output, result.output
    assert learner.refund_status() == "SUCCESS"
    assert learner.beacon() == 403


def test_wechat_pay_is_told_fixed_words_never_the_operators_note(site):
    """WeChat Pay may show the payer the refund's reason in its refund message: it gets the
    platform's fixed words, not what the operator typed (学员申请退费 here; it can be a name
    or a phone call)."""
    learner = Learner(site)
    learner.request_refund()
    refund_no = learner.refund(Refund.out_refund_no)
    sent = pay_store.load_refund(site.app.extensions["redis"], refund_no)
    assert sent is not None and sent["reason"] == "平台客服办理的退款，费用原路退回"
