"""A trainee's standing for a year (年度学时达标情况): the one rule every surface shows.

The notice asks 90 学时 a year: 公需科目 at least 30 and 专业科目 at least 60. Each kind
counts up to its requirement; hours beyond it are surplus, shown apart and never making up
for the other kind (68 专业 and 0 公需 is 60 of 90 counted, 还差 30 公需学时). 我的进度, the
official account's replies, certificates, pushes and the unit report all read this.
Pure (no database, no framework): the caller brings the hours done per kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wxapp.infra.texts import hours_number as hours_text

# The values of models.PlanKind (kept literal so this module stays free of the database).
PUBLIC, SPECIALIST = "public", "specialist"
KIND_ORDER = (PUBLIC, SPECIALIST)
KIND_NAMES = {PUBLIC: "公需科目", SPECIALIST: "专业科目"}
SHORT_NAMES = {PUBLIC: "公需", SPECIALIST: "专业"}
REQUIRED_HOURS = {PUBLIC: 30, SPECIALIST: 60}
TOTAL_REQUIRED = sum(REQUIRED_HOURS.values())


@dataclass(frozen=True)
class KindStanding:
    kind: str
    done: Decimal
    required: int

    @property
    def name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def counted(self) -> Decimal:
        return min(self.done, Decimal(self.required))

    @property
    def surplus(self) -> Decimal:
        return max(self.done - self.required, Decimal(0))

    @property
    def short(self) -> Decimal:
        return max(self.required - self.done, Decimal(0))

    @property
    def met(self) -> bool:
        return self.done >= self.required

    def line_text(self) -> str:
        """ "公需科目：0 / 30 学时，还差 30 学时" / "专业科目：60 / 60 学时，已达标（另有 8 学时
        超出要求，不计入年度学时）"."""
        head = f"{self.name}：{hours_text(self.counted)} / {self.required} 学时"
        if not self.met:
            return f"{head}，还差 {hours_text(self.short)} 学时"
        if self.surplus:
            return f"{head}，已达标（另有 {hours_text(self.surplus)} 学时超出要求，不计入年度学时）"
        return f"{head}，已达标"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "done": float(self.done),
            "counted": float(self.counted),
            "surplus": float(self.surplus),
            "short": float(self.short),
            "required": self.required,
            "met": self.met,
        }


@dataclass(frozen=True)
class YearStanding:
    year: int
    kinds: tuple[KindStanding, ...]

    def of(self, kind: str) -> KindStanding:
        return next(k for k in self.kinds if k.kind == kind)

    @property
    def counted(self) -> Decimal:
        return sum((k.counted for k in self.kinds), Decimal(0))

    @property
    def short(self) -> Decimal:
        return sum((k.short for k in self.kinds), Decimal(0))

    @property
    def surplus(self) -> Decimal:
        return sum((k.surplus for k in self.kinds), Decimal(0))

    @property
    def met(self) -> bool:
        return all(k.met for k in self.kinds)

    @property
    def started(self) -> bool:
        return any(k.done > 0 for k in self.kinds)

    def shortfall_text(self) -> str:
        """ "还差 30 公需学时" / "还差 公需 10 学时、专业 5 学时" / "" when met."""
        missing = [k for k in self.kinds if not k.met]
        if not missing:
            return ""
        if len(missing) == 1:
            only = missing[0]
            return f"还差 {hours_text(only.short)} {SHORT_NAMES[only.kind]}学时"
        parts = "、".join(f"{SHORT_NAMES[k.kind]} {hours_text(k.short)} 学时" for k in missing)
        return f"还差 {parts}"

    def brief_shortfall(self) -> str:
        """ "还差公需30学时" / "还差公需10、专业5学时" / "" when met: short enough for a
        template message's field."""
        return brief_shortfall([k for k in self.kinds if not k.met])

    def summary_text(self) -> str:
        """One line: "2026年度已计 60 / 90 学时（公需 0/30，专业 60/60，另超出 8 学时）"."""
        per_kind = "，".join(
            f"{SHORT_NAMES[k.kind]} {hours_text(k.counted)}/{k.required}" for k in self.kinds
        )
        extra = f"，另超出 {hours_text(self.surplus)} 学时" if self.surplus else ""
        return (
            f"{self.year}年度已计 {hours_text(self.counted)} / {TOTAL_REQUIRED} 学时"
            f"（{per_kind}{extra}）"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: per kind done/counted/surplus/short, the total counted, 达标."""
        result: dict[str, Any] = {k.kind: k.to_dict() for k in self.kinds}
        result["total"] = {
            "done": float(sum((k.done for k in self.kinds), Decimal(0))),
            "counted": float(self.counted),
            "surplus": float(self.surplus),
            "required": TOTAL_REQUIRED,
            "short": float(self.short),
        }
        result["met"] = self.met
        result["shortfall"] = self.shortfall_text()
        return result


def brief_shortfall(missing: Iterable[KindStanding]) -> str:
    """What these kinds lack in a template field's 20 characters: "还差公需10、专业5学时"."""
    parts = "、".join(f"{SHORT_NAMES[k.kind]}{hours_text(k.short)}" for k in missing)
    return f"还差{parts}学时" if parts else ""


def year_standing(year: int, done: Mapping[str, Decimal | float | int]) -> YearStanding:
    """The standing from 学时 done per kind ("public", "specialist"); a missing kind is 0."""
    return YearStanding(
        year=year,
        kinds=tuple(
            KindStanding(kind, _decimal(done.get(kind, 0)), REQUIRED_HOURS[kind])
            for kind in KIND_ORDER
        ),
    )


def done_by_kind(
    plans: Iterable[tuple[str, Iterable[int]]], learned_hours: Mapping[int, Decimal]
) -> dict[str, Decimal]:
    """学时 done per kind from the year's plans (kind, course ids) and the learned courses'
    学时: each learned course once per kind, however many of the plans hold it (the rule
    `wxapp.progress.credits.year_hours` applies in SQL)."""
    counted: dict[str, set[int]] = {}
    for kind, course_ids in plans:
        counted.setdefault(kind, set()).update(c for c in course_ids if c in learned_hours)
    return {
        kind: sum((learned_hours[c] for c in courses), Decimal(0))
        for kind, courses in counted.items()
    }


def _decimal(value: Decimal | float | int) -> Decimal:
    """A float (from JSON) read as written (29.5, not its binary expansion)."""
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)
