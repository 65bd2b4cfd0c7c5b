"""Use cases of the progress engine: a beacon, a resume, and the entitlement cache behind them.

The warm path of a beacon is one Redis round trip and no database query. The cold paths
(chapter not in Redis yet, entitlement not cached or saying no, a completion) go to the
database and then retry the script.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, current_app

from wxapp.accounts.session_rules import ENDED_CODE, ENDED_MESSAGE, NO_MARK, SessionMark
from wxapp.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationError,
    field_label,
)
from wxapp.infra import limits
from wxapp.infra.observability import BEACONS
from wxapp.infra.transaction import transaction
from wxapp.progress import core, records
from wxapp.progress.completion import Completion, complete_chapter
from wxapp.progress.devices import device_label
from wxapp.progress.store import ProgressStore, ScriptResult, entitlement_key

SUPERSEDED_MESSAGE = "正在其他设备学习，本页面已停止记录学习进度"
PRESENCE_MISSED_MESSAGE = "长时间未确认，学习已暂停，请点击继续学习"
BEACONS_OK = BEACONS.labels(outcome="ok")  # the hot path's counter, looked up once


@dataclass(frozen=True)
class Beacon:
    chapter_id: int
    play_id: str
    seq: int
    start: float  # "from" on the wire
    end: float  # "to" on the wire
    position: float


@dataclass(frozen=True)
class Client:
    """Where a beacon came from, for the learning record."""

    device: str  # devices.device_label of its User-Agent
    address: str  # the client's IP as the app sees it (behind PROXY_COUNT proxies)

    @classmethod
    def of(cls, user_agent: str, address: str) -> Client:
        return cls(device_label(user_agent), address[:45])


NO_CLIENT = Client("", "")


def get_store(app: Flask | None = None) -> ProgressStore:
    """The app's progress store, built on first use and kept in app.extensions."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get("progress")
    if store is None:
        store = ProgressStore(
            app.extensions["redis"],
            slack_s=app.config["PROGRESS_SLACK_S"],
            ratio=app.config["PROGRESS_COMPLETE_RATIO"],
            presence=presence_rules(app.config),
        )
        app.extensions["progress"] = store
    return store


def presence_rules(config: Any) -> core.PresenceRules:
    """The 防挂机 settings (PRESENCE_*), or no checks when PRESENCE_CHECKS is off."""
    if not config.get("PRESENCE_CHECKS"):
        return core.NO_PRESENCE
    return core.PresenceRules(
        int(config["PRESENCE_MIN_S"]), int(config["PRESENCE_MAX_S"]), config["PRESENCE_ANSWER_S"]
    )


NOT_ENROLLED_MESSAGE = "该课程不在您已购买的培训项目中，请先购买"
NOT_ENROLLED_CODE = "not_enrolled"

Opener = Callable[[], AbstractContextManager[Any]]


def record_beacon(
    store: ProgressStore,
    trainee_id: int,
    beacon: Beacon,
    now: datetime,
    database: Opener = nullcontext,
    session: SessionMark = NO_MARK,
    client: Client = NO_CLIENT,
) -> dict:
    """Apply one beacon and answer what the player shows; 401 when `session` (the mark of
    the cookie that sent it) has ended, told by the same script call. `client` (its device
    and address) goes into the learning record when the play opens in the chapter.

    The warm path is the Redis call alone. The cold paths (chapter or entitlements not in
    Redis, a completion) use the database inside `database()`: a caller outside an app
    context passes `app.app_context`, which is then pushed only when needed.
    """
    try:
        result = _run(store, trainee_id, beacon, now, database, session, client)
    except AppError as refused:  # ended, superseded, not entitled, out of range, limited
        BEACONS.labels(outcome=refused.code).inc()
        raise
    BEACONS_OK.inc()
    plan_done, plan_required, plan_completed = _plan_info(result.plan_info)
    course_done = result.course_done
    if result.newly:
        with database():
            completion = _complete(store, trainee_id, beacon.chapter_id, result, now)
        course_done = course_done or completion.course_done
        standing = completion.plans.get(result.plan_id or 0)
        if standing is not None:
            plan_done, plan_required = standing.hours_done, standing.required_hours
            plan_completed = standing.completed
    return {
        "chapter_id": beacon.chapter_id,
        "watched_seconds": result.watched,
        "duration": result.duration,
        "percent": core.percent(result.watched, result.duration),
        "chapter_done": result.done,
        "course_done": course_done,
        "plan_id": result.plan_id,
        "plan_hours_done": float(plan_done),
        "plan_hours_required": plan_required,
        "plan_done": plan_completed,
        "presence": _check(store, result) if result.check_id else None,
    }


