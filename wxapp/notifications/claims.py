"""Claiming due outbox rows and recording what became of each (the database half).

A claim sets `claimed_until` (now + lease) in a transaction of its own, committed before
anything is sent, so the send happens outside any transaction and no row lock is held
across the network; each outcome is then recorded in a transaction of its own. The
value of `claimed_until` is the claim's token: a later claim always has a later one, so
an outcome is recorded only while the row still carries ours (`finish` compares it). A
worker that dies mid-send leaves a claim that expires; another worker then takes the row.
WeChat's later delivery report on a sent row (`wxapp.notifications.delivery`) is recorded
here too, against the row's `wechat_msgid` and only while the row is still `sent`.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` lets concurrent workers pick disjoint
rows without waiting for each other. SQLite (`make run`, one writer at a time): each row
is taken by a conditional UPDATE that only succeeds while the row is still free.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from models import Outbox, OutboxStatus, WechatBinding, db
from wxapp import events
from wxapp.infra.transaction import transaction
from wxapp.notifications.rules import Decision

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: int
    event_type: str
    trainee_id: int
    event: events.Event  # the row's payload, parsed into its class
    attempts: int  # including this one
    openid: str | None  # None: told by SMS, to the phone its event names
    claimed_until: datetime
    # The msgid of the row's send that WeChat accepted and then reported undelivered, if
    # any: the next send must not look like its repeat (`worker._client_msg_id`).
    last_msgid: int | None = None


@dataclass(frozen=True)
class Skipped:
    id: int
    reason: str
    status: str = OutboxStatus.SKIPPED


def _free(now: datetime) -> Any:
    return sa.and_(
        Outbox.status == OutboxStatus.PENDING,
        sa.or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
        sa.or_(Outbox.claimed_until.is_(None), Outbox.claimed_until <= now),
    )


def _take_rows(now: datetime, until: datetime, limit: int) -> list[Any]:
    columns = (
        Outbox.id,
        Outbox.event_type,
        Outbox.trainee_id,
        # As text, read row by row below: a value PostgreSQL keeps but Python's json cannot
        # load (an integer of thousands of digits) would otherwise fail the whole claim.
        sa.cast(Outbox.payload, sa.Text).label("payload"),
        Outbox.attempts,
        Outbox.wechat_msgid,
        Outbox.sent_at,
    )
    due = sa.select(*columns).where(_free(now)).order_by(Outbox.next_attempt_at, Outbox.id)
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.execute(due.limit(limit).with_for_update(skip_locked=True)).all()
        if rows:
            db.session.execute(
                sa.update(Outbox)
                .where(Outbox.id.in_([row.id for row in rows]))
                .values(claimed_until=until, attempts=Outbox.attempts + 1)
            )
        return rows
    taken = []
    for row in db.session.execute(due.limit(limit)).all():
        result = db.session.execute(
            sa.update(Outbox)
            .where(Outbox.id == row.id, _free(now))
            .values(claimed_until=until, attempts=Outbox.attempts + 1)
        )
        if result.rowcount == 1:
            taken.append(row)
    return taken


def claim_due(
    now: datetime,
    *,
    lease_s: float,
    limit: int,
    pushed: Collection[str],
    max_attempts: int,
    texted: Collection[str] = (),
) -> tuple[list[Job], list[Skipped]]:
    """Claim up to `limit` due rows in one transaction: the jobs to send, and the rows
    closed on the way: `skipped` (event not pushed, or no bound and following openid; a
    `WechatRebound` goes to the openid it names; the `texted` types go by SMS and need
    none), or
    `given_up` when earlier claims all expired unfinished (a row that kills its worker) or
    when the payload does not parse into its event class (`wxapp.events`)."""
    with transaction():
        return _claim(
            now,
            lease_s=lease_s,
            limit=limit,
            pushed=pushed,
            max_attempts=max_attempts,
            texted=texted,
        )


def _claim(
    now: datetime,
    *,
    lease_s: float,
    limit: int,
    pushed: Collection[str],
    max_attempts: int,
    texted: Collection[str],
) -> tuple[list[Job], list[Skipped]]:
    """`claim_due` inside its transaction."""
    until = now + timedelta(seconds=lease_s)
    rows = _take_rows(now, until, limit)
    trainee_ids = {row.trainee_id for row in rows}
    openids = dict(
        db.session.execute(
            sa.select(WechatBinding.trainee_id, WechatBinding.openid).where(
                WechatBinding.trainee_id.in_(trainee_ids), WechatBinding.following.is_(True)
            )
        ).all()
        if trainee_ids
        else []
    )
    jobs: list[Job] = []
    skipped: list[Skipped] = []
    for row in rows:
        if row.attempts >= max_attempts:
            skipped.append(
                Skipped(row.id, f"已认领 {row.attempts} 次仍未完成", OutboxStatus.GIVEN_UP)
            )
            continue
        try:
            event = events.parse(row.event_type, _loaded(row.event_type, row.payload))
        except events.MalformedEvent as err:
            # A producer's bug or a hand-written row: never sent with a made-up text.
            log.error("outbox %s given up, its payload does not parse: %s", row.id, err)
            skipped.append(Skipped(row.id, f"事件数据有误：{err}"[:500], OutboxStatus.GIVEN_UP))
            continue
        # A rebind (or customer service's phone replacement) is told to the WeChat user
        # bound until then, not to the new binding; an SMS notice needs no WeChat user.
        by_sms = row.event_type in texted
        if by_sms:
            openid = None
        elif isinstance(event, events.WechatRebound):
            openid = event.old_openid
        else:
            openid = openids.get(row.trainee_id)
        if not by_sms and row.event_type not in pushed:
            skipped.append(Skipped(row.id, "无需推送：此类事件只记录，不发微信消息"))
        elif not by_sms and openid is None:
            skipped.append(Skipped(row.id, "未绑定微信或未关注公众号"))
        else:
            jobs.append(
                Job(
                    id=row.id,
                    event_type=row.event_type,
                    trainee_id=row.trainee_id,
                    event=event,
                    attempts=row.attempts + 1,
                    openid=openid,
                    claimed_until=until,
                    # A due row with a sent_at was sent back by WeChat's report.
                    last_msgid=row.wechat_msgid if row.sent_at is not None else None,
                )
            )
    for item in skipped:
        db.session.execute(
            sa.update(Outbox)
            .where(Outbox.id == item.id)
            .values(status=item.status, last_error=item.reason, claimed_until=None)
        )
    return jobs, skipped


def _loaded(event_type: str, text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except (ValueError, RecursionError) as err:
        raise events.MalformedEvent(event_type, None, f"unreadable JSON ({err})"[:200]) from None


def _record(where: tuple[Any, ...], values: dict[str, Any]) -> bool:
    """Apply `values` to the one row `where` still picks, in a transaction of its own (or
    the caller's); the row's claim, if any, ends."""
    with transaction():
        result = db.session.execute(
            sa.update(Outbox).where(*where).values(claimed_until=None, **values)
        )
    return result.rowcount == 1


def _finish(job: Job, values: dict[str, Any]) -> bool:
    """Apply `values` only if the row is still pending under our claim."""
    return _record(
        (
            Outbox.id == job.id,
            Outbox.status == OutboxStatus.PENDING,
            Outbox.claimed_until == job.claimed_until,
        ),
        values,
    )


def mark_sent(job: Job, now: datetime, msgid: int | None = None) -> bool:
    """False when the claim was lost (expired and taken by another worker). `msgid`:
    WeChat's, which its delivery report will name (None for an SMS)."""
    return _finish(
        job,
        {"status": OutboxStatus.SENT, "sent_at": now, "last_error": None, "wechat_msgid": msgid},
    )


def _retry_values(retry_at: datetime, error: str, counts: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"next_attempt_at": retry_at, "last_error": error}
    if not counts:
        values["attempts"] = Outbox.attempts - 1
    return values


def _given_up_values(error: str) -> dict[str, Any]:
    return {"status": OutboxStatus.GIVEN_UP, "last_error": error}


def mark_retry(job: Job, retry_at: datetime, error: str, *, counts: bool = True) -> bool:
    """Send the row again at `retry_at`; `counts=False` gives the claim's attempt back."""
    return _finish(job, _retry_values(retry_at, error, counts))


def mark_given_up(job: Job, error: str, *, unfollowed: bool, now: datetime) -> bool:
    """Close the row as given up; on "not following" also stop pushing to that openid
    until WeChat's next subscribe event sets `following` again."""
    values = _given_up_values(error)
    if not unfollowed:
        return _finish(job, values)
    with transaction():  # the binding and the row together
        db.session.execute(
            sa.update(WechatBinding)
            .where(WechatBinding.openid == job.openid, WechatBinding.following.is_(True))
            .values(following=False, updated_at=now)
        )
        return _finish(job, values)


def release(job: Job) -> bool:
    """Give the row back unsent (the claim has too little time left for a send)."""
    return _finish(job, {"attempts": Outbox.attempts - 1})


# --- WeChat's delivery report on a sent row ----------------------------------------------


@dataclass(frozen=True)
class Reported:
    """The row a delivery report is about, as the report found it."""

    id: int
    status: str
    attempts: int  # the reported send's included


def reported_row(msgid: int) -> Reported | None:
    """The row whose latest accepted send has `msgid`; None while none has (the worker has
    not committed it yet, or the report is about a send long replaced)."""
    with transaction():  # ended at once: a second look must see what was committed since
        row = db.session.execute(
            sa.select(Outbox.id, Outbox.status, Outbox.attempts)
            .where(Outbox.wechat_msgid == msgid)
            .order_by(Outbox.id)
            .limit(1)
        ).first()
    return Reported(row.id, row.status, row.attempts) if row else None


def mark_reported_failed(row: Reported, msgid: int, decision: Decision) -> bool:
    """Record WeChat's report that the send `msgid` failed, with `rules.decide_report`'s
    decision: given up, or pending again at its `retry_at` (the reported send keeps its
    attempt, its `sent_at` and msgid). Only while the row is still `sent` under that msgid:
    a replayed report, or one that raced another, changes nothing. False when it changed
    nothing."""
    where = (
        Outbox.id == row.id,
        Outbox.wechat_msgid == msgid,
        Outbox.status == OutboxStatus.SENT,
    )
    if decision.give_up:
        return _record(where, _given_up_values(decision.error))
    values = _retry_values(decision.retry_at, decision.error, decision.counts)
    return _record(where, {**values, "status": OutboxStatus.PENDING})
