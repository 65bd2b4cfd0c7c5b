"""管理员's views of units, 区县 and unit administrators."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, request
from flask_admin import expose
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from models import (
    Trainee,
    Unit,
    UnitAdmin,
    db,
)
from wxapp.accounts.trainees import find_trainee
from wxapp.accounts.unit_admins import check_grantable
from wxapp.accounts.units import CHONGQING_DISTRICTS
from wxapp.console import audit
from wxapp.console.access import (
    ConsoleForm,
    SecuredModelView,
    SecuredView,
    snapshot,
)
from wxapp.console.admin_shared import ADMIN, time_cell
from wxapp.console.support_actions import account_key
from wxapp.errors import Conflict
from wxapp.extensions import app_now
from wxapp.infra.transaction import transaction

# --- units, 区县 and unit administrators ------------------------------------------------------

NAME_MAX = Unit.__table__.c.name.type.length


class UnitView(SecuredModelView):
    roles = ADMIN
    audit_type = "units"
    column_list = ("name", "district", "created_at")
    column_labels = {"name": "单位名称", "district": "所在区县", "created_at": "创建时间"}
    column_searchable_list = ("name",)
    column_filters = ("district",)
    column_formatters = {"created_at": time_cell}
    form_columns = ("name", "district")
    form_choices = {"district": [(d, d) for d in CHONGQING_DISTRICTS]}
    form_args = {
        "name": {
            "filters": [lambda value: value.strip() if isinstance(value, str) else value],
            "validators": [
                DataRequired("请输入单位名称"),
                Length(max=NAME_MAX, message=f"单位名称不能超过 {NAME_MAX} 个字"),
            ],
        },
    }


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
    """The unit, flagged when the account no longer works there: a grant made before grants
    followed the account's 单位 (`unit_admins.check_grantable`), for the 管理员 to revoke."""
    unit = db.session.get(Unit, model.unit_id)
    shown = unit.name if unit else str(model.unit_id)
    trainee = db.session.get(Trainee, model.trainee_id)
    if trainee is not None and trainee.unit_id != model.unit_id:
        return f"{shown}（该学员现已不在此单位，请撤销）"
    return shown


def _unit_id(value: Any) -> int | None:
    """The chosen unit's id; None for the "请选择单位" placeholder."""
    return None if value in ("", None) else int(value)


class UnitAdminForm(ConsoleForm):
    account = StringField(
        "学员账号（手机号或身份证号）", validators=[InputRequired("请输入学员账号")]
    )
    # Starts on the placeholder, which does not validate: no unit is granted by default.
    unit_id = SelectField("单位", coerce=_unit_id, validators=[InputRequired("请选择单位")])


class UnitAdminView(SecuredModelView):
    """Unit administrators: a trainee account granted one unit's 应训未训 report."""

    roles = ADMIN
    audit_type = "unit_admins"
    can_edit = False
    can_delete = True
    column_list = ("trainee_id", "unit_id", "granted_at")
    column_labels = {"trainee_id": "学员", "unit_id": "单位", "granted_at": "授权时间"}
    column_formatters = {
        "trainee_id": _trainee_cell,
        "unit_id": _unit_cell,
        "granted_at": time_cell,
    }

    def create_form(self, obj: Any = None) -> Any:
        form = UnitAdminForm(request.form)
        form.unit_id.choices = [("", "请选择单位")] + [
            (u.id, f"{u.name}（{u.district}）")
            for u in db.session.execute(sa.select(Unit).order_by(Unit.name)).scalars()
        ]
        return form

    def create_model(self, form: Any) -> Any:
        account = account_key(form.account.data)
        trainee = find_trainee(account)
        if trainee is None:
            flash(f"没有账号为 {account} 的学员", "error")
            return False
        try:
            with transaction():
                check_grantable(trainee.id, form.unit_id.data)
                grant = UnitAdmin(
                    trainee_id=trainee.id, unit_id=form.unit_id.data, granted_at=app_now()
                )
                db.session.add(grant)
                db.session.flush()
                audit.record("unit_admins.create", "unit_admins", grant.id, None, snapshot(grant))
        except Conflict as err:
            flash(err.message, "error")
            return False
        except sa.exc.IntegrityError:
            flash("该学员已是某个单位的管理员（每人只能管理一个单位）", "error")
            return False
        return grant
