"""WeChat's delivery report on a template message it accepted (TEMPLATESENDJOBFINISH).

The msgid in the send's answer only says that WeChat took the request; whether the message
reached the user comes later, pushed to /wechat with that msgid and a Status. The report is
applied to the row marked `sent` with that msgid (`Outbox.wechat_msgid`) and to no other, so
a replayed report, or one about an earlier send of a row sent again since, changes nothing:
- `success`: nothing changes;
- `failed:user block` (the user refuses the account's messages): given up, as a 43101 is;
- any other failure: pending again after the worker's backoff, the reported send counting
  as an attempt; past NOTIFY_MAX_ATTEMPTS given up (`rules.decide_report`).

WeChat may report before the worker has committed the msgid (it answers the send, then the
report races the worker's commit). A report that finds no row is kept in Redis for an hour,
a key per msgid; the worker, once it committed a msgid, takes (GETDEL) the report waiting
for it and applies it. Each side writes first and looks second (the report: SET, then the
database; the worker: commit, then GETDEL), so one of them always sees the other, and the
GETDEL lets only one apply it. Single-key commands only: fine on Redis Cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from models import OutboxStatus
from wxapp.notifications import claims, rules, signal

log = logging.getLogger(__name__)

REPORT_KEY = "notify:report:"  # + msgid; no hash tag: never named with another key
REPORT_TTL_S = 3600


@dataclass(frozen=True)
class Report:
    msgid: int
    status: str  # success, failed:user block, failed: system failed

    @property
    def failed(self) -> bool:
        return self.status.startswith(rules.REPORT_FAILED)


@dataclass(frozen=True)
class RetryPolicy:
    """The worker's attempt limit and backoff, which a reported failure follows too."""

    max_attempts: int
    base_s: float
    cap_s: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        return cls(
            int(config["NOTIFY_MAX_ATTEMPTS"]),
            float(config["NOTIFY_BACKOFF_S"]),
            float(config["NOTIFY_BACKOFF_MAX_S"]),
        )


def receive(r: redis.Redis, report: Report, policy: RetryPolicy, now: datetime) -> None:
    """Apply a report from /wechat to its row, or keep it for the worker that has not yet
    committed its msgid."""
    if not report.failed:
        return  # success: whenever its row is committed, nothing about it changes
    if _apply(r, report, policy, now):
        return
    key = REPORT_KEY + str(report.msgid)
    r.set(key, report.status, ex=REPORT_TTL_S)
    # The worker may have committed the msgid and looked for a report between our look and
    # the SET: look again; whichever of us takes the report applies it.
    if claims.reported_row(report.msgid) is not None:
        status = r.getdel(key)
        if status is not None:
            _apply(r, Report(report.msgid, status), policy, now)


def take_waiting(r: redis.Redis, msgid: int, policy: RetryPolicy, now: datetime) -> None:
    """After a row was marked sent with `msgid`: apply the report that came first, if any."""
    status = r.getdel(REPORT_KEY + str(msgid))
    if status is not None:
        _apply(r, Report(msgid, status), policy, now)


def _apply(r: redis.Redis, report: Report, policy: RetryPolicy, now: datetime) -> bool:
    """False when no row has the report's msgid (yet); True when one has, changed or not."""
    row = claims.reported_row(report.msgid)
    if row is None:
        return False
    if row.status != OutboxStatus.SENT:
        return True  # already reported (a replay), or given up or sent again since
    decision = rules.decide_report(
        report.status,
        attempts=row.attempts,
        max_attempts=policy.max_attempts,
        now=now,
        base_s=policy.base_s,
        cap_s=policy.cap_s,
    )
    if decision is None or not claims.mark_reported_failed(row, report.msgid, decision):
        return True
    if decision.give_up:
        log.warning("outbox %s given up on WeChat's report: %s", row.id, decision.error)
        return True
    log.info("outbox %s retried at %s: %s", row.id, decision.retry_at, decision.error)
    try:
        signal.wake(r)
    except redis.RedisError as err:  # the row stands; the workers' poll picks it up
        log.warning("could not wake the notification workers: %s", err)
    return True
