"""管理员's system views: the notification outbox (retry) and the audit log."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import tools
from flask_admin.contrib.sqla.filters import (
    BaseSQLAFilter,
    DateBetweenFilter,
    DateGreaterFilter,
    DateSmallerFilter,
    FilterEqual,
)
from markupsafe import Markup, escape

from models import (
    Operator,
    OperatorAudit,
    Outbox,
    OutboxStatus,
    db,
)
from wxapp import outbox
from wxapp.console import audit
from wxapp.console.access import (
    SecuredModelView,
    post_button,
    require_csrf,
)
from wxapp.console.admin_shared import ADMIN, time_cell
from wxapp.console.display import EVENT_NAMES, event_name
from wxapp.extensions import app_now
from wxapp.infra.clock import day_start  # the log's dates are Beijing days, its times UTC
from wxapp.infra.transaction import transaction

# --- the notification outbox ---------------------------------------------------------------


class OutboxView(SecuredModelView):
    """Pushes to trainees; given-up ones with their error can be sent again."""

    roles = ADMIN
    audit_type = "outbox"
    can_create = False
    can_edit = False
    can_view_details = True
    column_list = (
        "id",
        "event_type",
        "trainee_id",
        "subject",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "retry",
    )
    column_labels = {
        "id": "编号",
        "event_type": "消息类型",
        "trainee_id": "学员编号",
        "subject": "对象",
        "status": "状态",
        "attempts": "已发送次数",
        "last_error": "失败原因",
        "created_at": "产生时间",
        "retry": "操作",
        "sent_at": "发送时间",
        "next_attempt_at": "下次发送",
        "payload": "内容",
    }
    column_filters = (
        FilterEqual(
            Outbox.status,
            "状态",
            options=[
                (OutboxStatus.GIVEN_UP.value, "已放弃"),
                (OutboxStatus.PENDING.value, "待发送"),
                (OutboxStatus.SENT.value, "已发送"),
                (OutboxStatus.SKIPPED.value, "未发送（无绑定或无模板）"),
            ],
        ),
        FilterEqual(Outbox.event_type, "消息类型", options=list(EVENT_NAMES.items())),
    )
    column_searchable_list = ("event_type", "subject")
    column_default_sort = ("id", True)
    STATUS = {"pending": "待发送", "sent": "已发送", "given_up": "已放弃", "skipped": "未发送"}

    def _status_cell(self, context: Any, model: Outbox, name: str) -> str:
        return self.STATUS.get(model.status, model.status)

    def _event_cell(self, context: Any, model: Outbox, name: str) -> str:
        return event_name(model.event_type)

    def _retry_cell(self, context: Any, model: Outbox, name: str) -> Markup | str:
        if model.status != OutboxStatus.GIVEN_UP:
            return ""
        return post_button(url_for(".retry", id=model.id), "重新推送")

    column_formatters = {
        "event_type": _event_cell,
        "status": _status_cell,
        "retry": _retry_cell,
        "created_at": time_cell,
        "sent_at": time_cell,
        "next_attempt_at": time_cell,
    }

    @expose("/retry/<int:id>", methods=("POST",))
    def retry(self, id: int) -> Any:
        require_csrf()
        with transaction():
            row = db.session.get(Outbox, id)
            before = (
                {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
                if row
                else None
            )
            if row is None or not outbox.requeue_given_up(id, app_now()):
                flash("这条消息不是“已放弃”状态，无需重新推送", "error")
                return redirect(url_for(".index_view"))
            audit.record(
                "outbox.retry",
                "outbox",
                id,
                before,
                {"status": OutboxStatus.PENDING.value, "attempts": 0},
            )
        flash(f"消息 {id} 已重新排队推送", "success")
        return redirect(url_for(".index_view"))


# --- the audit log ------------------------------------------------------------------------


def _action_cell(view: Any, context: Any, model: OperatorAudit, name: str) -> str:
    text = audit.label(model.action)
    return model.action if text == model.action else f"{text}（{model.action}）"


def _target_cell(view: Any, context: Any, model: OperatorAudit, name: str) -> str:
    return audit.target_label(model.target_type)


def _operator_cell(view: Any, context: Any, model: OperatorAudit, name: str) -> str:
    return str(model.operator) if model.operator is not None else "命令行"


def _operators_like(words: str) -> Any:
    """The rows of operators whose login or name holds `words`."""
    like = tools.parse_like_term(words)
    return OperatorAudit.operator_id.in_(
        sa.select(Operator.id).where(
            sa.or_(Operator.login.ilike(like), Operator.display_name.ilike(like))
        )
    )


class _OperatorFilter(BaseSQLAFilter):
    """操作员: a login or a name, or part of one."""

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        return query.filter(_operators_like(value))

    def operation(self) -> str:
        return "包含"


# Days the log can hold: a date outside them (0001-01-01, 9999-12-31) is no filter at all,
# not a day after the last one Python or PostgreSQL can count.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class _LogDays:
    """Flask-Admin leaves out a filter whose value does not validate."""

    def validate(self, value: str) -> bool:
        if not super().validate(value):  # type: ignore[misc]
            return False
        days = self.clean(value)  # type: ignore[attr-defined]
        return all(
            FIRST_YEAR <= d.year <= LAST_YEAR for d in (days if isinstance(days, list) else [days])
        )


class _DaysBetween(_LogDays, DateBetweenFilter):
    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        first, last = value
        column = self.get_column(alias)
        return query.filter(
            column >= day_start(first), column < day_start(last + timedelta(days=1))
        )

    def operation(self) -> str:
        return "介于（含首尾两天）"


class _DaysFrom(_LogDays, DateGreaterFilter):
    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) >= day_start(value))

    def operation(self) -> str:
        return "从（含当天）"


class _DaysUntil(_LogDays, DateSmallerFilter):
    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) < day_start(value + timedelta(days=1)))

    def operation(self) -> str:
        return "至（含当天）"


def _json_cell(view: Any, context: Any, model: OperatorAudit, name: str) -> Markup:
    value = getattr(model, name)
    if value is None:
        return Markup("")
    text = json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)
    return Markup('<div class="console-json">') + escape(text) + Markup("</div>")


class AuditLogView(SecuredModelView):
    """Read-only for every role: no create, edit or delete route exists."""

    roles = ADMIN
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    column_list = (
        "at",
        "operator",
        "action",
        "target_type",
        "target_id",
        "before",
        "after",
        "reason",
        "ip",
    )
    column_labels = {
        "at": "时间",
        "operator": "操作员",
        "action": "操作",
        "target_type": "对象类型",
        "target_id": "对象编号",
        "before": "修改前",
        "after": "修改后",
        "reason": "原因",
        "ip": "IP 地址",
        "operator.login": "操作员登录名",
    }
    column_searchable_list = ("action", "target_type", "target_id", "reason", "ip")
    column_filters = (
        _OperatorFilter(OperatorAudit.operator_id, "操作员"),
        _DaysBetween(OperatorAudit.at, "日期"),
        _DaysFrom(OperatorAudit.at, "日期"),
        _DaysUntil(OperatorAudit.at, "日期"),
        "action",
        "target_type",
        "target_id",
    )
    column_default_sort = ("at", True)
    column_formatters = {
        "at": time_cell,
        "operator": _operator_cell,
        "action": _action_cell,
        "target_type": _target_cell,
        "before": _json_cell,
        "after": _json_cell,
    }
    column_formatters_detail = column_formatters

    def search_placeholder(self) -> str:
        return "操作员、操作（中文或代码）、对象、对象编号、原因或 IP"

    def _apply_search(
        self, query: Any, count_query: Any, joins: Any, count_joins: Any, search: str
    ) -> Any:
        """Each word (separated by spaces) must match one of: the operator's login or name,
        the action's code or Chinese label, the kind of record's code or name, the record's
        id (a number: the whole id), the reason, the IP address."""
        for word in search.split():
            match = self._matches(word)
            query = query.filter(match)
            if count_query is not None:
                count_query = count_query.filter(match)
        return query, count_query, joins, count_joins

    @staticmethod
    def _matches(word: str) -> Any:
        like = tools.parse_like_term(word)
        if word.isdigit():
            # A number is a record's id, whole ("27" is not 127 nor the IP 127.0.0.1), or
            # part of what an operator wrote in a reason (a phone, an order number).
            alternatives = [OperatorAudit.target_id == word, OperatorAudit.reason.ilike(like)]
        else:
            columns = (
                OperatorAudit.action,
                OperatorAudit.target_type,
                OperatorAudit.target_id,
                OperatorAudit.reason,
                OperatorAudit.ip,
            )
            alternatives = [column.ilike(like) for column in columns]
        alternatives.append(_operators_like(word))
        if codes := audit.actions_labelled(word):
            alternatives.append(OperatorAudit.action.in_(codes))
        if kinds := audit.targets_labelled(word):
            alternatives.append(OperatorAudit.target_type.in_(kinds))
        return sa.or_(*alternatives)

    def delete_model(self, model: Any) -> bool:
        raise PermissionError("the audit log is append-only")

    def update_model(self, form: Any, model: Any) -> bool:
        raise PermissionError("the audit log is append-only")

    def create_model(self, form: Any) -> Any:
        raise PermissionError("the audit log is append-only")
