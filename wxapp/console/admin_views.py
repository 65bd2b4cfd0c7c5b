"""管理员's views: the catalogue, units and 区县, unit administrators, operators, the
notification outbox and the audit log. Every change writes its audit row in its transaction."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, request, url_for
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import FilterEqual
from markupsafe import Markup, escape
from wtforms import FileField, PasswordField, SelectField, StringField
from wtforms.fields import DateTimeField
from wtforms.validators import InputRequired, Length, Optional

from models import (
    Chapter,
    Course,
    Operator,
    OperatorAudit,
    Outbox,
    OutboxStatus,
    Trainee,
    TrainingPlan,
    Unit,
    UnitAdmin,
    db,
)
from wxapp import outbox
from wxapp.accounts.units import CHONGQING_DISTRICTS
from wxapp.catalogue.loader import apply_catalogue
from wxapp.catalogue.spec import CatalogueFileError
from wxapp.console import audit, auth
from wxapp.console.access import (
    ROLE_LABELS,
    ConsoleForm,
    Role,
    SecuredModelView,
    SecuredView,
    current_operator,
    post_button,
    require_csrf,
    snapshot,
)
from wxapp.errors import AppError
from wxapp.extensions import app_now
from wxapp.infra.clock import SHANGHAI, local
from wxapp.infra.transaction import transaction

ADMIN = frozenset({Role.ADMIN})
CATALOGUE = "课程目录"
PEOPLE = "单位与人员"
SYSTEM = "系统"


def _time(view: Any, context: Any, model: Any, name: str) -> str:
    value = getattr(model, name)
    return local(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _secret_keys() -> list[str]:
    return [current_app.config["SECRET_KEY"], *current_app.config["SECRET_KEY_FALLBACKS"]]


# --- the catalogue -------------------------------------------------------------------------


def _on_sale(plan: TrainingPlan) -> bool:
    now = app_now()
    return (plan.sale_start is None or plan.sale_start <= now) and (
        plan.sale_end is None or now < plan.sale_end
    )


class PlanView(SecuredModelView):
    roles = ADMIN
    audit_type = "training_plans"
    column_list = (
        "code",
        "year",
        "kind",
        "title",
        "required_hours",
        "price_per_hour_fen",
        "sale_start",
        "sale_end",
        "publish",
    )
    column_labels = {
        "code": "编号",
        "year": "年度",
        "kind": "类别",
        "title": "名称",
        "provider": "施教机构",
        "required_hours": "要求学时",
        "price_per_hour_fen": "每学时价格（分）",
        "sale_start": "开售时间",
        "sale_end": "停售时间",
        "publish": "上架",
        "created_at": "创建时间",
    }
    column_searchable_list = ("code", "title")
    column_filters = ("year", "kind")
    column_default_sort = ("year", True)
    form_columns = (
        "code",
        "year",
        "kind",
        "title",
        "provider",
        "required_hours",
        "price_per_hour_fen",
        "sale_start",
        "sale_end",
    )
    form_choices = {"kind": [("public", "公需科目"), ("specialist", "专业科目")]}

    def _publish_cell(self, context: Any, model: TrainingPlan, name: str) -> Markup:
        if _on_sale(model):
            return Markup("在售 ") + post_button(
                url_for(".unpublish", id=model.id), "下架", confirm=f"确定下架「{model.title}」？"
            )
        return Markup("未上架 ") + post_button(url_for(".publish", id=model.id), "上架")

    column_formatters = {"sale_start": _time, "sale_end": _time, "publish": _publish_cell}

    # UTCDateTime is a TypeDecorator Flask-Admin does not map: plain date-time fields.
    form_overrides = {"sale_start": DateTimeField, "sale_end": DateTimeField}
    form_args = {
        "sale_start": {
            "label": "开售时间",
            "description": "北京时间，如 2026-01-01 00:00:00；留空表示不限",
            "validators": [Optional()],
            "format": "%Y-%m-%d %H:%M:%S",
        },
        "sale_end": {
            "label": "停售时间",
            "description": "北京时间；留空表示不限",
            "validators": [Optional()],
            "format": "%Y-%m-%d %H:%M:%S",
        },
    }

    def on_form_prefill(self, form: Any, id: Any) -> None:
        for name in ("sale_start", "sale_end"):
            field = getattr(form, name)
            if field.data is not None and field.data.tzinfo is not None:
                field.data = local(field.data).replace(tzinfo=None)

    def on_model_change(self, form: Any, model: TrainingPlan, is_created: bool) -> None:
        # The form's times are what the operator reads: Beijing time.
        for name in ("sale_start", "sale_end"):
            value = getattr(model, name)
            if value is not None and value.tzinfo is None:
                setattr(model, name, value.replace(tzinfo=SHANGHAI))
        if model.sale_start and model.sale_end and model.sale_end <= model.sale_start:
            raise ValueError("停售时间应晚于开售时间")
        if model.required_hours is None or model.required_hours <= 0:
            raise ValueError("要求学时须为正整数")
        if model.price_per_hour_fen is None or model.price_per_hour_fen < 0:
            raise ValueError("每学时价格（分）不能为负数")

    def _set_sale(self, plan_id: int, publish: bool) -> Any:
        require_csrf()
        now = app_now()
        with transaction():
            plan = db.session.get(TrainingPlan, plan_id)
            if plan is None:
                flash("没有这个培训项目", "error")
                return redirect(url_for(".index_view"))
            before = {"sale_start": plan.sale_start, "sale_end": plan.sale_end}
            if publish:
                if plan.sale_start is not None and plan.sale_start > now:
                    plan.sale_start = now
                plan.sale_end = None
            else:
                plan.sale_end = now
            after = {"sale_start": plan.sale_start, "sale_end": plan.sale_end}
            audit.record(
                "training_plans.publish" if publish else "training_plans.unpublish",
                "training_plans",
                plan.id,
                {k: v.isoformat() if v else None for k, v in before.items()},
                {k: v.isoformat() if v else None for k, v in after.items()},
            )
        flash(f"已{'上架' if publish else '下架'}「{plan.title}」", "success")
        return redirect(url_for(".index_view"))

    @expose("/publish/<int:id>", methods=("POST",))
    def publish(self, id: int) -> Any:
        return self._set_sale(id, True)

    @expose("/unpublish/<int:id>", methods=("POST",))
    def unpublish(self, id: int) -> Any:
        return self._set_sale(id, False)


class CourseView(SecuredModelView):
    roles = ADMIN
    audit_type = "courses"
    column_list = ("code", "title", "category", "hours", "teacher")
    column_labels = {
        "code": "编号",
        "title": "名称",
        "category": "分类",
        "hours": "学时",
        "teacher": "主讲",
        "description": "简介",
    }
    column_searchable_list = ("code", "title", "teacher")
    form_columns = ("code", "title", "category", "hours", "teacher", "description")


class ChapterView(SecuredModelView):
    roles = ADMIN
    audit_type = "chapters"
    column_list = ("course", "position", "title", "duration_s", "video_url")
    column_labels = {
        "course": "课程",
        "position": "序号",
        "title": "章节名称",
        "duration_s": "时长（秒）",
        "video_url": "视频地址",
    }
    column_searchable_list = ("title",)
    column_default_sort = [("course_id", False), ("position", False)]
    form_columns = ("course", "position", "title", "duration_s", "video_url")

    def on_model_change(self, form: Any, model: Chapter, is_created: bool) -> None:
        if not (model.video_url or "").startswith("https://") and not model.video_url.startswith(
            "/static/"
        ):
            raise ValueError("视频地址须以 https:// 开头（或为本站 /static/ 下的文件）")
        if model.duration_s is None or model.duration_s <= 0:
            raise ValueError("时长（秒）须为正整数")


class CatalogueFileForm(ConsoleForm):
    file = FileField("课程目录文件（JSON，格式见 docs/catalogue-format.md）")


class CatalogueLoadView(SecuredView):
    roles = ADMIN

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        form = CatalogueFileForm(request.form)
        errors: list[tuple[str, str]] = []
        summary_text = None
        if request.method == "POST" and form.validate():
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                flash("请选择课程目录文件", "error")
            else:
                try:
                    data = json.loads(upload.read().decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    errors = [("$", "文件应为 UTF-8 编码的 JSON")]
                else:
                    try:
                        with transaction():
                            summary = apply_catalogue(data, app_now())
                            summary_text = summary.text()
                            audit.record(
                                "catalogue.load",
                                "catalogue",
                                upload.filename[:64],
                                None,
                                {"plans": summary.plan_ids, "summary": summary_text},
                            )
                    except CatalogueFileError as exc:
                        errors = list(exc.errors)
                if errors:
                    flash(f"{upload.filename} 有 {len(errors)} 处错误，未做任何更改", "error")
                else:
                    flash("课程目录已载入", "success")
        return self.render(
            "console/catalogue_load.html", form=form, errors=errors, summary=summary_text
        )


# --- units, 区县 and unit administrators ------------------------------------------------------


class UnitView(SecuredModelView):
    roles = ADMIN
    audit_type = "units"
    column_list = ("name", "district", "created_at")
    column_labels = {"name": "单位名称", "district": "所在区县", "created_at": "创建时间"}
    column_searchable_list = ("name",)
    column_filters = ("district",)
    column_formatters = {"created_at": _time}
    form_columns = ("name", "district")
    form_choices = {"district": [(d, d) for d in CHONGQING_DISTRICTS]}


class DistrictView(SecuredView):
    roles = ADMIN

    @expose("/")
    def index(self) -> Any:
        counts = dict(
            db.session.execute(
                sa.select(Unit.district, sa.func.count(Unit.id)).group_by(Unit.district)
            ).all()
        )
        rows = [(d, counts.get(d, 0)) for d in CHONGQING_DISTRICTS]
        return self.render("console/districts.html", rows=rows)


def _trainee_cell(view: Any, context: Any, model: UnitAdmin, name: str) -> str:
    trainee = db.session.get(Trainee, model.trainee_id)
    return f"{trainee.name}（{trainee.phone or '无手机号'}）" if trainee else str(model.trainee_id)


def _unit_cell(view: Any, context: Any, model: UnitAdmin, name: str) -> str:
    unit = db.session.get(Unit, model.unit_id)
    return unit.name if unit else str(model.unit_id)


class UnitAdminForm(ConsoleForm):
    account = StringField(
        "学员账号（手机号或身份证号）", validators=[InputRequired("请输入学员账号")]
    )
    unit_id = SelectField("单位", coerce=int, validators=[InputRequired("请选择单位")])


class UnitAdminView(SecuredModelView):
    """Unit administrators: a trainee account granted one unit's 应训未训 report."""

    roles = ADMIN
    audit_type = "unit_admins"
    can_edit = False
    can_delete = True
    column_list = ("trainee_id", "unit_id", "granted_at")
    column_labels = {"trainee_id": "学员", "unit_id": "单位", "granted_at": "授权时间"}
    column_formatters = {"trainee_id": _trainee_cell, "unit_id": _unit_cell, "granted_at": _time}

    def create_form(self, obj: Any = None) -> Any:
        form = UnitAdminForm(request.form)
        form.unit_id.choices = [
            (u.id, f"{u.name}（{u.district}）")
            for u in db.session.execute(sa.select(Unit).order_by(Unit.name)).scalars()
        ]
        return form

    def create_model(self, form: Any) -> Any:
        account = form.account.data.strip().upper()
        trainee = db.session.execute(
            sa.select(Trainee).where(sa.or_(Trainee.phone == account, Trainee.id_number == account))
        ).scalar_one_or_none()
        if trainee is None:
            flash(f"没有账号为 {account} 的学员", "error")
            return False
        try:
            with transaction():
                grant = UnitAdmin(
                    trainee_id=trainee.id, unit_id=form.unit_id.data, granted_at=app_now()
                )
                db.session.add(grant)
                db.session.flush()
                audit.record("unit_admins.create", "unit_admins", grant.id, None, snapshot(grant))
        except sa.exc.IntegrityError:
            flash("该学员已是某个单位的管理员（每人只能管理一个单位）", "error")
            return False
        return grant


