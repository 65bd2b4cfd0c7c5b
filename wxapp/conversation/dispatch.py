"""The account's side of `/wechat`: which reply each message or event gets, the following
flag that subscribe and unsubscribe events set, WeChat's delivery reports on template
messages (handed to `wxapp.notifications.delivery`), and the 客服消息 that tells a user
their message went to customer service."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import requests
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from wxapp.accounts import bindings
from wxapp.conversation import replies
from wxapp.extensions import get_redis
from wxapp.infra.transaction import transaction
from wxapp.notifications import delivery
from wxapp.wechat.callback import Incoming

log = logging.getLogger(__name__)


def respond(message: Incoming, public_base: str, now: datetime) -> replies.Reply | None:
    """The reply to one message or event; None when the account says nothing."""
    openid = message.openid
    if message.type == "text":
        return replies.for_text(message.content, openid, public_base, now)
    if message.type != "event":
        return None
    if message.event in ("subscribe", "subscribe_scan"):
        with transaction():
            bindings.set_following(openid, True, message.sent_at or now, now)
        return replies.welcome_reply(openid, public_base)
    if message.event == "unsubscribe":
        with transaction():
            bindings.set_following(openid, False, message.sent_at or now, now)
        return None
    if message.event == "click":
        return replies.for_key(message.key, openid, public_base, now)
    if message.event == "templatesendjobfinish":
        if message.msg_id is not None:  # a report without one names no send
            report = delivery.Report(message.msg_id, message.status)
            policy = delivery.RetryPolicy.from_config(current_app.config)
            delivery.receive(get_redis(), report, policy, now)
        return None
    return None


def send_ack(client: Any, openid: str, content: str) -> bool:
    """Send the handoff's acknowledgement as a 客服消息 (message/custom/send), after the
    passive reply went out. A failure is logged, not retried: it is a courtesy; the message
    itself is with customer service already."""
    try:
        client.message.send_text(openid, content)
    except WeChatClientException as err:
        log.warning("handoff acknowledgement to %s not sent: %s", openid, err)
        return False
    except requests.RequestException as err:
        # Only the kind: the text of a connection error holds the URL, access_token and all.
        log.warning("handoff acknowledgement to %s not sent: %s", openid, type(err).__name__)
        return False
    return True
