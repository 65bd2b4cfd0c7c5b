"""Faults of the notification path (bench/faults.py measures them under load): WeChat's
API failing at the HTTP level, a worker killed between a send and its commit, and a row
whose payload does not parse into its event."""

from __future__ import annotations

import logging
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from models import Outbox, db
from tests.integration.test_notify_worker import OPENID, _course_learned, _rows, _trainee, _worker
from wxapp.infra.clock import local
from wxapp.sandbox import oa_state

CLAIMS_LOGGER = "wxapp.notifications.claims"


def test_a_failing_gateway_is_retried_later_then_sent_once(live_server):
    app = live_server.app
    r = app.extensions["redis"]
    clock = app.extensions["clock"]
    _course_learned(app, _trainee(app))
    oa_state.set_switches(r, fail_http=502)

    _worker(app).drain()
    [row] = _rows(app)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert oa_state.inbox(r, OPENID) == []

    oa_state.reset_switches(r)
    clock.advance(app.config["NOTIFY_BACKOFF_S"])
    assert _worker(app).drain() == 1
    [row] = _rows(app)
    assert row.status == "sent"
    assert len(oa_state.inbox(r, OPENID)) == 1


def test_a_gateway_page_answered_with_200_is_not_taken_for_a_sent_push(live_server):
    """A proxy or firewall in front of WeChat answers 200 with a page of its own: nobody got
    the message, so the row is retried, not closed as sent."""
    app = live_server.app
    r = app.extensions["redis"]
    clock = app.extensions["clock"]
    _course_learned(app, _trainee(app))
    assert _worker(app).client.access_token  # held from before; only the send meets the page
    oa_state.set_switches(r, fail_http=200)

    _worker(app).drain()
    [row] = _rows(app)
    assert (row.status, row.attempts) == ("pending", 1), row.last_error
    assert oa_state.inbox(r, OPENID) == []

    oa_state.reset_switches(r)
    clock.advance(app.config["NOTIFY_BACKOFF_S"])
    assert _worker(app).drain() == 1
    assert [row.status for row in _rows(app)] == ["sent"]
    assert len(oa_state.inbox(r, OPENID)) == 1


def test_a_day_over_wechats_quota_waits_for_the_next_morning_and_gives_nothing_up(live_server):
    """45009: the account used up the day's template messages (a year-end rush can). Retrying
    within the day cannot help, and eight doubling retries would give every push up about an
    hour later. Each such row waits for the next morning, 08:00 Beijing time (not midnight,
    which would wake the trainee), and keeps its attempts."""
    app = live_server.app
    r = app.extensions["redis"]
    clock = app.extensions["clock"]
    _course_learned(app, _trainee(app))
    oa_state.set_switches(r, fail_errcode=45009)  # until reset

    for day in range(1, 11):  # ten days over the quota
        _worker(app).drain()
        [row] = _rows(app)
        assert (row.status, row.attempts) == ("pending", 0), (day, row.last_error)
        assert "45009" in row.last_error
        due = local(row.next_attempt_at)
        assert (due.date() - local(clock.now()).date(), due.time()) == (timedelta(days=1), time(8))
        clock.set(row.next_attempt_at)
    assert oa_state.inbox(r, OPENID) == []

    oa_state.reset_switches(r)
    assert _worker(app).drain() == 1
    assert [row.status for row in _rows(app)] == ["sent"]
    assert len(oa_state.inbox(r, OPENID)) == 1


def test_a_row_sent_again_after_a_lost_commit_reaches_the_trainee_once(live_server):
    """A worker killed after WeChat accepted the message but before `sent` was committed:
    the row is sent again once its claim expires, and WeChat (here the sandbox) drops the
    repeat by its client_msg_id."""
    app = live_server.app
    r = app.extensions["redis"]
    _course_learned(app, _trainee(app))
    assert _worker(app).drain() == 2  # the course sent, its chapter skipped
    with app.app_context():  # as if the commit of `sent` had never happened
        db.session.execute(
            sa.update(Outbox)
            .where(Outbox.event_type == "course_learned")
            .values(status="pending", claimed_until=None, sent_at=None)
        )
        db.session.commit()

    assert _worker(app).drain() == 1
    [row] = _rows(app)
    assert row.status == "sent"
    assert len(oa_state.inbox(r, OPENID)) == 1
    assert oa_state.repeats(r) == 1


@pytest.fixture
def claims_log(caplog):
    """caplog with the claims' logger live (Alembic's fileConfig, run by the session's
    `flask db upgrade`, disabled every logger that existed then)."""
    logger = logging.getLogger(CLAIMS_LOGGER)
    was_disabled, logger.disabled = logger.disabled, False
    caplog.set_level(logging.ERROR, logger=CLAIMS_LOGGER)
    yield caplog
    logger.disabled = was_disabled


