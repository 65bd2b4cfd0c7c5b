"""The unit report (应训未训): every trainee of a unit with the year's 公需 and 专业 学时 done
against the requirement (30 and 60) and a 达标/未达标 verdict.

One grouped query for all the unit's trainees (per trainee, the 学时 of the learned courses
the year's paid plans hold, each course once: `wxapp.progress.credits.year_hours`,
left-joined to the unit's trainees), so 20,000 trainees cost the same two round trips as
twenty.

`movements` lists who joined or left the unit during the year (the trainee's own unit
changes, kept in `profile_changes`), with when and from or to which unit, so a unit sees
anyone who moved themself into (or out of) its 应训未训 list.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from models import ProfileChange, Trainee, Unit, db
from wxapp.accounts.idnumbers import mask_id_number
from wxapp.accounts.profile_history import actor_label
from wxapp.errors import NotFound
from wxapp.infra.clock import SHANGHAI, local_date
from wxapp.infra.replica import read_only
from wxapp.progress.credits import year_hours
from wxapp.progress.standing import YearStanding, year_standing

PUBLIC, SPECIALIST = "public", "specialist"
MET, UNMET = "达标", "未达标"


def verdict(public_done: Decimal, specialist_done: Decimal, year: int = 0) -> dict[str, Any]:
    """A row's numbers and verdict (pure), read from the yearly standing
    (`wxapp.progress.standing`): 达标 needs both kinds met, surplus of one kind never makes
    up for the other; `shortfall` is what is missing ("还差 30 公需学时", "" when met)."""
    return standing_verdict(year_standing(year, {PUBLIC: public_done, SPECIALIST: specialist_done}))


def standing_verdict(standing: YearStanding) -> dict[str, Any]:
    """`verdict`'s row of numbers, of a standing already built."""
    public, specialist = standing.of(PUBLIC), standing.of(SPECIALIST)
    return {
        "public_done": float(public.done),
        "public_required": public.required,
        "specialist_done": float(specialist.done),
        "specialist_required": specialist.required,
        "counted": float(standing.counted),
        "shortfall": standing.shortfall_text(),
        "met": standing.met,
        "verdict": MET if standing.met else UNMET,
    }


def unit_report(unit_id: int, year: int, *, phones: bool = True) -> dict[str, Any]:
    """The report of one unit for one year, trainees in name order (from the read replica
    when one is configured and fresh: infra/replica.py). With `phones`, each trainee's phone:
    for the centre (the console's 单位报表, the command's xlsx), never for the unit's
    administrator (anyone can choose a unit in 个人信息)."""
    return read_only(_unit_report, unit_id, year, phones)


def _unit_standings(
    session: Session, unit_id: int, year: int, phones: bool = False
) -> tuple[dict[str, Any], list[tuple[dict[str, Any], YearStanding]]]:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在", code="unit_not_found")
    hours = year_hours(year)
    rows = session.execute(
        sa.select(
            Trainee.id,
            Trainee.name,
            Trainee.id_number,
            Trainee.phone,
            sa.func.coalesce(hours.c.public_done, 0),
            sa.func.coalesce(hours.c.specialist_done, 0),
        )
        .outerjoin(hours, hours.c.trainee_id == Trainee.id)
        .where(Trainee.unit_id == unit_id)
        .order_by(Trainee.name, Trainee.id)
    ).all()
    standings = [
        (
            {
                "trainee_id": trainee_id,
                "name": name,
                "id_number_masked": mask_id_number(id_number),
                **({"phone": phone} if phones else {}),
            },
            year_standing(
                year, {PUBLIC: Decimal(public_done), SPECIALIST: Decimal(specialist_done)}
            ),
        )
        for trainee_id, name, id_number, phone, public_done, specialist_done in rows
    ]
    return {"id": unit.id, "name": unit.name, "district": unit.district}, standings


def _unit_report(session: Session, unit_id: int, year: int, phones: bool) -> dict[str, Any]:
    unit, standings = _unit_standings(session, unit_id, year, phones)
    trainees = [{**row, **standing_verdict(standing)} for row, standing in standings]
    met = sum(row["met"] for row in trainees)
    movements = unit_movements(unit_id, year, session)
    return {
        "unit": unit,
        "year": year,
        "summary": {
            "trainees": len(trainees),
            "met": met,
            "unmet": len(trainees) - met,
            "joined": len(movements["joined"]),
            "left": len(movements["left"]),
        },
        "trainees": trainees,
        "movements": movements,
    }


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year as people in 重庆 count it: [1 January 00:00, next 1 January) Shanghai time."""
    return datetime(year, 1, 1, tzinfo=SHANGHAI), datetime(year + 1, 1, 1, tzinfo=SHANGHAI)


def unit_movements(
    unit_id: int, year: int, session: Session | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Who joined (`joined`, with the unit they came from) and who left (`left`, with the unit
    they went to, None when they chose no unit) during the year, in time order."""
    start, end = year_bounds(year)
    other = aliased(Unit)
    rows = (
        (session or db.session)
        .execute(
            sa.select(ProfileChange, Trainee.name, Trainee.id_number, other.name)
            .join(Trainee, Trainee.id == ProfileChange.trainee_id)
            .outerjoin(
                other,
                other.id
                == sa.case(
                    (ProfileChange.to_unit_id == unit_id, ProfileChange.from_unit_id),
                    else_=ProfileChange.to_unit_id,
                ),
            )
            .where(
                ProfileChange.field == "unit",
                sa.or_(ProfileChange.to_unit_id == unit_id, ProfileChange.from_unit_id == unit_id),
                ProfileChange.changed_at >= start,
                ProfileChange.changed_at < end,
            )
            .order_by(ProfileChange.changed_at, ProfileChange.id)
        )
        .all()
    )
    joined: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    for change, name, id_number, other_name in rows:
        row = {
            "trainee_id": change.trainee_id,
            "name": name,
            "id_number_masked": mask_id_number(id_number),
            "changed_at": change.changed_at.isoformat(),
            "date": local_date(change.changed_at),
            "by": actor_label(change.actor),
        }
        if change.to_unit_id == unit_id:
            joined.append({**row, "from_unit": other_name})
        else:
            left.append({**row, "to_unit": other_name})
    return {"joined": joined, "left": left}
