"""WeChat's delivery report (TEMPLATESENDJOBFINISH) on the template messages the worker sent:
the worker sends through the live sandbox, which reports each message to /wechat as WeChat
does; a report WeChat sends before the worker committed the msgid is posted here from
WeChat's side (tests/wechat_wire.py)."""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from models import Outbox, db
from tests.integration.test_notify_worker import OPENID, _course_learned, _rows, _trainee, _worker
from tests.wechat_wire import WeChat, report_xml
from wxapp.notifications import claims, delivery
from wxapp.sandbox import oa_state


def _wait_for_reports(app, n: int) -> None:
    """Until /wechat has answered the sandbox's `n`-th delivery report (each is posted once
    the send's answer has gone out, so possibly after the worker's drain returned)."""
    r = app.extensions["redis"]
    deadline = time.monotonic() + 10
    while oa_state.reports(r) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert oa_state.reports(r) == n


def _wechat(app) -> WeChat:
    cfg = app.config
    return WeChat(
        app.test_client(), cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APP_ID"]
    )


def _report(app, msgid, status: str, *, later_s: int = 0) -> None:
    """WeChat's report posted to /wechat; `later_s` moves its CreateTime (a replay that
    the callback's retry dedupe does not catch)."""
    when = int(app.extensions["clock"].now().timestamp()) + later_s
    res = _wechat(app).post(report_xml(OPENID, msgid, status, when=when))
    assert res.status_code == 200 and res.get_data(as_text=True) == "success"


def _sent_one(app) -> Outbox:
    """A learned course's message sent by the worker, its report answered."""
    _course_learned(app, _trainee(app))
    _worker(app).drain()
    _wait_for_reports(app, 1)
    [row] = _rows(app)
    return row


def test_a_message_the_user_blocks_is_given_up_with_the_reason(live_server):
    app = live_server.app
    r = app.extensions["redis"]
    oa_state.set_switches(r, blocked=[OPENID])

    row = _sent_one(app)

    assert row.status == "given_up" and row.attempts == 1
    assert row.last_error.startswith("43101 用户拒收消息")
    assert "failed:user block" in row.last_error
    assert oa_state.inbox(r, OPENID) == []
    assert _worker(app).drain() == 0  # never sent again


def test_a_message_wechat_failed_to_deliver_is_sent_again_after_the_backoff(live_server):
    app = live_server.app
    r = app.extensions["redis"]
    clock = app.extensions["clock"]
    oa_state.set_switches(r, undelivered=[OPENID])

    row = _sent_one(app)
    assert row.status == "pending" and row.attempts == 1
    assert "failed: system failed" in row.last_error
    assert (row.next_attempt_at - clock.now()).total_seconds() == app.config["NOTIFY_BACKOFF_S"]
    assert oa_state.inbox(r, OPENID) == []

    oa_state.reset_switches(r)
    assert _worker(app).drain() == 0  # not due yet
    clock.advance(app.config["NOTIFY_BACKOFF_S"])
    assert _worker(app).drain() == 1
    _wait_for_reports(app, 2)
    [row] = _rows(app)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    # The trainee gets it now: WeChat did not drop it as a repeat of the undelivered send.
    [message] = oa_state.inbox(r, OPENID)
    assert message["msgid"] == row.wechat_msgid
    assert oa_state.repeats(r) == 0


def test_reported_failures_count_as_attempts_until_given_up(live_server):
    app = live_server.app
    r = app.extensions["redis"]
    clock = app.extensions["clock"]
    app.config["NOTIFY_MAX_ATTEMPTS"] = 2
    oa_state.set_switches(r, undelivered=[OPENID])

    row = _sent_one(app)
    assert row.status == "pending" and row.attempts == 1

    clock.advance(app.config["NOTIFY_BACKOFF_S"])
    assert _worker(app).drain() == 1
    _wait_for_reports(app, 2)
    [row] = _rows(app)
    assert row.status == "given_up" and row.attempts == 2
    assert "failed: system failed" in row.last_error and "已重试 2 次" in row.last_error
    assert oa_state.inbox(r, OPENID) == []


def test_a_success_report_changes_nothing(live_server):
    app = live_server.app
    r = app.extensions["redis"]

    row = _sent_one(app)

    assert row.status == "sent" and row.attempts == 1 and row.last_error is None
    [message] = oa_state.inbox(r, OPENID)
    assert row.wechat_msgid == message["msgid"]  # the report named the send's msgid
    _report(app, row.wechat_msgid, "success", later_s=1)
    assert _rows(app)[0].status == "sent"


