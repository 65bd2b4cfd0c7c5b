"""The notification worker: claim due outbox rows, send them, record each outcome.

Most events go to WeChat as template messages; those of `sms_notices.EVENTS` (the notice to
an account's old phone that it was replaced) go by SMS through Tencent Cloud
(`wxapp.sms.client.send_sms`), with the same claims, retries and outcomes. An SMS has no
`client_msg_id`: a worker killed between Tencent Cloud's acceptance and the commit sends it
again after the lease, the same narrow window.

Delivery is at least once. A row is marked `sent` in its own commit right after WeChat
accepted it; a worker killed between the two leaves the row claimed, the claim expires
after `NOTIFY_LEASE_S`, and another worker sends it again (WeChat drops the repeat when it
comes within ten minutes, thanks to `client_msg_id`). That window is one HTTP answer plus
one commit wide. Rows are never lost: nothing is deleted, and every row ends `sent`,
`given_up` or `skipped`. Each claimed row comes parsed into its `wxapp.events` class; one
whose payload does not parse is given up at the claim with the reason logged as an error,
never sent with a made-up text.

`sent` means WeChat accepted the message: the row keeps WeChat's msgid, and WeChat's later
report on it (TEMPLATESENDJOBFINISH, `delivery`) may give the row up or send it again. A
row sent again after such a report gets a new `client_msg_id`, or WeChat would drop it as
a repeat of the failed one.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import redis
import requests
import sqlalchemy.exc
from flask import Flask
from wechatpy.exceptions import WeChatClientException

from models import db
from wxapp.infra.observability import PUSHES
from wxapp.notifications import claims, delivery, rules, signal, sms_notices, templates
from wxapp.notifications.claims import Job
from wxapp.sms.client import SmsUnavailable, send_sms
from wxapp.wechat.client import build_wechat_client

log = logging.getLogger(__name__)

# A send (token refresh included) takes at most about two client timeouts: a row whose
# claim has less left than this goes back unsent rather than risk a second sender.
SEND_BUDGET_S = 30


def configured_templates(config: Any) -> dict[str, templates.Template]:
    """The pushed event types whose template is set up (the others are skipped)."""
    found = {}
    for event_type, (name, _, _) in templates.EVENTS.items():
        template_id = config.get(f"WECHAT_TEMPLATE_{name}")
        if template_id:
            found[event_type] = templates.Template(
                template_id, config[f"WECHAT_TEMPLATE_{name}_FIELDS"]
            )
    return found


class Worker:
    """One sender. Several may run at once (threads or processes); see `claims`."""

    def __init__(
        self,
        app: Flask,
        client: Any,
        *,
        batch: int | None = None,
        poll_s: float | None = None,
        name: str = "worker",
    ):
        cfg = app.config
        self.app = app
        self.client = client
        self.name = name
        self.batch = batch or int(cfg["NOTIFY_BATCH"])
        self.poll_s = poll_s if poll_s is not None else float(cfg["NOTIFY_POLL_S"])
        self.lease_s = float(cfg["NOTIFY_LEASE_S"])
        self.policy = delivery.RetryPolicy.from_config(cfg)  # attempts and backoff
        self.public_base = cfg["PUBLIC_BASE_URL"]
        self.templates = configured_templates(cfg)
        self.redis: redis.Redis = app.extensions["redis"]
        self.stop_event = threading.Event()
        self.waiting = threading.Event()  # set while blocked on the wake-up (tests read it)
        self.thread: threading.Thread | None = None  # set when run in a thread of its own
        self.counts = {"sent": 0, "retry": 0, "given_up": 0, "skipped": 0, "lost": 0}

    @property
    def clock(self) -> Any:
        return self.app.extensions["clock"]  # read each time: tests swap in a FakeClock

    # --- one batch -------------------------------------------------------------------

    def run_batch(self) -> int:
        """Claim and handle one batch; the number of rows claimed (0: nothing due)."""
        with self.app.app_context():
            try:
                jobs, skipped = claims.claim_due(
                    self.clock.now(),
                    lease_s=self.lease_s,
                    limit=self.batch,
                    pushed=self.templates.keys(),
                    max_attempts=self.policy.max_attempts,
                    texted=sms_notices.EVENTS.keys(),
                )
                for item in skipped:
                    self._count(item.status)
                for job in jobs:
                    self._handle(job)
            finally:
                db.session.remove()
        return len(jobs) + len(skipped)

    def drain(self) -> int:
        """Run batches until nothing is due; the number of rows handled."""
        total = 0
        while not self.stop_event.is_set():
            n = self.run_batch()
            if not n:
                break
            total += n
        return total

    def _handle(self, job: Job) -> None:
        if self.clock.now() + timedelta(seconds=SEND_BUDGET_S) > job.claimed_until:
            claims.release(job)
            return
        if job.openid is None:
            self._text(job)
            return
        try:
            body = templates.render(
                event=job.event,
                openid=job.openid,
                template=self.templates[job.event_type],
                public_base=self.public_base,
                client_msg_id=_client_msg_id(job),
            )
            answer = self.client.post("message/template/send", data=body)
        except WeChatClientException as err:
            self._failed(job, err.errcode, err.errmsg)
        except (requests.RequestException, redis.RedisError) as err:
            self._failed(job, None, type(err).__name__)
        except Exception as err:  # a bug must cost one row its retries, not the worker
            log.exception("outbox %s could not be sent", job.id)
            self._failed(job, None, f"内部错误 {type(err).__name__}")
        else:
            if "msgid" not in answer:
                # The client already refuses an answer that is not JSON (a proxy's page);
                # WeChat's acceptance of a template message always carries its msgid.
                self._failed(job, None, "微信应答无法识别")
                return
            msgid = _msgid(answer["msgid"])
            if not claims.mark_sent(job, self.clock.now(), msgid):
                self._lost(job)
                return
            self._count("sent")
            if msgid is not None:
                self._take_report(job, msgid)

    def _take_report(self, job: Job, msgid: int) -> None:
        """Apply WeChat's delivery report if it came before our commit (`delivery`)."""
        try:
            delivery.take_waiting(self.redis, msgid, self.policy, self.clock.now())
        except redis.RedisError as err:  # kept an hour; only lost if Redis stays away
            log.warning("outbox %s: could not look for its delivery report: %s", job.id, err)

    def _text(self, job: Job) -> None:
        """Send an SMS notice (the claim said it goes by SMS) and record the outcome."""
        try:
            sms = sms_notices.render(job.event)
            send_sms(self.app.config, sms.phone, self.app.config[sms.template_setting], sms.params)
        except SmsUnavailable as err:  # the client logged Tencent Cloud's code and request
            self._failed(job, err.provider_code, None)
        except Exception as err:  # a bug must cost one row its retries, not the worker
            log.exception("outbox %s could not be sent", job.id)
            self._failed(job, None, f"内部错误 {type(err).__name__}")
        else:
            if claims.mark_sent(job, self.clock.now()):
                self._count("sent")
            else:
                self._lost(job)

    def _lost(self, job: Job) -> None:
        # Our claim expired and another worker took the row: it may be sent twice.
        log.warning("outbox %s sent after its claim was lost", job.id)
        self._count("lost")

    def _failed(self, job: Job, errcode: int | str | None, errmsg: str | None) -> None:
        now = self.clock.now()
        decision = rules.decide(
            errcode,
            errmsg,
            attempts=job.attempts,
            max_attempts=self.policy.max_attempts,
            now=now,
            base_s=self.policy.base_s,
            cap_s=self.policy.cap_s,
        )
        if decision.give_up:
            log.warning("outbox %s given up: %s", job.id, decision.error)
            claims.mark_given_up(
                job, decision.error, unfollowed=errcode == rules.UNSUBSCRIBED, now=now
            )
            self._count("given_up")
        else:
            log.info("outbox %s retried at %s: %s", job.id, decision.retry_at, decision.error)
            claims.mark_retry(job, decision.retry_at, decision.error, counts=decision.counts)
            self._count("retry")

    def _count(self, outcome: str, n: int = 1) -> None:
        if n:
            self.counts[outcome] += n
            PUSHES.labels(outcome=outcome).inc(n)

    # --- the loop --------------------------------------------------------------------

    def run_forever(self) -> None:
        """Drain, then wait for a wake-up (or the fallback poll); until `stop()`."""
        if len(self.templates) < len(templates.EVENTS):
            missing = sorted(set(templates.EVENTS) - set(self.templates))
            log.warning("no template configured for %s: those events are skipped", missing)
        log.info("notification worker %s started (poll %ss)", self.name, self.poll_s)
        while not self.stop_event.is_set():
            try:
                self.drain()
                self.waiting.set()
                signal.wait(
                    self.redis, self.poll_s, self.stop_event, self.app.config["REDIS_TIMEOUT_S"]
                )
                self.waiting.clear()
            except (sqlalchemy.exc.SQLAlchemyError, redis.RedisError) as err:
                # The database or Redis is away: keep the process, try again shortly.
                log.error("notification worker %s: %s; retrying", self.name, err)
                self.stop_event.wait(min(self.poll_s, 5))
            except Exception:
                log.exception("notification worker %s: unexpected error; retrying", self.name)
                self.stop_event.wait(min(self.poll_s, 5))
        log.info("notification worker %s stopped", self.name)

    def stop(self) -> None:
        self.stop_event.set()


def _client_msg_id(job: Job) -> str:
    """`outbox-<id>`: WeChat drops a repeat of the same row's send for ten minutes. After
    WeChat reported a send undelivered, the next one must not be dropped as its repeat."""
    if job.last_msgid is None:
        return f"outbox-{job.id}"
    return f"outbox-{job.id}-{job.last_msgid}"


def _msgid(value: Any) -> int | None:
    """WeChat's msgid as the BIGINT it is kept in; None for one that is no such number."""
    if isinstance(value, bool):
        return None
    try:
        msgid = int(value)
    except (TypeError, ValueError):
        return None
    return msgid if 0 < msgid < 2**63 else None


def start_inprocess(app: Flask) -> None:
    """With NOTIFY_INPROCESS on (`make run`), run one worker in a daemon thread of this
    process; production runs `flask --app wsgi notify worker` processes instead."""
    if not app.config.get("NOTIFY_INPROCESS"):
        return
    # Its own client: a requests session is not shared between threads.
    worker = Worker(app, build_wechat_client(app), name="inprocess")
    app.extensions["notify_worker"] = worker
    worker.thread = threading.Thread(target=worker.run_forever, name="notify-worker", daemon=True)
    worker.thread.start()
