"""管理员's view of operators.

A password set here is a temporary one (the 管理员 knows it): the operator chooses their
own at the next sign-in. A 管理员's own password changes only under 修改密码, which asks
for the current one.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from markupsafe import Markup, escape
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from models import (
    Operator,
    db,
)
from wxapp.console import auth
from wxapp.console.access import (
    ROLE_LABELS,
    ConsoleForm,
    Role,
    SecuredModelView,
    current_operator,
    post_button,
    require_csrf,
)
from wxapp.console.admin_shared import ADMIN, time_cell
from wxapp.errors import AppError
from wxapp.extensions import app_now, secret_keys

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
        "临时密码（至少 10 位，含字母和数字）", validators=[InputRequired("请输入临时密码")]
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
        if model.id == _me_id():
            password = ("修改密码", url_for("console_login.password"))
        else:
            password = ("设置密码", url_for(".password", id=model.id))
        buttons = [
            post_button(
                url_for(".reset_totp", id=model.id),
                "重置动态验证码",
                confirm=f"确定为 {model.login} 重置动态验证码？",
            ),
            Markup(
                f'<a class="btn btn-sm btn-outline-secondary" href="{escape(password[1])}">'
                f"{escape(password[0])}</a>"
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
        "totp_enrolled_at": time_cell,
        "locked_until": time_cell,
        "last_login_at": time_cell,
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
                secret_keys=secret_keys(),
                now=app_now(),
                temporary=True,
            )
        except AppError as err:
            flash(err.message, "error")
            return False
        flash(
            "已创建操作员：请把登录名和初始密码交给本人；首次登录时页面显示动态验证码二维码，"
            "并须先把初始密码改成只有本人知道的密码。",
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
        auth.reset_second_factor(id, secret_keys=secret_keys())
        return self._done("已重置动态验证码：该操作员的所有登录已结束，下次登录时重新扫码绑定")

    @expose("/deactivate/<int:id>", methods=("POST",))
    def deactivate(self, id: int) -> Any:
        require_csrf()
        if id == _me_id():
            flash("不能停用自己的账号", "error")
            return redirect(url_for(".index_view"))
        auth.set_active(id, False)
        return self._done("已停用：该操作员的所有登录已结束")

    @expose("/activate/<int:id>", methods=("POST",))
    def activate(self, id: int) -> Any:
        require_csrf()
        auth.set_active(id, True)
        return self._done("已启用（锁定同时解除）")

    @expose("/password/<int:id>", methods=("GET", "POST"))
    def password(self, id: int) -> Any:
        if id == _me_id():
            # Setting one's own here would skip the current password and stay "temporary".
            flash("自己的密码请在「修改密码」中修改（需输入当前密码）", "error")
            return redirect(url_for("console_login.password"))
        operator = db.session.get(Operator, id)
        if operator is None:
            flash("没有这个操作员", "error")
            return redirect(url_for(".index_view"))
        form = PasswordResetForm(request.form)
        if request.method == "POST" and form.validate():
            try:
                auth.set_password(id, form.password.data, by=_me_id())
            except AppError as err:
                flash(err.message, "error")
            else:
                return self._done(
                    f"已为 {operator.login} 设置临时密码：其所有登录已结束；"
                    "下次登录时须先修改密码，并会看到是谁、何时重置的"
                )
        return self.render("console/operator_password.html", form=form, operator=operator)


def _me_id() -> int | None:
    me = current_operator()
    return me.id if me else None
