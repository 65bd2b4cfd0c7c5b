"""The unit page's 应训未训 list: the unit's staff for a year, filtered, counted, reminded.

Filters (both optional, both also carried by the xlsx download):
- `kind` — 公需 (`public`) or 专业 (`specialist`): judge each trainee by that kind alone;
  without it, by the whole year (both kinds, `year_standing`).
- `state`, judged on the kind(s) above, each kind counting up to its requirement:
  - 未开始 `not_started`: no 学时 at all yet;
  - 学习中 `learning`: some 学时, requirement not met yet;
  - 未达标 `unmet`: requirement not met (= 未开始 + 学习中: the 应训未训 list);
  - 已达标 `met`: requirement met.
Counts are given for every state under the chosen `kind`, whatever `state` is chosen.

Each row also says whether the trainee holds a paid place in the year's 公需 and 专业 plans
(`bought`: whom to leave out of 团体购买) and whether the account is activated (`activated`:
a bulk-registered account still on its initial password has never logged in, so it has no
WeChat binding and 一键提醒 cannot reach it); `summary` counts both over the whole unit.
Nothing more about a person: anyone can choose a unit in 个人信息, so the list shows no phone
number and only the masked ID number. One more grouped query gives all of it, whatever the
unit's size.

一键提醒 (`remind_unmet`) sends a template message through the outbox to each trainee of the
list who is 未达标 under the chosen `kind` and whose WeChat account is bound and follows the
official account; a trainee reminded (by anyone) within the last 7 days is skipped, so a
second press within the week sends nothing. Presses for one unit are serialised by a row
lock on the unit, so two administrators pressing at once do not both send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import (
    Enrollment,
    EnrollmentStatus,
    Trainee,
    TrainingPlan,
    Unit,
    UnitReminder,
    WechatBinding,
    db,
)
from wxapp import events, outbox
from wxapp.errors import NotFound, ValidationError
from wxapp.infra.clock import local
from wxapp.infra.dbutil import execute
from wxapp.infra.replica import read_only
from wxapp.infra.transaction import transaction
from wxapp.progress.standing import KIND_NAMES, YearStanding, brief_shortfall
from wxapp.reports import access
from wxapp.reports.unit import _unit_standings, unit_movements

STATES = {"not_started": "未开始", "learning": "学习中", "unmet": "未达标", "met": "已达标"}
REMIND_INTERVAL = timedelta(days=7)
NOT_BOUGHT, NOT_ACTIVATED, ACTIVATED = "未购买", "未激活", "已激活"


@dataclass(frozen=True)
class AccountFacts:
    """What the list says of a trainee beside the 学时: the year's paid plans by kind, and
    whether the account is activated (a roster account on its initial password is not)."""

    bought_public: bool = False
    bought_specialist: bool = False
    activated: bool = True


def bought_label(public: bool, specialist: bool) -> str:
    """ "已购买公需/专业", "已购买公需", "已购买专业" or "未购买"."""
    kinds = [name for name, held in (("公需", public), ("专业", specialist)) if held]
    return f"已购买{'/'.join(kinds)}" if kinds else NOT_BOUGHT


def check_filters(kind: str | None, state: str | None) -> None:
    if kind is not None and kind not in KIND_NAMES:
        raise ValidationError("kind", "科目类别只能是公需科目（public）或专业科目（specialist）")
    if state is not None and state not in STATES:
        raise ValidationError(
            "state",
            "学习状态只能是未开始（not_started）、学习中（learning）、未达标（unmet）"
            "或已达标（met）",
        )


def judge(standing: YearStanding, kind: str | None) -> tuple[str, str]:
    """(state, shortfall text) of one trainee under the kind filter; state is never `unmet`
    (a row is `not_started` or `learning` when not met)."""
    kinds = [standing.of(kind)] if kind else list(standing.kinds)
    missing = [k for k in kinds if not k.met]
    if not missing:
        return "met", ""
    state = "not_started" if all(k.done == 0 for k in kinds) else "learning"
    return state, brief_shortfall(missing)


def _judged(
    standings: Iterable[tuple[dict[str, Any], YearStanding]], kind: str | None
) -> list[tuple[dict[str, Any], YearStanding, str, str]]:
    """Each row with its standing, then its state and shortfall text under the kind filter."""
    return [(row, standing, *judge(standing, kind)) for row, standing in standings]


def _matches(state: str, wanted: str | None) -> bool:
    return wanted is None or wanted == state or (wanted == "unmet" and state != "met")


def _last_reminders(trainee_ids: list[int], since: datetime) -> dict[int, datetime]:
    if not trainee_ids:
        return {}
    rows = db.session.execute(
        sa.select(UnitReminder.trainee_id, sa.func.max(UnitReminder.sent_at))
        .where(UnitReminder.trainee_id.in_(trainee_ids), UnitReminder.sent_at > since)
        .group_by(UnitReminder.trainee_id)
    ).all()
    return {tid: at for tid, at in rows}


def _following(trainee_ids: list[int]) -> set[int]:
    if not trainee_ids:
        return set()
    return set(
        db.session.execute(
            sa.select(WechatBinding.trainee_id).where(
                WechatBinding.trainee_id.in_(trainee_ids), WechatBinding.following.is_(True)
            )
        ).scalars()
    )


def _date(at: datetime) -> str:
    when = local(at)
    return f"{when.month}月{when.day}日 {when:%H:%M}"


def _listing(
    unit: dict[str, Any],
    year: int,
    judged: list[tuple[dict[str, Any], YearStanding, str, str]],
    kind: str | None,
    state: str | None,
    now: datetime,
    facts: dict[int, AccountFacts],
    admin_id: int,
) -> dict[str, Any]:
    counts = dict.fromkeys(STATES, 0)
    for _, _, row_state, _ in judged:
        counts[row_state] += 1
        if row_state != "met":
            counts["unmet"] += 1
    shown = [j for j in judged if _matches(j[2], state)]
    reminded = _last_reminders([j[0]["trainee_id"] for j in shown], now - REMIND_INTERVAL)
    following = _following([j[0]["trainee_id"] for j in shown])
    items = []
    for row, standing, row_state, shortfall in shown:
        last = reminded.get(row["trainee_id"])
        fact = facts.get(row["trainee_id"], AccountFacts())
        items.append(
            {
                "trainee_id": row["trainee_id"],
                "name": row["name"],
                "id_number_masked": row["id_number_masked"],
                "public": standing.of("public").to_dict(),
                "specialist": standing.of("specialist").to_dict(),
                # Toward the 90: a kind's surplus does not make up for the other's shortfall.
                "counted": float(standing.counted),
                "state": row_state,
                "state_label": STATES[row_state],
                "shortfall": shortfall,
                "following": row["trainee_id"] in following,
                "reminded_at": last.isoformat() if last else None,
                "reminded_text": f"{_date(last)}已提醒" if last else "",
                "bought": {"public": fact.bought_public, "specialist": fact.bought_specialist},
                "bought_label": bought_label(fact.bought_public, fact.bought_specialist),
                "activated": fact.activated,
                "account_label": ACTIVATED if fact.activated else NOT_ACTIVATED,
                # The administrator's own row: their name and ID number are customer service's.
                "is_me": row["trainee_id"] == admin_id,
            }
        )
    return {
        "unit": unit,
        "year": year,
        "kind": kind,
        "state": state,
        "filter_text": filter_text(year, kind, state),
        "counts": {"all": len(judged), **counts},
        "summary": _summary([facts.get(j[0]["trainee_id"], AccountFacts()) for j in judged]),
        "items": items,
    }


def _summary(facts: list[AccountFacts]) -> dict[str, int]:
    """How many of the unit's staff hold the year's 公需 / 专业 plan, neither, and how many
    accounts are not activated (whatever the filters)."""
    return {
        "bought_public": sum(f.bought_public for f in facts),
        "bought_specialist": sum(f.bought_specialist for f in facts),
        "bought_none": sum(not (f.bought_public or f.bought_specialist) for f in facts),
        "not_activated": sum(not f.activated for f in facts),
    }


def filter_text(year: int, kind: str | None, state: str | None) -> str:
    """ "2026年度 · 公需科目 · 未达标" (what the list and the download show)."""
    parts = [
        f"{year}年度",
        KIND_NAMES[kind] if kind else "全部科目",
        STATES[state] if state else "全部",
    ]
    return " · ".join(parts)


def remind_years(now: datetime) -> tuple[int, int]:
    """The years 一键提醒 is for: this year's learning (Beijing time), or last year's still
    to be made up. A reminder of any other year would say "请尽快完成2100年度学习" and spend
    each person's weekly reminder."""
    this_year = local(now).year
    return this_year - 1, this_year


