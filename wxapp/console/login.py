"""The console's sign-in pages: password, then the TOTP code (its QR shown until enrolled),
修改密码 (forced after a 管理员 set the password, else from the menu bar), logout."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlparse

import qrcode
import qrcode.image.svg
from flask import current_app, flash, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from wxapp.console import auth, resets, session
from wxapp.console.access import (
    ConsoleForm,
    current_operator,
    password_change_due,
    pending_operator,
)
from wxapp.console.identity import operator_fingerprint
from wxapp.errors import AppError
from wxapp.extensions import app_now, secret_keys
from wxapp.infra.clock import local


class PasswordForm(ConsoleForm):
    login = StringField("登录名", validators=[InputRequired("请输入登录名"), Length(max=40)])
    password = PasswordField("密码", validators=[InputRequired("请输入密码"), Length(max=200)])


class CodeForm(ConsoleForm):
    code = StringField(
        "动态验证码",
        validators=[InputRequired("请输入 6 位动态验证码"), Length(max=6)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class LogoutForm(ConsoleForm):
    pass


class NewPasswordForm(ConsoleForm):
    """After signing in with a password a 管理员 set: the new one twice."""

    new_password = PasswordField(
        "新密码（至少 10 位，含字母和数字）",
        validators=[InputRequired("请输入新密码"), Length(max=200)],
    )
    repeat = PasswordField(
        "再次输入新密码",
        validators=[
            InputRequired("请再次输入新密码"),
            EqualTo("new_password", "两次输入的新密码不一致"),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    """An operator's own change from the menu bar: the current password first."""

    current_password = PasswordField(
        "当前密码", validators=[InputRequired("请输入当前密码"), Length(max=200)]
    )


def lockout() -> auth.Lockout:
    return auth.Lockout(
        current_app.config["CONSOLE_LOCKOUT_ATTEMPTS"],
        current_app.config["CONSOLE_LOCKOUT_MINUTES"],
    )


def _safe_next(value: str | None) -> str:
    """Only a console path of this site (never another host) after signing in."""
    if value and value.startswith("/admin") and not urlparse(value).netloc and "\\" not in value:
        return value
    return url_for("admin.index")


def reset_notice(notice: resets.ResetNotice) -> str:
    """What the operator reads at the sign-in after someone reset their password or TOTP
    (plain text: the page escapes it)."""
    by = f"管理员 {notice.by}" if notice.by else "服务器命令行"
    return (
        f"您的{notice.what}已于 {local(notice.at):%Y-%m-%d %H:%M}（北京时间）由{by}重置；"
        "如非您本人申请，请立即联系中心负责人或其他管理员，并请管理员停用该账号。"
    )


def qr_data_uri(uri: str) -> str:
    svg = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


class LoginView(BaseView):
    """/admin/login/: open to everyone, listed in no menu."""

    def is_visible(self) -> bool:
        return False

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        if current_operator() is not None:
            return redirect(url_for("admin.index"))
        if password_change_due() is not None:
            return redirect(url_for(".password"))
        form = PasswordForm(request.form)
        next_url = _safe_next(request.values.get("next"))
        if request.method == "POST" and form.validate():
            try:
                operator = auth.check_password(
                    form.login.data, form.password.data, app_now(), lockout()
                )
            except AppError as err:
                flash(err.message, "error")
            else:
                session.start(operator.id, operator_fingerprint(operator), second_factor=False)
                return redirect(url_for(".totp", next=next_url))
        return self.render("console/login.html", form=form, next_url=next_url)

    @expose("/totp", methods=("GET", "POST"))
    def totp(self) -> Any:
        operator = pending_operator()
        if operator is None:
            if current_operator() is not None:
                return redirect(url_for("admin.index"))
            if password_change_due() is not None:
                return redirect(url_for(".password"))
            return redirect(url_for(".index"))
        form = CodeForm(request.form)
        if request.method == "POST" and form.validate():
            previous_login = operator.last_login_at
            try:
                operator = auth.check_code(
                    operator.id, form.code.data, app_now(), lockout(), secret_keys()
                )
            except AppError as err:
                flash(err.message, "error")
            else:
                session.start(operator.id, operator_fingerprint(operator), second_factor=True)
                for notice in resets.resets_since(operator.id, previous_login):
                    flash(reset_notice(notice), "warning")
                if operator.must_change_password:
                    return redirect(url_for(".password"))
                return redirect(_safe_next(request.args.get("next")))
        enrolment = auth.enrolment_for(operator, secret_keys())
        return self.render(
            "console/totp.html",
            form=form,
            operator=operator,
            enrolment=enrolment,
            qr=qr_data_uri(enrolment) if enrolment else None,
            secret=enrolment.split("secret=", 1)[1].split("&", 1)[0] if enrolment else None,
        )

    @expose("/password", methods=("GET", "POST"))
    def password(self) -> Any:
        """修改密码: the only page open after signing in with a password a 管理员 set (no
        current password asked: it was typed a moment ago); any operator's own change else."""
        forced = password_change_due()
        operator = forced or current_operator()
        if operator is None:
            if pending_operator() is not None:
                return redirect(url_for(".totp"))
            return redirect(url_for(".index", next=url_for(".password")))
        form = NewPasswordForm(request.form) if forced else ChangePasswordForm(request.form)
        if request.method == "POST" and form.validate():
            current = None if forced else form.current_password.data
            try:
                operator = auth.change_password(
                    operator.id, form.new_password.data, current, app_now(), lockout()
                )
            except AppError as err:
                flash(err.message, "error")
            else:
                # Every other session of the operator has ended; this one goes on.
                session.start(operator.id, operator_fingerprint(operator), second_factor=True)
                flash("密码已修改：该账号在其他电脑上的登录均已结束", "success")
                return redirect(url_for("admin.index"))
        return self.render(
            "console/change_password.html", form=form, operator=operator, forced=bool(forced)
        )

    @expose("/logout", methods=("POST",))
    def logout(self) -> Any:
        if LogoutForm(request.form).validate():
            operator = current_operator() or pending_operator() or password_change_due()
            if operator is not None:
                # Every session of the operator ends, a copy of this cookie included.
                auth.end_sessions(operator.id, "operator.logout")
            session.clear()
            flash("已退出登录（该账号在所有电脑上的登录均已结束）", "success")
        return redirect(url_for(".index"))


class HomeView(AdminIndexView):
    """/admin/: what each role finds where; the login page for anyone not signed in."""

    def is_accessible(self) -> bool:
        return current_operator() is not None

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if pending_operator() is not None:
            return redirect(url_for("console_login.totp"))
        if password_change_due() is not None:
            return redirect(url_for("console_login.password"))
        return redirect(url_for("console_login.index"))

    @expose("/")
    def index(self) -> Any:
        return self.render("console/index.html", operator=current_operator())
