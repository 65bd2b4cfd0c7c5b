"""网页授权 login and the WeChat binding: /auth/wechat, /auth/wechat/return, bind, the
re-bind SMS code, unbind.

The flow is tied to the browser that starts it: /auth/wechat keeps a random nonce in this
browser's signed session (HttpOnly, SameSite=Lax, so WeChat's redirect back still carries
it) and only its hash in the state's Redis record; the return is refused in any other
browser, before the code is even exchanged.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session

from handlers import validation as v
from handlers.guard import (
    SESSION_MUST_CHANGE,
    SESSION_TRAINEE,
    body_limit,
    client_ip,
    current_trainee_id,
    known_devices,
    limit_by_ip,
    password_attempt,
    public,
    start_session,
)
from wxapp.accounts import session_ends, wechat_login
from wxapp.accounts import trainees as accounts
from wxapp.errors import AppError
from wxapp.extensions import app_now, get_redis
from wxapp.infra import limits, ratelimit
from wxapp.wechat import oauth

bp = Blueprint("wechat_auth", __name__)

# The openid of this WeChat user, kept in the (signed) session: pending until bound, and
# kept after login so pages opened inside WeChat know it (JSAPI pay needs it).
SESSION_OPENID = "wx_openid"
# This browser's secret for 网页授权: the state's record holds its hash (wxapp.wechat.oauth).
SESSION_OAUTH_NONCE = "wx_oauth_nonce"


@bp.errorhandler(AppError)
def _auth_error(err: AppError):
    """The /auth/ pages are opened by WeChat's browser: a page for people, JSON otherwise."""
    if (
        request.path.startswith("/auth/")
        and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    ):
        page = render_template(
            "h5/message.html",
            title="微信登录未完成",
            message=err.message,
            message_id="auth-error",
            advice="本次未登录任何账号，也未绑定任何微信。请关闭本页，从公众号菜单重新进入。",
            help="账号注册、登录问题咨询：400-023-9229，按 1 选择登录注册问题",
        )
        return page, err.status
    return jsonify(err.to_dict()), err.status


@bp.get("/auth/wechat")
def start():
    limit_by_ip(limits.OAUTH_START)
    nonce = session.get(SESSION_OAUTH_NONCE)
    if not isinstance(nonce, str) or not nonce:
        nonce = oauth.new_browser_nonce()
        session[SESSION_OAUTH_NONCE] = nonce
    return redirect(
        oauth.start_login(get_redis(), current_app.config, request.args.get("next"), nonce)
    )


@bp.get("/auth/wechat/return")
def finish():
    tid = session.get(SESSION_TRAINEE)
    outcome = wechat_login.finish_login(
        get_redis(),
        current_app.config,
        request.args.get("code", ""),
        request.args.get("state", ""),
        session.get(SESSION_OAUTH_NONCE),
        tid if isinstance(tid, int) else None,
    )
    if outcome.log_out_current:
        # Logged in as someone else than this WeChat user: that session ends here (its
        # cookie is refused from now on), it is never bound to nor carried over.
        session_ends.end_this_session(get_redis(), session, app_now())
    fields = None
    if outcome.trainee_id is not None:
        fields = wechat_login.session_fields_if_bound(
            get_redis(), outcome.openid, outcome.trainee_id
        )
    if fields is None:  # not bound, or unbound while this login read it
        session.clear()
        session[SESSION_OPENID] = outcome.openid
        return redirect(outcome.bind_url)
    start_session(outcome.trainee_id, False, fields)  # a usable binding is activated
    session[SESSION_OPENID] = outcome.openid
    return redirect(outcome.next_path)


def _credentials() -> tuple[str | None, dict, str, str]:
    """The pending openid (rate-limited per WeChat user) and the username and password;
    called inside `password_attempt(limits.BIND_ALL, limits.BIND)`."""
    openid = session.get(SESSION_OPENID)
    if not isinstance(openid, str) or not openid:
        openid = None
    else:
        ratelimit.hit(get_redis(), limits.BIND_PER_WECHAT_USER, openid)
    body = v.json_body()
    username = v.string(body, "username", max_len=18)
    password = v.string(body, "password", max_len=64, strip=False)
    return openid, body, username, password


@bp.post("/api/wechat/bind")
@public
@body_limit(limits.CREDENTIALS_BODY)
def bind():
    with password_attempt(limits.BIND_ALL, limits.BIND):
        openid, body, username, password = _credentials()
        sms_code = v.string(body, "sms_code", required=False, max_len=6)
        verified = wechat_login.bind_with_password(
            get_redis(), openid, username, password, sms_code or None, app_now(), known_devices()
        )
    trainee = verified.trainee
    start_session(
        trainee.id, trainee.must_change_password, accounts.session_fields(get_redis(), verified)
    )
    session[SESSION_OPENID] = openid
    return jsonify({**accounts.profile(trainee), "wechat_bound": True})


@bp.post("/api/wechat/bind/sms")
@public
@body_limit(limits.CREDENTIALS_BODY)
def send_rebind_code():
    with password_attempt(limits.BIND_ALL, limits.BIND):
        openid, _, username, password = _credentials()
        sent = wechat_login.send_rebind_code(
            get_redis(),
            current_app.config,
            openid,
            username,
            password,
            client_ip(),
            app_now(),
            known_devices(),
        )
    return jsonify(
        {
            "phone_tail": sent.phone_tail,
            "phone_masked": sent.phone_masked,
            "resend_after_s": sent.resend_after_s,
            "expires_in_s": sent.expires_in_s,
        }
    )


@bp.post("/api/me/wechat/unbind")
def unbind():
    """Ends every session of the trainee; this browser gets a fresh one without the openid."""
    trainee_id = current_trainee_id()
    was_bound = wechat_login.unbind(get_redis(), trainee_id, app_now())
    if was_bound:
        start_session(trainee_id, bool(session.get(SESSION_MUST_CHANGE)))
    session.pop(SESSION_OPENID, None)
    return jsonify({"wechat_bound": False, "was_bound": was_bound})
