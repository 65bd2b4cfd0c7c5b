"""网页授权 login and the WeChat binding: /auth/wechat, /auth/wechat/return, bind, unbind."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, request, session

from handlers import validation as v
from handlers.guard import (
    SESSION_MUST_CHANGE,
    SESSION_TRAINEE,
    body_limit,
    current_trainee_id,
    limit_by_ip,
    public,
    start_session,
)
from wxapp.accounts import trainees as accounts
from wxapp.accounts import wechat_login
from wxapp.extensions import app_now, get_redis
from wxapp.infra import limits, ratelimit
from wxapp.wechat import oauth

bp = Blueprint("wechat_auth", __name__)

# The openid of this WeChat user, kept in the (signed) session: pending until bound, and
# kept after login so pages opened inside WeChat know it (JSAPI pay needs it).
SESSION_OPENID = "wx_openid"


@bp.get("/auth/wechat")
def start():
    return redirect(oauth.start_login(get_redis(), current_app.config, request.args.get("next")))


@bp.get("/auth/wechat/return")
def finish():
    tid = session.get(SESSION_TRAINEE)
    outcome = wechat_login.finish_login(
        get_redis(),
        current_app.config,
        request.args.get("code", ""),
        request.args.get("state", ""),
        tid if isinstance(tid, int) else None,
        app_now(),
    )
    if outcome.trainee_id is None:
        session.clear()
        session[SESSION_OPENID] = outcome.openid
        return redirect(outcome.bind_url)
    start_session(outcome.trainee_id, outcome.must_change_password)
    session[SESSION_OPENID] = outcome.openid
    return redirect(outcome.next_path)


@bp.post("/api/wechat/bind")
@public
@body_limit(limits.CREDENTIALS_BODY)
def bind():
    limit_by_ip(limits.BIND)
    openid = session.get(SESSION_OPENID)
    if isinstance(openid, str) and openid:
        ratelimit.hit(get_redis(), limits.BIND_PER_WECHAT_USER, openid)
    body = v.json_body()
    username = v.string(body, "username", max_len=18)
    password = v.string(body, "password", max_len=64, strip=False)
    trainee = wechat_login.bind_with_password(get_redis(), openid, username, password, app_now())
    start_session(trainee.id, trainee.must_change_password)
    session[SESSION_OPENID] = openid
    return jsonify({**accounts.profile(trainee), "wechat_bound": True})


@bp.post("/api/me/wechat/unbind")
def unbind():
    """Ends every session of the trainee; this browser gets a fresh one without the openid."""
    trainee_id = current_trainee_id()
    was_bound = wechat_login.unbind(get_redis(), trainee_id, app_now())
    if was_bound:
        start_session(trainee_id, bool(session.get(SESSION_MUST_CHANGE)))
    session.pop(SESSION_OPENID, None)
    return jsonify({"wechat_bound": False, "was_bound": was_bound})
