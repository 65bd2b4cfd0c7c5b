"""客服's console pages: 学员查询 (find a trainee by name, ID number, phone, openid or order
number) and one page per trainee with everything about them and the actions customer
service may take (wxapp/console/support_actions.py, support_phone.py), each posted with the CSRF token."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_admin import Admin, expose

from wxapp.console import support_actions as actions
from wxapp.console import support_phone as phones
from wxapp.console.access import Role, SecuredView, current_operator
from wxapp.console.display import REFUND_STATES, event_name, refund_reason, when, yuan
from wxapp.errors import AppError, Forbidden
from wxapp.extensions import app_now
from wxapp.infra.clock import local
from wxapp.progress.tracking import get_store

SUPPORT = frozenset({Role.SUPPORT, Role.ADMIN})
CATEGORY = "客服"


class TraineeSupportView(SecuredView):
    roles = SUPPORT

    @expose("/")
    def index(self) -> Any:
        q = request.args.get("q", "").strip()
        found, problem = [], None
        if q:
            try:
                found = actions.search(q)
            except AppError as err:
                problem = err.message
            else:
                actions.record_lookup(q, found)
        return self.render("console/support_search.html", q=q, found=found, problem=problem)

    @expose("/<int:trainee_id>")
    def trainee(self, trainee_id: int) -> Any:
        try:
            page = actions.trainee_page(
                current_app.extensions["redis"],
                get_store(),
                trainee_id,
                local(app_now()).year,
            )
        except AppError as err:
            flash(err.message, "error")
            return redirect(url_for(".index"))
        actions.record_view(trainee_id)
        operator = current_operator()
        return self.render(
            "console/support_trainee.html",
            phone_replacement=(
                phones.phone_replacement_status(operator, trainee_id, app_now())
                if operator is not None
                else None
            ),
            verifications=phones.VERIFICATIONS,
            when=when,
            yuan=yuan,
            event_name=event_name,
            refund_reason=refund_reason,
            refund_states=REFUND_STATES,
            **page,
        )

    def _act(self, trainee_id: int, run: Any, done: str | Any) -> Any:
        """An action on the trainee, then back to their page."""
        return self.posted_action(run, done, ".trainee", trainee_id=trainee_id)

    @staticmethod
    def _ctx() -> tuple[Any, Any]:
        return current_app.extensions["redis"], app_now()

    @expose("/<int:trainee_id>/reset-sms", methods=("POST",))
    def reset_sms(self, trainee_id: int) -> Any:
        r, now = self._ctx()
        return self._act(
            trainee_id,
            lambda: actions.send_reset_sms(
                r, current_app.config, trainee_id, request.remote_addr or "", now
            ),
            lambda phone: (
                f"已向 {phone} 发送重置密码验证码：请学员在登录页点“忘记密码”，"
                "输入验证码并设置新密码"
            ),
        )

    @expose("/<int:trainee_id>/temporary-password", methods=("POST",))
    def temporary_password(self, trainee_id: int) -> Any:
        r, now = self._ctx()
        return self._act(
            trainee_id,
            lambda: actions.set_temporary_password(
                r, trainee_id, request.form.get("password", ""), now
            ),
            "已设置临时密码：学员用它登录后，须通过短信验证设置自己的新密码",
        )

    @expose("/<int:trainee_id>/unlock", methods=("POST",))
    def unlock(self, trainee_id: int) -> Any:
        r, _ = self._ctx()
        return self._act(
            trainee_id,
            lambda: actions.unlock(r, trainee_id),
            lambda was: "已解除登录锁定" if was else "该账号当前未被锁定（已清除错误次数）",
        )

    @expose("/<int:trainee_id>/unbind", methods=("POST",))
    def unbind(self, trainee_id: int) -> Any:
        r, now = self._ctx()
        return self._act(
            trainee_id,
            lambda: actions.unbind_wechat(r, trainee_id, now),
            "已解除微信绑定，该学员的登录会话已全部结束",
        )

    @expose("/<int:trainee_id>/correct", methods=("POST",))
    def correct(self, trainee_id: int) -> Any:
        _, now = self._ctx()
        operator = current_operator()
        return self._act(
            trainee_id,
            lambda: actions.correct_identity(
                trainee_id,
                operator.login if operator else "",
                now,
                current_app.config["PUBLIC_BASE_URL"],
                name=request.form.get("name"),
                id_number=request.form.get("id_number"),
                reason=request.form.get("reason"),
            ),
            lambda result: (
                "已更正"
                + "、".join(
                    {"name": "姓名", "id_number": "身份证号码"}[c["field"]]
                    for c in result["changes"]
                )
                + (
                    f"，并刷新证书 {len(result['certificates_refreshed'])} 张"
                    if result["certificates_refreshed"]
                    else ""
                )
            ),
        )

    @expose("/<int:trainee_id>/phone-check", methods=("POST",))
    def phone_check(self, trainee_id: int) -> Any:
        r, now = self._ctx()
        return self._act(
            trainee_id,
            lambda: phones.send_phone_check(
                r,
                current_app.config,
                trainee_id,
                request.form.get("phone", ""),
                request.remote_addr or "",
                now,
            ),
            lambda phone: f"核验码已发送至 {phone}：请在电话中请学员读出验证码后填写",
        )

    @expose("/<int:trainee_id>/phone", methods=("POST",))
    def phone(self, trainee_id: int) -> Any:
        r, now = self._ctx()
        operator = current_operator()
        return self._act(
            trainee_id,
            lambda: phones.correct_phone(
                r,
                trainee_id,
                request.form.get("phone", ""),
                request.form.get("code", ""),
                request.form.get("reason"),
                operator.login if operator else "",
                now,
            ),
            "已更正手机号：请学员用初始密码登录，按页面提示用发至新手机号的验证码激活账号",
        )

    @expose("/<int:trainee_id>/phone-replace-check", methods=("POST",))
    def phone_replace_check(self, trainee_id: int) -> Any:
        r, now = self._ctx()
        return self._act(
            trainee_id,
            lambda: phones.send_replacement_check(
                r,
                current_app.config,
                trainee_id,
                request.form.get("phone", ""),
                _operator(),
                request.remote_addr or "",
                now,
            ),
            lambda phone: f"核验码已发送至 {phone}：请在电话中请学员读出验证码后填写",
        )

    @expose("/<int:trainee_id>/phone-replace", methods=("POST",))
    def phone_replace(self, trainee_id: int) -> Any:
        r, now = self._ctx()
        return self._act(
            trainee_id,
            lambda: phones.replace_activated_phone(
                r,
                trainee_id,
                phone=request.form.get("phone"),
                sms_code=request.form.get("code"),
                method=request.form.get("verification"),
                detail=request.form.get("detail"),
                operator=_operator(),
                now=now,
            ),
            lambda done: (
                f"已将手机号更换为 {done['phone']}：该学员的登录已全部结束，微信绑定已解除，"
                "登录锁定已解除；"
                + (
                    "已通过微信通知原绑定的微信用户；"
                    if done["owner_told"]
                    else "该账号未绑定微信；"
                )
                + (
                    "已向原手机号发送更换通知短信。"
                    if done["old_phone_told"]
                    else "该账号原无手机号，无法短信通知原持有人。"
                )
                + "原密码已失效：请学员用“忘记密码”（验证码发至新手机号）设置新密码，"
                "或为其设置临时密码"
            ),
        )


def _operator() -> Any:
    """The signed-in operator (the view's role check lets no one else reach an action)."""
    operator = current_operator()
    if operator is None:
        raise Forbidden("请先登录后台")
    return operator


def register(admin: Admin) -> None:
    admin.add_view(
        TraineeSupportView(name="学员查询", category=CATEGORY, endpoint="support", url="trainees")
    )
