"""GET/POST /wechat: WeChat's server URL; answers in WeChat's format, never JSON."""

from __future__ import annotations

import logging
from functools import partial

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from handlers.guard import body_limit
from wxapp.conversation.dispatch import respond, send_ack
from wxapp.extensions import app_now, get_redis
from wxapp.infra import limits
from wxapp.wechat.callback import (
    BadMessage,
    BadSignature,
    CallbackSettings,
    handle_message,
    verify_url,
)

log = logging.getLogger(__name__)

bp = Blueprint("wechat", __name__)


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _reply(body: str) -> Response:
    """A message reply: XML (WeChat's passive reply), or `success`."""
    return Response(body, mimetype="application/xml" if body.startswith("<xml>") else "text/plain")


@bp.get("/wechat")
def verify():
    settings = CallbackSettings.from_config(current_app.config)
    return _plain(verify_url(settings, get_redis(), request.args, app_now()))


@bp.post("/wechat")
@body_limit(limits.WECHAT_CALLBACK_BODY)
def receive():
    settings = CallbackSettings.from_config(current_app.config)
    body = request.get_data(cache=False)
    acks: list[tuple[str, str]] = []

    def respond_noting_acks(message, public_base, now):
        reply = respond(message, public_base, now)
        if reply and reply.get("ack"):  # told to the user after the reply (客服消息)
            acks.append((message.openid, reply["ack"]))
        return reply

    response = _reply(
        handle_message(settings, get_redis(), request.args, body, respond_noting_acks, app_now())
    )
    client = current_app.extensions["wechat"]
    for openid, text in acks:
        response.call_on_close(partial(send_ack, client, openid, text))
    return response


@bp.errorhandler(BadSignature)
def _bad_signature(err: BadSignature):
    log.warning("wechat callback: refused signature from %s (%s)", request.remote_addr, err)
    return _plain("forbidden", 403)


@bp.errorhandler(BadMessage)
def _bad_message(err: BadMessage):
    log.warning("wechat callback: refused body (%s)", err)
    return _plain("bad request", 400)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return _plain(err.name.lower(), err.code or 400)


@bp.errorhandler(Exception)
def _unexpected(err: Exception):
    # WeChat shows users "该公众号暂时无法提供服务" for anything but a valid answer, and
    # retries only a push it had no answer to within 5 s. The dedupe key was released, so
    # such a retry (of a delivery that waited on a database timing out) processes the
    # message again; one that failed at once is not retried: the user asks again, and a
    # lost subscribe or unsubscribe leaves the binding as it was until the next one.
    log.exception("wechat callback failed")
    return _plain("success")
