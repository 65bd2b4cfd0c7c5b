"""The sandbox "phone": builds the XML WeChat would push, signs it (plain or AES) and
posts it to the app's own `/wechat`, then reads the reply the way WeChat would. WeChat's
delivery report on a template message (TEMPLATESENDJOBFINISH) goes the same way."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from flask import Flask
from wechatpy.crypto import WeChatCrypto

from wxapp.wechat.callback import sign
from wxapp.wechat.xmlsafe import parse_flat

log = logging.getLogger(__name__)

SANDBOX_ACCOUNT = "gh_sandbox000001"  # the official account's own id (ToUserName)


def _cdata(tag: str, value: str) -> str:
    return f"<{tag}><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></{tag}>"


def build_xml(kind: str, openid: str, *, key: str = "", content: str = "", when: int = 0) -> str:
    """The XML of a text message or a subscribe/unsubscribe/click event from `openid`."""
    when = when or int(time.time())
    head = _cdata("ToUserName", SANDBOX_ACCOUNT) + _cdata("FromUserName", openid)
    head += f"<CreateTime>{when}</CreateTime>"
    if kind == "text":
        msg_id = secrets.randbelow(10**18) + 10**18
        body = _cdata("MsgType", "text") + _cdata("Content", content) + f"<MsgId>{msg_id}</MsgId>"
    elif kind == "click":
        body = _cdata("MsgType", "event") + _cdata("Event", "CLICK") + _cdata("EventKey", key)
    elif kind in ("subscribe", "unsubscribe"):
        body = _cdata("MsgType", "event") + _cdata("Event", kind)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return f"<xml>{head}{body}</xml>"


def report_xml(openid: str, msgid: int, status: str, *, when: int) -> str:
    """WeChat's TEMPLATESENDJOBFINISH: what became of the template message `msgid`."""
    head = _cdata("ToUserName", SANDBOX_ACCOUNT) + _cdata("FromUserName", openid)
    head += f"<CreateTime>{when}</CreateTime>"
    body = _cdata("MsgType", "event") + _cdata("Event", "TEMPLATESENDJOBFINISH")
    body += f"<MsgID>{msgid}</MsgID>" + _cdata("Status", status)
    return f"<xml>{head}{body}</xml>"


def report(app: Flask, openid: str, msgid: int, status: str, count: Callable[[], None]) -> None:
    """Post the delivery report of the template message `msgid` to /wechat, after the send's
    answer went out (`count` notes it answered); in AES mode when the account requires it."""
    try:
        when = int(app.extensions["clock"].now().timestamp())
        aes = bool(app.config.get("WECHAT_CALLBACK_REQUIRE_AES"))
        result = send(app, report_xml(openid, msgid, status, when=when), aes=aes)
        if result["status"] != 200:
            log.warning("sandbox: /wechat answered %s to report %s", result["status"], msgid)
        count()
    except Exception:  # after the answer: nobody left to tell but the log
        log.exception("sandbox: the delivery report of %s was not posted", msgid)


def send(app: Flask, xml: str, *, aes: bool) -> dict[str, Any]:
    """Post `xml` to /wechat as WeChat would; the reply, decrypted and parsed."""
    cfg = app.config
    # Signed now on the app's clock (a test's FakeClock included): /wechat refuses stale ones.
    now_s = int(app.extensions["clock"].now().timestamp())
    token, timestamp, nonce = cfg["WECHAT_TOKEN"], str(now_s), secrets.token_hex(5)
    params = {"timestamp": timestamp, "nonce": nonce, "openid": "", "signature": ""}
    params["signature"] = sign(token, timestamp, nonce)
    body = xml
    crypto = WeChatCrypto(token, cfg["WECHAT_AES_KEY"], cfg["WECHAT_APP_ID"])
    if aes:
        envelope = parse_flat(crypto.encrypt_message(xml, nonce, timestamp))
        encrypt = envelope["Encrypt"]
        params.update(encrypt_type="aes", msg_signature=sign(token, timestamp, nonce, encrypt))
        body = f"<xml>{_cdata('ToUserName', SANDBOX_ACCOUNT)}{_cdata('Encrypt', encrypt)}</xml>"
    # In-process, so the phone works under a single-threaded server too.
    res = app.test_client().post(
        "/wechat?" + urlencode(params), data=body.encode(), content_type="text/xml"
    )
    raw = res.get_data(as_text=True)
    result: dict[str, Any] = {"status": res.status_code, "sent": xml, "raw": raw}
    if res.status_code != 200 or not raw.startswith("<"):
        result["reply"] = None
        return result
    try:
        if aes:
            outer = parse_flat(raw)
            raw = crypto.decrypt_message(
                {"Encrypt": outer["Encrypt"]},
                outer["MsgSignature"],
                outer["TimeStamp"],
                outer["Nonce"],
            )
        result["plain"] = raw
        result["reply"] = parse_reply(raw)
    except Exception as err:  # shown on the phone, never raised
        result["reply"] = {"type": "error", "content": f"无法解析回复：{escape(str(err))}"}
    return result


def parse_reply(xml: str) -> dict[str, Any]:
    """A passive reply as {type, content} or {type: news, articles}."""
    from defusedxml.ElementTree import fromstring

    root = fromstring(xml, forbid_dtd=True)
    kind = root.findtext("MsgType") or ""
    if kind == "news":
        articles = [
            {
                "title": item.findtext("Title") or "",
                "description": item.findtext("Description") or "",
                "url": item.findtext("Url") or "",
            }
            for item in root.iter("item")
        ]
        return {"type": "news", "articles": articles}
    return {"type": kind, "content": root.findtext("Content") or ""}
