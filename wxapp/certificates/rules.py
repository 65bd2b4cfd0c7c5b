"""Certificate rules as pure functions: eligibility, what a certificate says, its serial number.

No database, no request: plain values in, plain values out (tested without an app).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from wxapp.accounts.idnumbers import IdNumberError, mask_id_number, validate_id_number
from wxapp.infra.texts import hours_number as hours_text

ISSUER = "重庆市人力资源开发服务中心"
SEAL_PURPOSE = "继续教育专用章"
KIND_NAMES = {"public": "公需科目", "specialist": "专业科目"}
SERIAL_KIND = {"public": "GX", "specialist": "ZY"}
# What the certificate attests, in the notice's words ("根据继续教育培训要求学习完成规定学时
# 课程，方可获得证书"): there is no assessment, so it claims none.
STATEMENT = "根据继续教育培训要求，已学习完成本培训项目规定学时的课程，特发此证。"

# What personal info the certificate needs, in the order the message names it.
MISSING_LABELS = {
    "name": "姓名",
    "id_number": "身份证号码",
    "unit_or_district": "单位（单位未列出时选择档案所在区县）",
}


@dataclass(frozen=True)
class Eligibility:
    plan_complete: bool
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.plan_complete and not self.missing

    def missing_message(self) -> str:
        return "请先完善个人信息：" + "、".join(MISSING_LABELS[m] for m in self.missing)


def plan_complete(hours_done: Decimal, required_hours: int, completed_at: datetime | None) -> bool:
    """A plan is complete once the progress engine marked it, or its 学时 reach the requirement."""
    return completed_at is not None or hours_done >= required_hours


def check_eligibility(
    *,
    hours_done: Decimal,
    required_hours: int,
    completed_at: datetime | None,
    name: str | None,
    id_number: str | None,
    unit_name: str | None,
    archive_district: str | None,
    districts: tuple[str, ...],
) -> Eligibility:
    """May this trainee have the certificate of this plan, and what personal info is missing."""
    missing: list[str] = []
    if not (name or "").strip():
        missing.append("name")
    try:
        validate_id_number(id_number or "")
    except IdNumberError:
        missing.append("id_number")
    if not unit_name and archive_district not in districts:
        missing.append("unit_or_district")
    return Eligibility(plan_complete(hours_done, required_hours, completed_at), tuple(missing))


def certificate_content(
    *,
    name: str,
    id_number: str,
    unit_name: str | None,
    archive_district: str | None,
    plan_title: str,
    year: int,
    kind: str,
    hours: Decimal,
) -> dict[str, Any]:
    """What the certificate says; compared on 刷新证书 to decide whether a new version is due.

    Only the masked ID number is kept: the certificate and its public page never show more.
    """
    return {
        "name": name.strip(),
        "id_number_masked": mask_id_number(id_number),
        "unit": unit_name,
        "archive_district": None if unit_name else archive_district,
        "plan_title": plan_title,
        "year": year,
        "kind": kind,
        "kind_name": KIND_NAMES[kind],
        "hours": hours_text(hours),
        "issuer": ISSUER,
    }


FIRST_ISSUE_REASON = "首次颁发"
# A refund that takes the plan from the trainee revokes its certificate, saying this.
REFUND_REVOCATION = "培训费已退款"
# Issued again once the plan is paid for again (the serial and verification code unchanged).
REISSUE_REASON = "重新颁发（已重新缴纳培训费）"


def revocation_version_reason(reason: str) -> str:
    """The version history's line for a revocation: "撤销：培训费已退款"."""
    return f"撤销：{reason}"


def reissue_reason(changes: str) -> str:
    """The version history's line for issuing a revoked certificate again, with what changed
    on it meanwhile (`version_reason`'s text, "" when nothing did)."""
    return f"{REISSUE_REASON}；{changes}" if changes else REISSUE_REASON


def revoked_message(reason: str | None) -> str:
    """What the trainee is told on opening a revoked certificate."""
    return f"该证书已撤销（{reason or REFUND_REVOCATION}），不能查看、下载或打印"


# Who corrected a name or ID number (wxapp.accounts.profile_history.actor_label) -> wording.
CORRECTED_BY = {"单位": "经所在单位更正", "客服": "经客服更正", "本人": "本人修改"}


def organisation_line(content: dict[str, Any]) -> tuple[str, str]:
    """(label, value): the unit, or the 档案所在区县 when the unit is not listed."""
    if content.get("unit"):
        return "工作单位", content["unit"]
    return "档案所在区县", content.get("archive_district") or ""


def content_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """What differs between two versions of a certificate: (key, label, before, after).

    `key` is 'name', 'id_number', 'organisation', 'plan' or 'hours'; ID numbers are the
    masked ones the certificate prints.
    """
    changes: list[tuple[str, str, str, str]] = []
    for key, field, label in (
        ("name", "name", "姓名"),
        ("id_number", "id_number_masked", "身份证号码"),
    ):
        if old.get(field) != new.get(field):
            changes.append((key, label, str(old.get(field) or ""), str(new.get(field) or "")))
    old_label, old_value = organisation_line(old)
    new_label, new_value = organisation_line(new)
    if (old_label, old_value) != (new_label, new_value):
        if old_label == new_label:
            changes.append(("organisation", new_label, old_value, new_value))
        else:
            changes.append(
                ("organisation", "单位", f"{old_label} {old_value}", f"{new_label} {new_value}")
            )
    if old.get("plan_title") != new.get("plan_title"):
        changes.append(("plan", "培训项目", str(old.get("plan_title")), str(new.get("plan_title"))))
    if old.get("hours") != new.get("hours"):
        changes.append(
            ("hours", "完成学时", f"{old.get('hours')} 学时", f"{new.get('hours')} 学时")
        )
    return changes


def version_reason(changes: list[tuple[str, str, str, str]], notes: dict[str, list[str]]) -> str:
    """The reason a new version states, e.g. "姓名：张三 → 张叁（经所在单位更正）；工作单位：A → B".
    `notes` maps 'name' / 'id_number' to who made the corrections behind the change, oldest
    first.

    The public verification page shows it to anyone holding the QR code, so it names who
    corrected, never the reason typed with the correction: that is free text (it has held
    phone numbers and private remarks) and stays in the trainee's 信息变更记录."""
    parts = []
    for key, label, before, after in changes:
        text = f"{label}：{before} → {after}"
        explained = list(dict.fromkeys(CORRECTED_BY.get(who, who) for who in notes.get(key, [])))
        if explained:
            text += "（" + "；".join(explained) + "）"
        parts.append(text)
    return "；".join(parts) or "刷新证书"


def serial_number(year: int, kind: str, certificate_id: int) -> str:
    """E.g. CQJX2025ZY0000042: unique through the row id; the secret is the verify code."""
    return f"CQJX{year}{SERIAL_KIND[kind]}{certificate_id:07d}"
