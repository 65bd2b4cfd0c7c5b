"""The `/wechat` callback: URL verification, messages and events, plaintext and AES mode.

Order of checks: the signature (403 if wrong), the freshness of the signed query (403 for a
timestamp more than `MAX_SKEW_S` off, or a timestamp and nonce already used with another
body: a query string read in an access log signs nothing new), then the body through
`xmlsafe` (400 if malformed or hostile), then wechatpy's parser on the vetted text. With
`require_aes` (the account runs in 安全模式) a raw body is refused: `encrypt_type` comes
from the request, so only the setting can say that every message must be encrypted. A retry (same MsgId, or
for events the same sender, CreateTime and event) is processed once: the first delivery
takes a Redis `SET NX` key and stores its rendered reply there; retries answer with it.
Nothing here calls WeChat's API, so the answer comes well inside WeChat's 5 seconds.
What the account answers is passed in (`respond`): `wxapp.conversation` decides it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import ArticlesReply, TextReply, TransferCustomerServiceReply

from wxapp.wechat.xmlsafe import HostileXml, parse_flat

log = logging.getLogger(__name__)

# WeChat signs each push with the current time; a signature older or newer than this is
# refused, and a (timestamp, nonce) pair is remembered for twice as long.
MAX_SKEW_S = 300
# A processed push is remembered as long as its signed query can be accepted again: with
# WeChat's clock up to MAX_SKEW_S ahead of ours, that is twice MAX_SKEW_S after we saw it.
DEDUPE_TTL_S = 2 * MAX_SKEW_S
# URL verification's echostr: WeChat sends a random decimal string. Anything else (markup
# above all) is not echoed.
_ECHOSTR = re.compile(r"[0-9A-Za-z]{1,64}")
PENDING = "\x00pending"
# How long a retry waits for the first delivery's reply before answering `success`.
RETRY_WAIT_S = 1.0


class BadSignature(Exception):
    """The request is not signed with our token, or its signed query is stale or replayed: 403."""


class BadMessage(Exception):
    """Malformed, hostile or undecryptable body: 400, nothing processed."""


@dataclass(frozen=True)
class CallbackSettings:
    token: str
    aes_key: str
    app_id: str
    public_base: str
    require_aes: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CallbackSettings:
        return cls(
            config["WECHAT_TOKEN"],
            config["WECHAT_AES_KEY"],
            config["WECHAT_APP_ID"],
            config["PUBLIC_BASE_URL"],
            bool(config.get("WECHAT_CALLBACK_REQUIRE_AES")),
        )


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts, concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _check(expected: str, given: str | None) -> None:
    # compare_digest raises TypeError on non-ASCII text: such a signature is simply wrong.
    if not given or not given.isascii() or not hmac.compare_digest(expected, given):
        raise BadSignature()


def _check_fresh(r: redis.Redis, args: Mapping[str, str], what: bytes, now: datetime) -> None:
    """Refuse a signed query that is stale, or that was already used for something else.

    `what` is what the signature is meant for (the body, or the echostr): WeChat's retry of
    the same push reuses nothing but may resend the same body, which the message dedupe
    then answers; a different body under a seen (timestamp, nonce) is a replay.
    """
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise BadSignature("timestamp")
    if abs(now.timestamp() - int(timestamp)) > MAX_SKEW_S:
        raise BadSignature("stale timestamp")
    key = f"wechat:nonce:{timestamp}:{hashlib.sha1(nonce.encode()).hexdigest()}"
    digest = hashlib.sha256(what).hexdigest()
    if not r.set(key, digest, nx=True, ex=2 * MAX_SKEW_S) and r.get(key) != digest:
        raise BadSignature("replayed nonce")


def verify_url(
    settings: CallbackSettings, r: redis.Redis, args: Mapping[str, str], now: datetime
) -> str:
    """GET /wechat: the echostr, if the signature is ours, fresh, and the echostr is WeChat's."""
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    _check(sign(settings.token, timestamp, nonce), args.get("signature"))
    echostr = args.get("echostr", "")
    if not _ECHOSTR.fullmatch(echostr):
        raise BadMessage("echostr is not WeChat's")
    _check_fresh(r, args, b"echostr:" + echostr.encode(), now)
    return echostr


def _plaintext(
    settings: CallbackSettings, args: Mapping[str, str], body: bytes
) -> tuple[str, bool]:
    """The message XML and whether it came in AES mode; raises BadSignature / BadMessage."""
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if args.get("encrypt_type", "raw") != "aes":
        if settings.require_aes:
            raise BadSignature("raw body in 安全模式")
        _check(sign(settings.token, timestamp, nonce), args.get("signature"))
        return _text(body), False
    try:
        outer = parse_flat(body)
    except HostileXml as err:
        raise BadMessage(str(err)) from None
    encrypt = outer.get("Encrypt")
    if not encrypt:
        raise BadMessage("no Encrypt")
    # Safe mode is verified by msg_signature, which covers the ciphertext; never `signature`.
    msg_signature = args.get("msg_signature")
    _check(sign(settings.token, timestamp, nonce, encrypt), msg_signature)
    crypto = WeChatCrypto(settings.token, settings.aes_key, settings.app_id)
    try:
        return crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce), True
    except Exception as err:  # bad base64, padding or appid: the ciphertext is not ours
        raise BadMessage(f"cannot decrypt: {type(err).__name__}") from None


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadMessage("not UTF-8") from None


