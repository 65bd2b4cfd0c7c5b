"""The operators' audit log: one append-only row per action, in the action's own transaction.

`record` adds the row to the session of the caller's `with transaction():` block, so the
change and its audit row commit together or not at all. The console has no view that edits
or deletes a row (wxapp.console.admin_views.AuditLogView is read-only for every role).
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from models import OperatorAudit, db
from wxapp.console.identity import current_operator
from wxapp.extensions import app_now
from wxapp.infra.transaction import TransactionMisuse, in_transaction

# What the log shows beside each action code (a module's own actions may add theirs).
ACTION_LABELS: dict[str, str] = {
    "operator.login": "登录后台",
    "operator.logout": "退出后台（结束该账号的所有登录）",
    "operator.locked": "连续输错，账号锁定",
    "operator.create": "创建操作员",
    "operator.reset_totp": "重置动态验证码",
    "operator.set_password": "设置操作员密码",
    "operator.activate": "启用操作员",
    "operator.deactivate": "停用操作员",
    "operators.update": "修改操作员",
    "outbox.retry": "重新推送消息",
    "catalogue.load": "导入课程目录",
    "training_plans.publish": "上架培训项目",
    "training_plans.unpublish": "下架培训项目",
    "trainees.import": "导入单位名单（批量注册学员）",
    "units.report": "下载单位报表（应训未训）",
}
_VERBS = {"create": "新建", "update": "修改", "delete": "删除"}
# What each kind of record (a row's target_type) is called.
TARGET_LABELS: dict[str, str] = {
    "trainees": "学员",
    "operators": "操作员",
    "units": "单位",
    "unit_admins": "单位管理员",
    "training_plans": "培训项目",
    "courses": "课程",
    "chapters": "章节",
    "catalogue": "课程目录",
    "invoices": "发票",
    "refunds": "退款",
    "payment_anomalies": "支付异常",
    "outbox": "消息推送",
}


def label(action: str) -> str:
    """The action in Chinese where known (`units.create` → 新建单位), else its code."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    kind, _, verb = action.rpartition(".")
    if verb in _VERBS and kind:
        return _VERBS[verb] + TARGET_LABELS.get(kind, f" {kind}")
    return action


def target_label(target_type: str) -> str:
    """The kind of record in Chinese where known, else as stored."""
    return TARGET_LABELS.get(target_type, target_type)


def actions_labelled(words: str) -> list[str]:
    """The action codes whose Chinese label holds `words` (the log's search by label)."""
    known = set(ACTION_LABELS) | {f"{kind}.{verb}" for kind in TARGET_LABELS for verb in _VERBS}
    return sorted(code for code in known if words and words in label(code))


def targets_labelled(words: str) -> list[str]:
    """The target types whose Chinese name holds `words`."""
    return sorted(kind for kind, text in TARGET_LABELS.items() if words and words in text)


def record(
    action: str,
    target_type: str,
    target_id: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None = None,
    *,
    operator_id: int | None = None,
) -> OperatorAudit:
    """Add the audit row of one action to the caller's transaction (never commits).

    The operator is the one signed in to the console; `operator_id` names another
    (the login itself, before the session exists). From the command line both are empty.
    """
    if not in_transaction():
        raise TransactionMisuse("audit.record belongs inside the action's transaction() block")
    if operator_id is None and has_request_context():
        operator = current_operator()
        operator_id = operator.id if operator is not None else None
    row = OperatorAudit(
        operator_id=operator_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
        reason=reason,
        at=app_now(),
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(row)
    return row