def _check(store: ProgressStore, result: ScriptResult) -> dict[str, Any]:
    """The presence check the player shows: answer it with POST /api/presence."""
    due = datetime.fromtimestamp(result.check_due_ms / 1000, UTC)
    return {
        "check_id": result.check_id,
        "due": due.isoformat(),
        "answer_by": (due + timedelta(seconds=store.presence.answer_s)).isoformat(),
    }


def answer_presence(
    store: ProgressStore, trainee_id: int, play_id: str, check_id: str, now: datetime
) -> dict[str, Any]:
    """The trainee answered a presence check from the play it was shown in."""
    status = store.answer(trainee_id, play_id, check_id, now.timestamp())
    if status == "paused":
        raise Conflict(PRESENCE_MISSED_MESSAGE, code="presence_missed")
    if status == "superseded":
        raise Conflict(SUPERSEDED_MESSAGE, code="superseded")
    if status == "unknown":
        raise NotFound("没有待确认的学习检查", code="presence_check_not_found")
    return {"ok": True}


def _run(
    store: ProgressStore,
    trainee_id: int,
    beacon: Beacon,
    now: datetime,
    database: Opener,
    session: SessionMark,
    client: Client = NO_CLIENT,
) -> ScriptResult:
    # At most: load the chapter (and the entitlements with it when none are cached),
    # refresh entitlements, then the warm call.
    refreshed = False
    for _ in range(3):
        result = store.beacon(
            trainee_id,
            beacon.chapter_id,
            beacon.play_id,
            beacon.seq,
            beacon.start,
            beacon.end,
            beacon.position,
            now.timestamp(),
            session,
            device=client.device,
            address=client.address,
        )
        if result.status == "ended":
            raise Unauthorized(ENDED_MESSAGE, code=ENDED_CODE)
        if result.status == "nochapter":
            with database():
                load_chapter(store, trainee_id, beacon.chapter_id)
                if not result.entitlements_cached:
                    refresh_entitlements(store, trainee_id)
                    refreshed = True
        elif result.status == "noent":
            if refreshed:  # just read from the database: no need to ask again
                raise Forbidden(NOT_ENROLLED_MESSAGE, code=NOT_ENROLLED_CODE)
            # A payment may have just entitled the trainee: ask the database before a 403.
            with database():
                ensure_entitled(store, trainee_id, result.course_id or 0, cached=False)
            refreshed = True
        elif result.status == "range":
            raise ValidationError(result.field, f"{field_label(result.field)}超出章节时长")
        elif result.status == "superseded":
            raise Conflict(SUPERSEDED_MESSAGE, code="superseded")
        elif result.status == "paused":
            raise Conflict(PRESENCE_MISSED_MESSAGE, code="presence_missed")
        elif result.status == "limited":
            raise TooManyRequests(limits.BEACON.message, code="rate_limited")
        else:
            return result
    raise RuntimeError("beacon script did not settle")  # pragma: no cover


def _complete(
    store: ProgressStore, trainee_id: int, chapter_id: int, result: ScriptResult, now: datetime
) -> Completion:
    """Write the completion (one transaction) before replying; if that fails, let the next
    beacon retry it."""
    state = store.chapter_state(trainee_id, chapter_id)
    intervals = core.decode(state.intervals) if state else []
    try:
        with transaction():
            completion = complete_chapter(
                trainee_id,
                chapter_id,
                result.course_id or 0,
                intervals,
                core.covered(intervals),
                state.position if state else 0,
                result.plan_id or 0,
                now,
            )
    except BaseException:  # rolled back by transaction()
        store.mark_undone(trainee_id, chapter_id)
        raise
    if completion.course_newly:
        # The cached 学时 and learned courses changed: the next beacon re-reads them.
        store.forget_entitlements(trainee_id)
    return completion


