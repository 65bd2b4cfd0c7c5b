"""Faults of the notification path (bench/faults.py measures them under load): WeChat's
API failing at the HTTP level, and a worker killed between a send and its commit."""

from __future__ import annotations

import sqlalchemy as sa

from models import Outbox, db
from tests.integration.test_notify_worker import OPENID, _course_learned, _rows, _trainee, _worker
from wxapp.sandbox import oa_state


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


def test_a_row_sent_again_after_a_lost_commit_reaches_the_trainee_once(live_server):
    """A worker killed after WeChat accepted the message but before `sent` was committed:
    the row is sent again once its claim expires, and WeChat (here the sandbox) drops the
    repeat by its client_msg_id."""
    app = live_server.app
    r = app.extensions["redis"]
    _course_learned(app, _trainee(app))
    assert _worker(app).drain() == 1
    with app.app_context():  # as if the commit of `sent` had never happened
        db.session.execute(
            sa.update(Outbox).values(status="pending", claimed_until=None, sent_at=None)
        )
        db.session.commit()

    assert _worker(app).drain() == 1
    [row] = _rows(app)
    assert row.status == "sent"
    assert len(oa_state.inbox(r, OPENID)) == 1
    assert oa_state.repeats(r) == 1