# --- operators ----------------------------------------------------------------------------


class OperatorCreateForm(ConsoleForm):
    login = StringField("登录名", validators=[InputRequired("请输入登录名"), Length(max=40)])
    display_name = StringField("姓名", validators=[InputRequired("请输入姓名"), Length(max=40)])
    role = SelectField("角色", choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    password = PasswordField(
        "初始密码（至少 10 位，含字母和数字）", validators=[InputRequired("请输入初始密码")]
    )


class OperatorEditForm(ConsoleForm):
    display_name = StringField("姓名", validators=[InputRequired("请输入姓名"), Length(max=40)])
    role = SelectField("角色", choices=[(r.value, ROLE_LABELS[r]) for r in Role])


class PasswordResetForm(ConsoleForm):
    password = PasswordField(
        "新密码（至少 10 位，含字母和数字）", validators=[InputRequired("请输入新密码")]
    )


class OperatorView(SecuredModelView):
    roles = ADMIN
    audit_type = "operators"
    column_list = (
        "login",
        "display_name",
        "role",
        "active",
        "totp_enrolled_at",
        "locked_until",
        "last_login_at",
        "actions",
    )
    column_labels = {
        "login": "登录名",
        "display_name": "姓名",
        "role": "角色",
        "active": "启用",
        "totp_enrolled_at": "动态验证码绑定时间",
        "locked_until": "锁定至",
        "last_login_at": "最近登录",
        "actions": "操作",
        "created_at": "创建时间",
    }
    column_searchable_list = ("login", "display_name")
    column_filters = (
        FilterEqual(Operator.role, "角色", options=[(r.value, ROLE_LABELS[r]) for r in Role]),
    )
    column_details_exclude_list = ("password_hash", "totp_secret", "totp_last_step")

    def _role_cell(self, context: Any, model: Operator, name: str) -> str:
        return ROLE_LABELS.get(Role(model.role), model.role)

    def _actions_cell(self, context: Any, model: Operator, name: str) -> Markup:
        buttons = [
            post_button(
                url_for(".reset_totp", id=model.id),
                "重置动态验证码",
                confirm=f"确定为 {model.login} 重置动态验证码？",
            ),
            Markup(
                f'<a class="btn btn-sm btn-outline-secondary" href="{escape(url_for(".password", id=model.id))}">设置密码</a>'
            ),
        ]
        if model.active:
            buttons.append(
                post_button(
                    url_for(".deactivate", id=model.id),
                    "停用",
                    css="btn btn-sm btn-outline-danger",
                    confirm=f"确定停用 {model.login}？",
                )
            )
        else:
            buttons.append(post_button(url_for(".activate", id=model.id), "启用"))
        return Markup('<div class="console-actions">') + Markup("").join(buttons) + Markup("</div>")

    column_formatters = {
        "role": _role_cell,
        "actions": _actions_cell,
        "totp_enrolled_at": _time,
        "locked_until": _time,
        "last_login_at": _time,
    }

    def create_form(self, obj: Any = None) -> Any:
        return OperatorCreateForm(request.form)

    def edit_form(self, obj: Any = None) -> Any:
        return OperatorEditForm(request.form, obj=obj)

    def create_model(self, form: Any) -> Any:
        try:
            enrolment = auth.create_operator(
                form.login.data,
                form.display_name.data,
                form.role.data,
                form.password.data,
                secret_keys=_secret_keys(),
                now=app_now(),
            )
        except AppError as err:
            flash(err.message, "error")
            return False
        flash(
            "已创建操作员：请把登录名和初始密码交给本人；首次登录时页面显示动态验证码二维码。",
            "success",
        )
        return db.session.get(Operator, enrolment.operator_id)

    def update_model(self, form: Any, model: Operator) -> bool:
        if model.id == _me_id() and form.role.data != Role.ADMIN:
            flash("不能取消自己的管理员角色", "error")
            return False
        return super().update_model(form, model)

    def _done(self, message: str) -> Any:
        flash(message, "success")
        return redirect(url_for(".index_view"))

    @expose("/reset-totp/<int:id>", methods=("POST",))
    def reset_totp(self, id: int) -> Any:
        require_csrf()
        auth.reset_second_factor(id, secret_keys=_secret_keys())
        return self._done("已重置动态验证码：该操作员下次登录时重新扫码绑定")

    @expose("/deactivate/<int:id>", methods=("POST",))
    def deactivate(self, id: int) -> Any:
        require_csrf()
        if id == _me_id():
            flash("不能停用自己的账号", "error")
            return redirect(url_for(".index_view"))
        auth.set_active(id, False)
        return self._done("已停用")

    @expose("/activate/<int:id>", methods=("POST",))
    def activate(self, id: int) -> Any:
        require_csrf()
        auth.set_active(id, True)
        return self._done("已启用（锁定同时解除）")

    @expose("/password/<int:id>", methods=("GET", "POST"))
    def password(self, id: int) -> Any:
        operator = db.session.get(Operator, id)
        if operator is None:
            flash("没有这个操作员", "error")
            return redirect(url_for(".index_view"))
        form = PasswordResetForm(request.form)
        if request.method == "POST" and form.validate():
            try:
                auth.set_password(id, form.password.data)
            except AppError as err:
                flash(err.message, "error")
            else:
                return self._done(f"已为 {operator.login} 设置新密码")
        return self.render("console/operator_password.html", form=form, operator=operator)


def _me_id() -> int | None:
    me = current_operator()
    return me.id if me else None


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
    )
    column_searchable_list = ("event_type", "subject")
    column_default_sort = ("id", True)
    STATUS = {"pending": "待发送", "sent": "已发送", "given_up": "已放弃", "skipped": "未发送"}

    def _status_cell(self, context: Any, model: Outbox, name: str) -> str:
        return self.STATUS.get(model.status, model.status)

    def _retry_cell(self, context: Any, model: Outbox, name: str) -> Markup | str:
        if model.status != OutboxStatus.GIVEN_UP:
            return ""
        return post_button(url_for(".retry", id=model.id), "重新推送")

    column_formatters = {
        "status": _status_cell,
        "retry": _retry_cell,
        "created_at": _time,
        "sent_at": _time,
        "next_attempt_at": _time,
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
    column_filters = ("action", "target_type", "target_id")
    column_default_sort = ("at", True)
    column_formatters = {
        "at": _time,
        "action": _action_cell,
        "before": _json_cell,
        "after": _json_cell,
    }
    column_formatters_detail = column_formatters

    def delete_model(self, model: Any) -> bool:
        raise PermissionError("the audit log is append-only")

    def update_model(self, form: Any, model: Any) -> bool:
        raise PermissionError("the audit log is append-only")

    def create_model(self, form: Any) -> Any:
        raise PermissionError("the audit log is append-only")


def register(admin: Admin) -> None:
    admin.add_view(PlanView(TrainingPlan, name="培训项目", category=CATALOGUE, endpoint="plans"))
    admin.add_view(CourseView(Course, name="课程", category=CATALOGUE, endpoint="courses"))
    admin.add_view(ChapterView(Chapter, name="章节", category=CATALOGUE, endpoint="chapters"))
    admin.add_view(
        CatalogueLoadView(name="导入课程目录", category=CATALOGUE, endpoint="catalogue_load")
    )
    admin.add_view(UnitView(Unit, name="单位", category=PEOPLE, endpoint="units"))
    admin.add_view(DistrictView(name="区县", category=PEOPLE, endpoint="districts"))
    admin.add_view(
        UnitAdminView(UnitAdmin, name="单位管理员", category=PEOPLE, endpoint="unit_admins")
    )
    admin.add_view(OperatorView(Operator, name="操作员", category=PEOPLE, endpoint="operators"))
    admin.add_view(OutboxView(Outbox, name="消息推送", category=SYSTEM, endpoint="outbox"))
    admin.add_view(
        AuditLogView(OperatorAudit, name="操作日志", category=SYSTEM, endpoint="audit_log")
    )