def staff_list(
    admin_id: int, unit_id: int, year: int, kind: str | None, state: str | None, now: datetime
) -> dict[str, Any]:
    """The unit's staff for the year under the filters, with counts (administrator only),
    and whether 一键提醒 is for that year (`can_remind`)."""
    check_filters(kind, state)
    access.require_admin(admin_id, unit_id)
    unit, standings, movements, facts = read_only(_staff_reads, unit_id, year)
    listing = _listing(unit, year, _judged(standings, kind), kind, state, now, facts, admin_id)
    listing["movements"] = movements
    listing["can_remind"] = year in remind_years(now)
    return listing


def _staff_reads(
    session: Session, unit_id: int, year: int
) -> tuple[
    dict[str, Any],
    list[tuple[dict[str, Any], YearStanding]],
    dict[str, Any],
    dict[int, AccountFacts],
]:
    """The unit, its staff with the year's standing, who joined or left during the year
    (someone who moved away is off the list, and the unit must still see where they went),
    and each one's plans bought and activation, in one session: one visit to the replica."""
    unit, standings = _unit_standings(session, unit_id, year)
    movements = unit_movements(unit_id, year, session)
    return unit, standings, movements, account_facts(session, unit_id, year)


def account_facts(session: Session, unit_id: int, year: int) -> dict[int, AccountFacts]:
    """Per trainee of the unit: a paid place in a 公需 / 专业 plan of `year` (a refunded one
    is no place), and whether the account is activated; one grouped query."""
    paid = sa.and_(Enrollment.trainee_id == Trainee.id, Enrollment.status == EnrollmentStatus.PAID)
    of_year = sa.and_(TrainingPlan.id == Enrollment.plan_id, TrainingPlan.year == year)

    def holds(kind: str) -> sa.ColumnElement[int]:
        return sa.func.count(sa.case((TrainingPlan.kind == kind, TrainingPlan.id)))

    rows = session.execute(
        sa.select(Trainee.id, Trainee.must_change_password, holds("public"), holds("specialist"))
        .outerjoin(Enrollment, paid)
        .outerjoin(TrainingPlan, of_year)
        .where(Trainee.unit_id == unit_id)
        .group_by(Trainee.id, Trainee.must_change_password)
    ).all()
    return {
        trainee_id: AccountFacts(
            bought_public=public > 0, bought_specialist=specialist > 0, activated=not must_change
        )
        for trainee_id, must_change, public, specialist in rows
    }