def _plan_info(info: str) -> tuple[Decimal, int, bool]:
    if not info:
        return Decimal(0), 0, False
    done, required, completed = info.split("|")
    return Decimal(done), int(required), completed == "1"


def load_chapter(store: ProgressStore, trainee_id: int, chapter_id: int) -> records.StoredChapter:
    """Seed Redis with the chapter and the trainee's durable progress in it (cold path)."""
    stored = records.load_chapter(trainee_id, chapter_id)
    if stored is None:
        raise NotFound("章节不存在", code="chapter_not_found")
    intervals = core.union(stored.intervals)
    store.load_chapter(
        trainee_id,
        chapter_id,
        duration=stored.duration,
        course_id=stored.course_id,
        intervals=core.encode(intervals),
        watched=core.covered(intervals),
        position=stored.position,
        done=stored.completed,
    )
    return stored


def ensure_entitled(
    store: ProgressStore, trainee_id: int, course_id: int, *, cached: bool = True
) -> int:
    """The plan through which the trainee may learn the course, or 403.

    With `cached`, a cached yes is enough; a no (or no cache) is always re-checked in the
    database, which also refreshes the cache.
    """
    if cached:
        plan = store.redis.hget(entitlement_key(trainee_id), f"c:{course_id}")
        if plan is not None:
            return int(plan)
    mapping = refresh_entitlements(store, trainee_id)
    plan = mapping.get(f"c:{course_id}")
    if plan is None:
        raise Forbidden(NOT_ENROLLED_MESSAGE, code=NOT_ENROLLED_CODE)
    return int(plan)


def forget_entitlements(trainee_id: int) -> None:
    """For a refund or a cancelled enrollment: the next beacon re-reads the database."""
    get_store().forget_entitlements(trainee_id)


def refresh_entitlements(store: ProgressStore, trainee_id: int) -> dict[str, Any]:
    generation = store.entitlement_generation(trainee_id)
    return remember_entitlements(
        store, trainee_id, *records.paid_plans(trainee_id), generation=generation
    )


def remember_entitlements(
    store: ProgressStore,
    trainee_id: int,
    plans: list[records.PaidPlan],
    learned: Collection[int],
    *,
    generation: str,
) -> dict[str, Any]:
    """Cache what `records.paid_plans` read (`generation`: the store's, read before it); 我的进度,
    which reads it anyway, calls this so the first beacon after it needs no entitlement query."""
    mapping = entitlement_mapping(plans, learned)
    store.set_entitlements(trainee_id, mapping, generation)
    return mapping


def entitlement_mapping(plans: list[records.PaidPlan], learned: Collection[int]) -> dict[str, Any]:
    """The cached form: course -> the plan it counts in for the reply, plan standings, learned.

    A course in several paid plans is shown against the unfinished, most recent one.
    """
    mapping: dict[str, Any] = {"_": 1}  # present even with no plan: "checked, nothing"
    for plan in sorted(plans, key=lambda p: (not p.completed, p.year, p.plan_id)):
        mapping[f"p:{plan.plan_id}"] = (
            f"{plan.hours_done}|{plan.required_hours}|{int(plan.completed)}"
        )
        for course_id in plan.course_ids:
            mapping[f"c:{course_id}"] = plan.plan_id  # later (preferred) plans overwrite
            if course_id in learned:
                mapping[f"k:{course_id}"] = 1
    return mapping


def resume(store: ProgressStore, trainee_id: int, chapter_id: int) -> dict:
    """Where the player starts and what it can draw as already learned."""
    state = store.chapter_state(trainee_id, chapter_id)
    if state is None:
        load_chapter(store, trainee_id, chapter_id)
        state = store.chapter_state(trainee_id, chapter_id)
        if state is None:  # pragma: no cover - evicted between the two calls
            raise NotFound("章节不存在", code="chapter_not_found")
    ensure_entitled(store, trainee_id, state.course_id)
    intervals = core.decode(state.intervals)
    return {
        "chapter_id": chapter_id,
        "position": state.position,
        "intervals": [list(iv) for iv in intervals],
        "watched_seconds": state.watched,
        "duration": state.duration,
        "percent": core.percent(state.watched, state.duration),
        "chapter_done": state.done,
    }
