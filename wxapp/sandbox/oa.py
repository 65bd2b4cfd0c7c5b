"""The official-account half of the sandbox: WeChat's own paths under /_sandbox/.

With WECHAT_API_BASE / WECHAT_OAUTH_BASE = PUBLIC_BASE_URL + "/_sandbox", wechatpy's calls
land here: `cgi-bin/token`, `cgi-bin/stable_token`, `cgi-bin/menu/create|get`,
`cgi-bin/message/template/send`, `cgi-bin/message/subscribe/bizsend`,
`sns/oauth2/access_token`, and the consent page `connect/oauth2/authorize`. For people:
`/_sandbox/phone` (send clicks and messages to /wechat) and `/_sandbox/inbox?openid=`.
For tests: `/_sandbox/switches` (slow, busy, unsubscribed, blocked, undelivered) and
`/_sandbox/inbox.json`. Like WeChat, it reports each template message it accepted to
/wechat (TEMPLATESENDJOBFINISH) once its answer has gone out.
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
)

from wxapp.conversation import menu as app_menu
from wxapp.extensions import app_now, get_redis
from wxapp.sandbox import oa_phone
from wxapp.sandbox import oa_state as state

bp = Blueprint("sandbox_oa", __name__, url_prefix="/_sandbox", template_folder="templates")

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40016: "invalid button size",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    46003: "menu no exist",
}


def _err(code: int) -> Any:
    return jsonify({"errcode": code, "errmsg": ERRMSG.get(code, "error")})


def _ok(**extra: Any) -> Any:
    return jsonify({"errcode": 0, "errmsg": "ok", **extra})


@bp.before_request
def _maybe_slow():
    if not request.path.startswith(("/_sandbox/cgi-bin/", "/_sandbox/sns/")):
        return None
    r = get_redis()
    delay = state.slow_ms(r)
    if delay:
        time.sleep(min(delay, 30_000) / 1000)
    status = state.fail_http(r)
    if status:
        return Response("sandbox: failing gateway", status=status, mimetype="text/plain")
    return None


def _app_credentials(appid: str | None, secret: str | None) -> int:
    cfg = current_app.config
    if appid != cfg["WECHAT_APP_ID"]:
        return 40013
    if secret != cfg["WECHAT_APP_SECRET"]:
        return 40125
    return 0


def _json_body() -> dict[str, Any] | None:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# --- access_token -----------------------------------------------------------------------


@bp.get("/cgi-bin/token")
def token():
    args = request.args
    if args.get("grant_type") != "client_credential":
        return _err(40002)
    failed = _app_credentials(args.get("appid"), args.get("secret"))
    if failed:
        return _err(failed)
    value, expires = state.issue_token(get_redis(), stable=False)
    return jsonify({"access_token": value, "expires_in": expires})


@bp.post("/cgi-bin/stable_token")
def stable_token():
    body = _json_body()
    if body is None:
        return _err(44002)
    failed = _app_credentials(body.get("appid"), body.get("secret"))
    if failed:
        return _err(failed)
    force = body.get("force_refresh") is True
    value, expires = state.issue_token(get_redis(), stable=True, force=force)
    return jsonify({"access_token": value, "expires_in": expires})


def _token_error() -> int:
    token_param = request.args.get("access_token")
    if not token_param:
        return 41001
    return state.check_token(get_redis(), token_param)


# --- menu -------------------------------------------------------------------------------


@bp.post("/cgi-bin/menu/create")
def menu_create():
    failed = _token_error() or state.take_failure(get_redis())
    if failed:
        return _err(failed)
    body = _json_body()
    buttons = body.get("button") if body else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return _err(40016)
    for button in buttons:
        if not isinstance(button, dict) or not button.get("name"):
            return _err(40016)
        if len(button.get("sub_button") or []) > 5:
            return _err(40016)
    state.save_menu(get_redis(), body)
    return _ok()


@bp.get("/cgi-bin/menu/get")
def menu_get():
    failed = _token_error()
    if failed:
        return _err(failed)
    saved = state.load_menu(get_redis())
    return jsonify({"menu": saved}) if saved else _err(46003)


# --- messages ---------------------------------------------------------------------------


def _send(kind: str) -> Any:
    r = get_redis()
    failed = _token_error() or state.take_failure(r)
    if failed:
        return _err(failed)
    body = _json_body()
    if body is None:
        return _err(44002)
    if not body.get("touser"):
        return _err(40003)
    if not body.get("template_id"):
        return _err(40037)
    openid = str(body["touser"])
    if state.is_unsubscribed(r, openid):
        return _err(43004)
    if kind != "template":
        return _ok(msgid=state.deliver(r, kind, body, app_now().isoformat()))
    status = state.delivery_status(r, openid)
    msgid, new = state.accept(
        r, kind, body, app_now().isoformat(), reaches=status == state.DELIVERED
    )
    response = _ok(msgid=msgid)
    if new:  # a dropped repeat is not reported again
        # After the answer, as WeChat reports: the sender may not have recorded the msgid yet.
        app = current_app._get_current_object()
        count = partial(state.count_report, r)
        response.call_on_close(partial(oa_phone.report, app, openid, msgid, status, count))
    return response


@bp.post("/cgi-bin/message/template/send")
def template_send():
    return _send("template")


@bp.post("/cgi-bin/message/custom/send")
def custom_send():
    """客服消息 (text only here): kept in the inbox beside the template messages."""
    r = get_redis()
    failed = _token_error() or state.take_failure(r)
    if failed:
        return _err(failed)
    body = _json_body()
    if body is None:
        return _err(44002)
    if not body.get("touser"):
        return _err(40003)
    if body.get("msgtype") != "text" or not (body.get("text") or {}).get("content"):
        return _err(40008)  # invalid message type
    state.deliver(r, "custom", body, app_now().isoformat())
    return _ok()


@bp.post("/cgi-bin/message/subscribe/bizsend")
def subscribe_send():
    return _send("subscribe")


@bp.get("/inbox.json")
def inbox_json():
    openid = request.args.get("openid", "")
    return jsonify({"openid": openid, "messages": state.inbox(get_redis(), openid)})


@bp.get("/inbox")
def inbox_page():
    openid = request.args.get("openid", "")
    messages = state.inbox(get_redis(), openid) if openid else []
    return render_template(
        "sandbox/oa_inbox.html", openid=openid, messages=messages, users=state.DEMO_USERS
    )


# --- switches ---------------------------------------------------------------------------


@bp.get("/switches")
def get_switches():
    return jsonify(state.switches(get_redis()))


@bp.post("/switches")
def post_switches():
    body = _json_body() or {}
    r = get_redis()
    if body.get("reset"):
        state.reset_switches(r)
    state.set_switches(
        r,
        slow_ms=body.get("slow_ms"),
        fail_errcode=body.get("fail_errcode"),
        fail_times=body.get("fail_times"),
        unsubscribed=body.get("unsubscribed"),
        fail_http=body.get("fail_http"),
        blocked=body.get("blocked"),
        undelivered=body.get("undelivered"),
    )
    return jsonify(state.switches(r))


# --- 网页授权 ----------------------------------------------------------------------------


@bp.get("/connect/oauth2/authorize")
def consent():
    args = request.args
    redirect_uri = args.get("redirect_uri", "")
    if args.get("appid") != current_app.config["WECHAT_APP_ID"]:
        abort(400, "appid 无效")
    # WeChat only redirects inside the registered 网页授权域名.
    if not redirect_uri.startswith(current_app.config["PUBLIC_BASE_URL"] + "/"):
        abort(400, "redirect_uri 域名与后台配置不一致")
    return render_template(
        "sandbox/oa_consent.html",
        users=state.DEMO_USERS,
        redirect_uri=redirect_uri,
        state=args.get("state", ""),
        scope=args.get("scope", "snsapi_base"),
    )


@bp.post("/connect/oauth2/authorize")
def consent_given():
    form = request.form
    redirect_uri = form.get("redirect_uri", "")
    openid = (form.get("openid") or "").strip()
    if not redirect_uri.startswith(current_app.config["PUBLIC_BASE_URL"] + "/"):
        abort(400, "redirect_uri 域名与后台配置不一致")
    if not openid or len(openid) > 64:
        abort(400, "请选择或输入 openid")
    code = state.issue_code(get_redis(), openid)
    sep = "&" if "?" in redirect_uri else "?"
    return redirect(
        f"{redirect_uri}{sep}{urlencode({'code': code, 'state': form.get('state', '')})}"
    )


@bp.get("/sns/oauth2/access_token")
def sns_access_token():
    args = request.args
    failed = _app_credentials(args.get("appid"), args.get("secret"))
    if failed:
        return _err(failed)
    openid, errcode = state.redeem_code(get_redis(), args.get("code", ""))
    if errcode:
        return _err(errcode)
    return jsonify(
        {
            "access_token": "sbx_web_" + openid[-8:],
            "expires_in": 7200,
            "refresh_token": "sbx_refresh_" + openid[-8:],
            "openid": openid,
            "scope": "snsapi_base",
        }
    )


# --- the phone --------------------------------------------------------------------------


@bp.get("/phone")
def phone():
    return render_template(
        "sandbox/oa_phone.html", users=state.DEMO_USERS, buttons=app_menu.click_buttons()
    )


@bp.post("/phone/send")
def phone_send():
    body = _json_body() or {}
    openid = str(body.get("openid") or state.DEMO_USERS[0]["openid"])[:64]
    kind = body.get("kind")
    if kind not in ("text", "click", "subscribe", "unsubscribe"):
        return jsonify(
            {"error": "invalid", "message": "kind 应为 text/click/subscribe/unsubscribe"}
        ), 422
    xml = oa_phone.build_xml(
        kind,
        openid,
        key=str(body.get("key") or ""),
        content=str(body.get("content") or "")[:600],
    )
    return jsonify(
        oa_phone.send(current_app._get_current_object(), xml, aes=body.get("mode") == "aes")
    )
