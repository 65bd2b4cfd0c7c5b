"""A trainee's standing for a year (年度学时达标情况): the one rule every surface shows.

The notice asks 90 学时 a year: 公需科目 at least 30 and 专业科目 at least 60. Each kind
counts up to its requirement; hours beyond it are surplus, shown apart and never making up
for the other kind (68 专业 and 0 公需 is 60 of 90 counted, 还差 30 公需学时). 我的进度, the
official account's replies, certificates, pushes and the unit report all read this.
Pure: the caller brings the hours done per kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models import PlanKind

KIND_ORDER = (PlanKind.PUBLIC.value, PlanKind.SPECIALIST.value)
KIND_NAMES = {PlanKind.PUBLIC.value: "公需科目", PlanKind.SPECIALIST.value: "专业科目"}
SHORT_NAMES = {PlanKind.PUBLIC.value: "公需", PlanKind.SPECIALIST.value: "专业"}
REQUIRED_HOURS = {PlanKind.PUBLIC.value: 30, PlanKind.SPECIALIST.value: 60}
TOTAL_REQUIRED = sum(REQUIRED_HOURS.values())


def hours_text(hours: Decimal) -> str:
    """学时 as people write them: 30, 12.5 (no trailing zeros, no exponent)."""
    text = format(hours.normalize(), "f")
    return text


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

    def summary_text(self) -> str:
        """One line: "2026年度已计 60 / 90 学时（公需 0/30，专业 60/60，另超出 8 学时）"."""
        per_kind = "，".join(
            f"{SHORT_NAMES[k.kind]} {hours_text(k.counted)}/{k.required}" for k in self.kinds
        )
        surplus = sum((k.surplus for k in self.kinds), Decimal(0))
        extra = f"，另超出 {hours_text(surplus)} 学时" if surplus else ""
        return (
            f"{self.year}年度已计 {hours_text(self.counted)} / {TOTAL_REQUIRED} 学时"
            f"（{per_kind}{extra}）"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: per kind done/counted/surplus/short, the total counted, 达标."""
        result: dict[str, Any] = {k.kind: k.to_dict() for k in self.kinds}
        result["total"] = {
            "counted": float(self.counted),
            "required": TOTAL_REQUIRED,
            "short": float(self.short),
        }
        result["met"] = self.met
        result["shortfall"] = self.shortfall_text()
        return result


def year_standing(year: int, done: Mapping[str, Decimal]) -> YearStanding:
    """The standing from 学时 done per kind ("public", "specialist"); a missing kind is 0."""
    return YearStanding(
        year=year,
        kinds=tuple(
            KindStanding(kind, Decimal(done.get(kind, 0)), REQUIRED_HOURS[kind])
            for kind in KIND_ORDER
        ),
    )