def test_a_replayed_report_changes_nothing_the_second_time(live_server):
    app = live_server.app
    r = app.extensions["redis"]
    clock = app.extensions["clock"]
    oa_state.set_switches(r, undelivered=[OPENID])
    first = _sent_one(app)
    assert first.status == "pending" and first.attempts == 1
    failed_msgid = first.wechat_msgid

    _report(app, failed_msgid, oa_state.SYSTEM_FAILED, later_s=30)
    [row] = _rows(app)
    assert (row.status, row.attempts, row.next_attempt_at, row.last_error) == (
        first.status,
        first.attempts,
        first.next_attempt_at,
        first.last_error,
    )

    oa_state.reset_switches(r)
    clock.advance(app.config["NOTIFY_BACKOFF_S"])
    assert _worker(app).drain() == 1
    _wait_for_reports(app, 2)
    # The first send's report again, now that the row was sent again under a new msgid.
    _report(app, failed_msgid, oa_state.SYSTEM_FAILED, later_s=60)
    _report(app, failed_msgid, oa_state.USER_BLOCK, later_s=61)
    [row] = _rows(app)
    assert row.status == "sent" and row.attempts == 2 and row.wechat_msgid != failed_msgid
    assert len(oa_state.inbox(r, OPENID)) == 1


def test_a_report_that_comes_before_the_msgid_is_committed_is_applied(live_server, monkeypatch):
    """WeChat answers the send, then reports while the worker is still committing: the
    report finds no row, waits in Redis, and the worker applies it after its commit."""
    app = live_server.app
    r = app.extensions["redis"]
    mark_sent = claims.mark_sent
    kept = []

    def report_first(job, now, msgid=None):
        _report(app, msgid, oa_state.USER_BLOCK, later_s=1)  # the sandbox's own says success
        kept.append(
            (r.get(delivery.REPORT_KEY + str(msgid)), r.ttl(delivery.REPORT_KEY + str(msgid)))
        )
        return mark_sent(job, now, msgid)

    monkeypatch.setattr(claims, "mark_sent", report_first)
    _course_learned(app, _trainee(app))
    _worker(app).drain()
    _wait_for_reports(app, 1)

    [(status, ttl)] = kept
    assert status == oa_state.USER_BLOCK and 3500 < ttl <= 3600
    [row] = _rows(app)
    assert row.status == "given_up" and row.last_error.startswith("43101 用户拒收消息")
    assert r.exists(delivery.REPORT_KEY + str(row.wechat_msgid)) == 0  # taken


def test_a_forged_report_is_answered_and_changes_nothing(live_server, caplog):
    """A signed body may hold anything where the msgid or the status should be: answered
    `success` (as every failure is), and without an error on the way."""
    app = live_server.app
    row = _sent_one(app)
    caplog.set_level(logging.ERROR)
    for i, (msgid, status) in enumerate(
        [
            ("abc", oa_state.USER_BLOCK),
            ("9" * 5000, oa_state.USER_BLOCK),
            (str(2**64), oa_state.USER_BLOCK),
            ("-1", oa_state.USER_BLOCK),
            (row.wechat_msgid, "perhaps"),
        ]
    ):
        _report(app, msgid, status, later_s=10 + i)
    # Markup where a single text belongs is refused before anything reads it.
    for i, (msgid, status) in enumerate(
        [("<a>1</a>", oa_state.USER_BLOCK), (row.wechat_msgid, "]]><x>1</x><![CDATA[")]
    ):
        when = int(app.extensions["clock"].now().timestamp()) + 30 + i
        refused = _wechat(app).post(report_xml(OPENID, msgid, status, when=when))
        assert refused.status_code == 400
    assert [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR] == []
    assert _rows(app)[0].status == "sent"

    _report(app, row.wechat_msgid, oa_state.USER_BLOCK, later_s=60)
    assert _rows(app)[0].status == "given_up"
    with app.app_context():
        left = db.session.execute(sa.select(sa.func.count()).select_from(Outbox)).scalar_one()
    assert left == 2  # the course's row and its chapter's: nothing else was touched


def test_reports_on_two_messages_to_one_user_in_one_second_are_both_applied(live_server):
    """WeChat's retry dedupe for events is sender + CreateTime: the reports' MsgID keeps
    two reports apart."""
    app = live_server.app
    r = app.extensions["redis"]
    trainee_id = _trainee(app)
    _course_learned(app, trainee_id)
    _course_learned(app, trainee_id)
    oa_state.set_switches(r, blocked=[OPENID])

    _worker(app).drain()
    _wait_for_reports(app, 2)

    assert [row.status for row in _rows(app)] == ["given_up", "given_up"]
