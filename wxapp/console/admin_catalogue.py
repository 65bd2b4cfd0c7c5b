"""管理员's catalogue views: plans, courses and chapters (the upload: admin_catalogue_load)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from markupsafe import Markup
from sqlalchemy.orm import selectinload
from wtforms.fields import DateTimeField
from wtforms.validators import NumberRange, Optional

from models import (
    Chapter,
    Course,
    PlanKind,
    TrainingPlan,
    db,
)
from wxapp.catalogue.loader import (
    courses_shared_elsewhere,
    learned_chapters,
    sold_plans,
)
from wxapp.catalogue.plan_hours import plans_holding, plans_left_short
from wxapp.catalogue.spec import MINUTES_PER_HOUR, short_video_warning
from wxapp.console import audit
from wxapp.console.access import (
    SecuredModelView,
    post_button,
    require_csrf,
)
from wxapp.console.admin_shared import ADMIN, time_cell
from wxapp.console.display import yuan
from wxapp.extensions import app_now
from wxapp.infra.clock import SHANGHAI, local
from wxapp.infra.transaction import transaction

# --- the catalogue -------------------------------------------------------------------------


def _on_sale(plan: TrainingPlan) -> bool:
    now = app_now()
    return (plan.sale_start is None or plan.sale_start <= now) and (
        plan.sale_end is None or now < plan.sale_end
    )


KIND_LABELS = {PlanKind.PUBLIC: "公需科目", PlanKind.SPECIALIST: "专业科目"}
YEARS = (2000, 2100)
# What a bought plan keeps, and why: its buyers' 学时, progress, certificates and the unit
# report are counted by these (a refunded place keeps what was learned, so it counts too).
FIXED_ONCE_BOUGHT = {
    "year": ("年度", "学员已学的学时按这个年度计入我的进度、证书和单位报表"),
    "kind": ("类别", "学员已学的学时按这个类别（公需科目/专业科目）计入我的进度和单位报表"),
    "required_hours": ("要求学时", "学员按这个学时购买，完成与否和证书都以它为准"),
}


def _changed(model: Any, name: str) -> bool:
    """Whether the form changed the field. Ask before any query: a query flushes the change,
    and the change is forgotten."""
    return sa.inspect(model).attrs[name].history.has_changes()


def _refuse_changes_once_bought(plan: TrainingPlan) -> None:
    """A plan anyone has bought (paid or since refunded) or is paying for keeps its 年度, 类别
    and 要求学时 (wxapp.catalogue.loader.sold_plans)."""
    changed = [name for name in FIXED_ONCE_BOUGHT if _changed(plan, name)]
    if not changed:
        return
    if sold_plans([plan.id]):
        label, why = FIXED_ONCE_BOUGHT[changed[0]]
        raise ValueError(
            f"该培训项目已有学员购买或正在支付（已退款的也算），不能修改{label}：{why}。"
            "如需调整请另建培训项目；价格、开售停售时间、名称和施教机构仍可修改"
        )


def _refuse_leaving_plans_short(plans: list[TrainingPlan]) -> None:
    """A plan's courses offer at least the 学时 it requires, as a catalogue file's must
    (wxapp.catalogue.plan_hours)."""
    short = plans_left_short(plans)
    if short:
        raise ValueError(f"{'；'.join(short)}，学员学完全部课程也达不到要求")


def _keep_unchanged_time(plan: TrainingPlan, name: str) -> None:
    """The form's time is Beijing time to the second (what the operator reads); when it is
    the stored time to that second, the stored time stays as it was. 上架 stores the moment
    to the microsecond, and a save that merely sent the shown value back would cut it."""
    value = getattr(plan, name)
    if value is None or value.tzinfo is not None:
        return
    value = value.replace(tzinfo=SHANGHAI)
    stored = sa.inspect(plan).attrs[name].history.deleted
    if stored and stored[0] is not None and stored[0].replace(microsecond=0) == value:
        value = stored[0]
    setattr(plan, name, value)


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
        "price",
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
        "price_per_hour_fen": "每学时价格（元）",
        "price": "价格（元）",
        "sale_start": "开售时间",
        "sale_end": "停售时间",
        "publish": "上架",
        "created_at": "创建时间",
    }
    column_searchable_list = ("code", "title")
    column_filters = (
        "year",
        FilterEqual(
            TrainingPlan.kind, "类别", options=[(k.value, v) for k, v in KIND_LABELS.items()]
        ),
    )
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
    form_choices = {"kind": [(kind.value, label) for kind, label in KIND_LABELS.items()]}

    def _publish_cell(self, context: Any, model: TrainingPlan, name: str) -> Markup:
        if _on_sale(model):
            return Markup("在售 ") + post_button(
                url_for(".unpublish", id=model.id), "下架", confirm=f"确定下架「{model.title}」？"
            )
        return Markup("未上架 ") + post_button(url_for(".publish", id=model.id), "上架")

    column_formatters = {
        "kind": lambda view, context, model, name: KIND_LABELS.get(model.kind, model.kind),
        "price_per_hour_fen": lambda view, context, model, name: yuan(model.price_per_hour_fen),
        "price": lambda view, context, model, name: yuan(model.price_fen),
        "sale_start": time_cell,
        "sale_end": time_cell,
        "publish": _publish_cell,
    }

    # UTCDateTime is a TypeDecorator Flask-Admin does not map: plain date-time fields.
    form_overrides = {"sale_start": DateTimeField, "sale_end": DateTimeField}
    form_args = {
        "year": {
            "validators": [
                NumberRange(*YEARS, message=f"年度须在 {YEARS[0]} 至 {YEARS[1]} 之间"),
            ],
        },
        "price_per_hour_fen": {
            "label": "每学时价格（分）",
            "description": "以分计：150 即每学时 1.50 元",
        },
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
        required_changed = not is_created and _changed(model, "required_hours")
        for name in ("sale_start", "sale_end"):
            _keep_unchanged_time(model, name)
        if model.sale_start and model.sale_end and model.sale_end <= model.sale_start:
            raise ValueError("停售时间应晚于开售时间")
        if model.required_hours is None or model.required_hours <= 0:
            raise ValueError("要求学时须为正整数")
        if model.price_per_hour_fen is None or model.price_per_hour_fen < 0:
            raise ValueError("每学时价格（分）不能为负数")
        if not is_created:
            _refuse_changes_once_bought(model)
        # A new plan holds no courses yet, nor does one made here before a catalogue file
        # gives it its courses (and its 要求学时, which the loader checks then).
        if required_changed and model.courses:
            _refuse_leaving_plans_short([model])
        shared = [] if is_created else courses_shared_elsewhere(model.id, model.year, model.kind)
        if shared:
            raise ValueError(
                f"课程 {'、'.join(shared)} 也属于其他年度或科目的培训项目：一门课程的学时只计入"
                "一个年度的一类科目，不能改为该年度或科目"
            )

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


class ShortVideoFilter(BaseSQLAFilter):
    """Courses whose chapters last less than their 学时 × MINUTES_PER_HOUR minutes."""

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        video_s = (
            sa.select(sa.func.coalesce(sa.func.sum(Chapter.duration_s), 0))
            .where(Chapter.course_id == Course.id)
            .scalar_subquery()
        )
        return query.filter(video_s < Course.hours * (MINUTES_PER_HOUR * 60))

    def operation(self) -> str:
        return "为"


def _video_cell(view: Any, context: Any, model: Course, name: str) -> Markup:
    durations = [chapter.duration_s for chapter in model.chapters]
    minutes = Markup(f"{sum(durations) / 60:.1f}")
    if short_video_warning(model.title, model.hours, durations) is None:
        return minutes
    return minutes + Markup(' <span class="badge badge-warning">视频时长不足</span>')


class CourseView(SecuredModelView):
    roles = ADMIN
    audit_type = "courses"
    column_list = ("code", "title", "category", "hours", "video", "teacher")
    column_labels = {
        "code": "编号",
        "title": "名称",
        "category": "分类",
        "hours": "学时",
        "video": "视频（分钟）",
        "teacher": "主讲",
        "description": "简介",
    }
    column_formatters = {"video": _video_cell}
    column_filters = (
        ShortVideoFilter(
            Course.id,
            f"视频时长不足（少于 学时 × {MINUTES_PER_HOUR} 分钟）",
            options=(("1", "是"),),
        ),
    )
    column_searchable_list = ("code", "title", "teacher")
    form_columns = ("code", "title", "category", "hours", "teacher", "description")

    def get_query(self) -> Any:
        return super().get_query().options(selectinload(Course.chapters))  # for _video_cell

    def on_model_change(self, form: Any, model: Course, is_created: bool) -> None:
        if not is_created and _changed(model, "hours"):
            _refuse_leaving_plans_short(plans_holding(model.id))


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
        # The form sets `course`; `course_id` is still the stored one until the session flushes.
        moved = not is_created and model.course is not None and model.course.id != model.course_id
        if moved and learned_chapters([model.id]):
            raise ValueError(
                "该章节已有学员的学习记录，不能移到其他课程：学员的进度和学时都记在原课程下。"
                "如需调整，请在新课程下另建章节"
            )
        if not (model.video_url or "").startswith("https://") and not model.video_url.startswith(
            "/static/"
        ):
            raise ValueError("视频地址须以 https:// 开头（或为本站 /static/ 下的文件）")
        if model.duration_s is None or model.duration_s <= 0:
            raise ValueError("时长（秒）须为正整数")
