"""The console's sign-in pages: password, then the TOTP code (its QR shown until enrolled), logout."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlparse

import qrcode
import qrcode.image.svg
from flask import current_app, flash, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from wxapp.console import auth, session
from wxapp.console.access import ConsoleForm, current_operator, pending_operator
from wxapp.console.identity import operator_fingerprint
from wxapp.errors import AppError
from wxapp.extensions import app_now, secret_keys


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
            return redirect(url_for(".index"))
        form = CodeForm(request.form)
        if request.method == "POST" and form.validate():
            try:
                operator = auth.check_code(
                    operator.id, form.code.data, app_now(), lockout(), secret_keys()
                )
            except AppError as err:
                flash(err.message, "error")
            else:
                session.start(operator.id, operator_fingerprint(operator), second_factor=True)
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

    @expose("/logout", methods=("POST",))
    def logout(self) -> Any:
        if LogoutForm(request.form).validate():
            operator = current_operator() or pending_operator()
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
        return redirect(url_for("console_login.index"))

    @expose("/")
    def index(self) -> Any:
        return self.render("console/index.html", operator=current_operator())