def remind_unmet(
    admin_id: int, unit_id: int, year: int, kind: str | None, now: datetime
) -> dict[str, Any]:
    """一键提醒: a template message to each 未达标 trainee who follows the account and was not
    reminded within 7 days; the numbers sent and skipped, and why."""
    check_filters(kind, None)
    access.require_admin(admin_id, unit_id)
    with transaction():
        unit = db.session.get(Unit, unit_id, with_for_update=True)
        if unit is None:
            raise NotFound("单位不存在", code="unit_not_found")
        _, standings = _unit_standings(db.session, unit_id, year)
        targets = [
            (row["trainee_id"], shortfall)
            for row, _, row_state, shortfall in _judged(standings, kind)
            if row_state != "met"
        ]
        ids = [tid for tid, _ in targets]
        recent = _last_reminders(ids, now - REMIND_INTERVAL)
        following = _following(ids)
        due = [(t, s) for t, s in targets if t not in recent and t in following]
        skipped_recent = sum(1 for t in ids if t in recent)
        skipped_unfollowed = len(targets) - len(due) - skipped_recent
        # Two statements for the whole unit (multi-row inserts), not two per person: a
        # unit of 20,000 is reminded well within a request, under the unit's row lock.
        reminder_ids = _add_reminders([t for t, _ in due], unit_id, admin_id, year, now)
        sent = outbox.add_events(
            [
                (
                    events.UnitReminded(
                        reminder_id=reminder_ids[t], unit_name=unit.name, year=year, shortfall=s
                    ),
                    t,
                )
                for t, s in due
            ],
            now,
        )
    return {
        "year": year,
        "kind": kind,
        "unmet": len(targets),
        "sent": sent,
        "skipped_recent": skipped_recent,
        "skipped_unfollowed": skipped_unfollowed,
        "message": remind_message(sent, skipped_recent, skipped_unfollowed),
    }


def _add_reminders(
    trainee_ids: list[int], unit_id: int, admin_id: int, year: int, now: datetime
) -> dict[int, int]:
    """The reminders' rows, one statement; their ids by trainee."""
    if not trainee_ids:
        return {}
    rows = [
        {"trainee_id": t, "unit_id": unit_id, "sent_by": admin_id, "year": year, "sent_at": now}
        for t in trainee_ids
    ]
    insert = sa.insert(UnitReminder).returning(UnitReminder.trainee_id, UnitReminder.id)
    return dict(execute(insert, rows).all())


def remind_message(sent: int, recent: int, unfollowed: int) -> str:
    """What the administrator reads after pressing 一键提醒."""
    if not (sent or recent or unfollowed):
        return "没有需要提醒的学员：全部已达标。"
    parts = [f"已向 {sent} 人发送学习提醒"]
    if recent:
        parts.append(f"{recent} 人在 7 天内已提醒过，本次未重复发送（每人每周最多提醒一次）")
    if unfollowed:
        parts.append(f"{unfollowed} 人未关注公众号或未绑定微信，无法提醒")
    return "；".join(parts) + "。"