def _raw_row(app, trainee_id: int, event_type: str, subject: str, payload) -> int:
    """An outbox row written by hand, on purpose: what no producer can write any more."""
    with app.app_context():
        now = app.extensions["clock"].now()
        row = Outbox(
            event_type=event_type,
            trainee_id=trainee_id,
            subject=subject,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_a_payload_that_does_not_parse_is_given_up_and_never_sent(live_server, claims_log):
    app = live_server.app
    trainee_id = _trainee(app)
    no_title = _raw_row(
        app, trainee_id, "course_learned", "course:7", {"course_id": 7, "hours": "30"}
    )
    float_fen = _raw_row(
        app,
        trainee_id,
        "payment_succeeded",
        "order:WX1",
        {
            "out_trade_no": "WX1",
            "kind": "individual",
            "plan_id": 1,
            "plan_title": "2025年专业科目",
            "description": "2025年专业科目",
            "amount_fen": 90.0,
            "quantity": 1,
        },
    )
    unknown = _raw_row(app, trainee_id, "grade_posted", "grade:1", {"grade": 90})

    worker = _worker(app)
    assert worker.drain() == 3
    assert worker.counts["given_up"] == 3 and worker.counts["sent"] == 0
    assert oa_state.inbox(app.extensions["redis"], OPENID) == []
    errors = {row.id: (row.status, row.last_error) for row in _rows(app)}
    assert errors == {
        no_title: ("given_up", "事件数据有误：course_learned: field 'course_title' is missing"),
        float_fen: (
            "given_up",
            "事件数据有误：payment_succeeded: field 'amount_fen' must be an integer, got float",
        ),
        unknown: ("given_up", "事件数据有误：grade_posted: unknown event type"),
    }
    logged = [r.getMessage() for r in claims_log.records if r.levelno == logging.ERROR]
    assert len(logged) == 3
    for outbox_id, words in [
        (no_title, ("course_learned", "course_title")),
        (float_fen, ("payment_succeeded", "amount_fen")),
        (unknown, ("grade_posted",)),
    ]:
        assert any(
            m.startswith(f"outbox {outbox_id} ") and all(w in m for w in words) for m in logged
        ), logged


def test_a_payload_python_cannot_read_is_given_up_and_the_rest_still_sent(live_server, claims_log):
    """PostgreSQL keeps JSON that Python's json refuses to load (an integer of 5,000
    digits, written by hand): that row alone is given up; it does not hold up the pushes
    due after it, batch after batch."""
    app = live_server.app
    trainee_id = _trainee(app)
    odd = _raw_row(app, trainee_id, "course_learned", "course:hand-written", {"course_id": 1})
    with app.app_context():
        db.session.execute(
            sa.text(
                "UPDATE outbox SET payload = jsonb_set(payload, '{course_id}', CAST(:n AS jsonb))"
                " WHERE id = :id"
            ),
            {"n": "9" * 5000, "id": odd},
        )
        db.session.commit()
    _course_learned(app, trainee_id)

    worker = _worker(app)
    assert worker.drain() == 3  # with the course's chapter_learned row, never pushed
    assert (worker.counts["given_up"], worker.counts["sent"]) == (1, 1), worker.counts
    assert len(oa_state.inbox(app.extensions["redis"], OPENID)) == 1
    with app.app_context():
        statuses = dict(
            db.session.execute(sa.select(Outbox.id, Outbox.status.concat(Outbox.last_error)))
            .tuples()
            .all()
        )
    assert statuses[odd].startswith("given_up事件数据有误")


def test_a_row_written_before_the_event_classes_still_sends(live_server):
    """Rows already in the database when the typed events shipped: 学时 as floats, the plan
    in flat plan_* keys, exactly as the progress engine wrote them until then."""
    app = live_server.app
    legacy = {
        "course_id": 7,
        "course_title": "建筑安全实务",
        "hours": 30.0,
        "plan_id": 3,
        "plan_title": "2025年专业科目培训项目",
        "plan_hours_done": 30.0,
        "plan_hours_required": 60,
        "plan_percent": 50,
    }
    _raw_row(app, _trainee(app), "course_learned", "course:7", legacy)

    assert _worker(app).drain() == 1
    [message] = oa_state.inbox(app.extensions["redis"], OPENID)
    assert message["data"] == {
        "thing1": {"value": "建筑安全实务"},
        "thing2": {"value": "30学时"},
        "thing3": {"value": "计划已完成30/60学时"},
    }