def _dedupe_key(fields: Mapping[str, str]) -> str:
    msg_id = fields.get("MsgId")
    if msg_id:
        return f"wechat:msg:{msg_id}"
    # WeChat's rule for events is sender + CreateTime; the event and key keep two
    # different clicks within one second apart, and a TEMPLATESENDJOBFINISH report's MsgID
    # the reports on two template messages to one user within one second.
    key = "wechat:evt:{}:{}:{}:{}".format(
        fields.get("FromUserName", ""),
        fields.get("CreateTime", ""),
        fields.get("Event", ""),
        fields.get("EventKey", ""),
    )
    report_of = fields.get("MsgID")
    return f"{key}:{report_of}" if report_of else key


@dataclass(frozen=True)
class Incoming:
    """A message or event as the account's replies need it, free of wechatpy's types."""

    openid: str
    type: str  # "text", "event", or another MsgType the account does not answer
    content: str = ""
    event: str = ""  # subscribe, subscribe_scan, unsubscribe, click, ...
    key: str = ""  # a click's EventKey
    sent_at: datetime | None = None  # WeChat's CreateTime (UTC), when it had one
    # A message's MsgId; in a TEMPLATESENDJOBFINISH report, the template message's MsgID.
    msg_id: int | None = None
    status: str = ""  # a TEMPLATESENDJOBFINISH report's Status: success, failed:user block, ...


# What the domain answers: a reply as plain data, or None for WeChat's "no reply".
Responder = Callable[[Incoming, str, datetime], "Reply | None"]
Reply = dict[str, Any]


def _incoming(message: Any) -> Incoming:
    return Incoming(
        openid=message.source,
        type=message.type,
        content=getattr(message, "content", None) or "",
        event=getattr(message, "event", None) or "",
        key=getattr(message, "key", None) or "",
        sent_at=_sent_at(message),
        msg_id=_msg_id(message),
        status=_status(message),
    )


def _sent_at(message: Any) -> datetime | None:
    """The message's CreateTime in UTC; None when it has none that is a time (wechatpy
    converts it when read, and a forged body may hold anything there)."""
    try:
        value = getattr(message, "create_time", None)
    except (ValueError, OverflowError, OSError):
        return None
    return value.astimezone(UTC) if isinstance(value, datetime) else None


# Ids are kept as BIGINT (signed 64-bit): a larger one names nothing we sent.
_MAX_MSG_ID = 2**63 - 1


def _msg_id(message: Any) -> int | None:
    """MsgId / MsgID as a positive 64-bit integer; None when there is none (wechatpy converts
    it when read: a forged body may hold text, markup or thousands of digits there)."""
    try:
        value = getattr(message, "id", None)
    except (ValueError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= _MAX_MSG_ID else None


def _status(message: Any) -> str:
    """A TEMPLATESENDJOBFINISH report's Status; "" for anything but text (repeated or nested
    tags come out of the parser as a list or a dict)."""
    value = getattr(message, "status", None)
    return value[:100] if isinstance(value, str) else ""


def _cdata(text: str) -> str:
    """`text` safe inside wechatpy's `<![CDATA[...]]>`: a `]]>` in it is split across two
    sections, so a title holding one reaches WeChat whole instead of as broken XML."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def _render(reply: Reply | None, message: Any) -> str:
    if reply is None:
        return "success"  # WeChat's "no reply"
    if reply["type"] == "news":
        articles = [{k: _cdata(v) for k, v in a.items()} for a in reply["articles"]]
        return ArticlesReply(message=message, articles=articles).render()
    if reply["type"] == "transfer_customer_service":  # to the account's 客服 (多客服)
        return TransferCustomerServiceReply(message=message).render()
    return TextReply(message=message, content=_cdata(reply["content"])).render()


def _process_once(
    r: redis.Redis,
    fields: Mapping[str, str],
    xml: str,
    settings: CallbackSettings,
    respond: Responder,
    now: datetime,
) -> str:
    key = _dedupe_key(fields)
    if not r.set(key, PENDING, nx=True, ex=DEDUPE_TTL_S):
        return _stored_reply(r, key)
    try:
        message = parse_message(xml)
        rendered = _render(respond(_incoming(message), settings.public_base, now), message)
    except Exception:
        r.delete(key)  # let WeChat's retry process it again
        raise
    r.set(key, rendered, ex=DEDUPE_TTL_S)
    return rendered


def _stored_reply(r: redis.Redis, key: str) -> str:
    deadline = time.monotonic() + RETRY_WAIT_S
    while True:
        stored = r.get(key)
        if stored != PENDING:
            return stored or "success"
        if time.monotonic() >= deadline:
            return "success"  # still being processed by the first delivery
        time.sleep(0.05)


def handle_message(
    settings: CallbackSettings,
    r: redis.Redis,
    args: Mapping[str, str],
    body: bytes,
    respond: Responder,
    now: datetime,
) -> str:
    """POST /wechat: the reply body (XML, encrypted in AES mode, or `success`).

    `respond` is the account's side: what to answer to each message or event.
    """
    xml, aes = _plaintext(settings, args, body)
    _check_fresh(r, args, body, now)
    try:
        fields = parse_flat(xml)
    except HostileXml as err:
        raise BadMessage(str(err)) from None
    if not fields.get("MsgType") or not fields.get("FromUserName"):
        raise BadMessage("not a WeChat message")
    rendered = _process_once(r, fields, xml, settings, respond, now)
    if not aes or rendered == "success":
        return rendered
    crypto = WeChatCrypto(settings.token, settings.aes_key, settings.app_id)
    return crypto.encrypt_message(rendered, args.get("nonce", ""), str(int(now.timestamp())))
