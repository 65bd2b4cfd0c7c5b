"""The account's side of `/wechat`: which reply each message or event gets, and the
following flag that subscribe and unsubscribe events set."""

from __future__ import annotations

from datetime import datetime

from wxapp.accounts import bindings
from wxapp.conversation import replies
from wxapp.infra.transaction import transaction
from wxapp.wechat.callback import Incoming


def respond(message: Incoming, public_base: str, now: datetime) -> replies.Reply | None:
    """The reply to one message or event; None when the account says nothing."""
    openid = message.openid
    if message.type == "text":
        return replies.for_text(message.content, openid, public_base, now)
    if message.type != "event":
        return None
    if message.event in ("subscribe", "subscribe_scan"):
        with transaction():
            bindings.set_following(openid, True, now)
        return replies.welcome_reply(openid, public_base)
    if message.event == "unsubscribe":
        with transaction():
            bindings.set_following(openid, False, now)
        return None
    if message.event == "click":
        return replies.for_key(message.key, openid, public_base, now)
    return None
