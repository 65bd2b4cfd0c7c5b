"""What a catalogue load did (`LoadSummary`: counts per kind of record, the ids written,
the warnings), as the console and the command show it and the audit log keeps it. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def text(self) -> str:
        text = f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"
        return text + (f"，删除 {self.deleted}" if self.deleted else "")


@dataclass
class LoadSummary:
    plans: Counts = field(default_factory=Counts)
    courses: Counts = field(default_factory=Counts)
    chapters: Counts = field(default_factory=Counts)
    plan_ids: dict[str, int] = field(default_factory=dict)
    course_ids: dict[str, int] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    # Plans that were there before whose courses this load changed: their enrollments'
    # 学时 are recounted by the load's caller (wxapp.progress.relink), `recounted` of them.
    relinked_plan_ids: list[int] = field(default_factory=list)
    recounted: int = 0

    def audited(self, data: bytes) -> dict[str, Any]:
        """What the audit log keeps of this load of the file whose bytes are `data`."""
        return {
            "plans": self.plan_ids,
            "sha256": hashlib.sha256(data).hexdigest(),
            "summary": self.text(),
            "warnings": len(self.warnings),
            "recounted": self.recounted,
        }

    @property
    def changed(self) -> bool:
        return any(
            c.created or c.updated or c.deleted for c in (self.plans, self.courses, self.chapters)
        )

    def text(self) -> str:
        lines = [
            f"培训项目：{self.plans.text()}",
            f"课程：{self.courses.text()}",
            f"章节：{self.chapters.text()}",
        ]
        if self.recounted:
            lines.append(f"已按新的课程设置重新计算 {self.recounted} 名学员的学时。")
        if not self.changed:
            lines.append("与数据库中的目录一致，未做任何更改。")
        return "\n".join(lines)
