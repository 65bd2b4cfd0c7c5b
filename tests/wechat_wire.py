"""WeChat's side of the callback, written from WeChat's documentation, not from the app:
the signature (sha1 of the sorted token, timestamp, nonce[, Encrypt]) and the safe-mode
AES (AES-256-CBC, key = base64(EncodingAESKey + "="), IV = its first 16 bytes, plaintext =
16 random bytes + 4-byte big-endian length + message + appid, PKCS#7 to 32 bytes)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _key(aes_key: str) -> bytes:
    return base64.b64decode(aes_key + "=")


def encrypt(aes_key: str, app_id: str, message: str) -> str:
    key = _key(aes_key)
    raw = os.urandom(16) + struct.pack(">I", len(message.encode())) + message.encode()
    raw += app_id.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode()


def decrypt(aes_key: str, app_id: str, ciphertext: str) -> str:
    key = _key(aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = dec.update(base64.b64decode(ciphertext)) + dec.finalize()
    raw = raw[: -raw[-1]]
    (length,) = struct.unpack(">I", raw[16:20])
    assert raw[20 + length :].decode() == app_id
    return raw[20 : 20 + length].decode()


def event_xml(openid: str, event: str, key: str = "", when: int = 1750000000) -> str:
    key_part = f"<EventKey><![CDATA[{key}]]></EventKey>" if key else ""
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{when}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{key_part}</xml>"
    )


def text_xml(openid: str, content: str, msg_id: int, when: int = 1750000000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{when}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def report_xml(openid: str, msg_id: int | str, status: str, when: int = 1750000000) -> str:
    """TEMPLATESENDJOBFINISH: WeChat's report on the template message `msg_id` it accepted
    (Status `success`, `failed:user block` or `failed: system failed`)."""
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{when}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
        f"<MsgID>{msg_id}</MsgID><Status><![CDATA[{status}]]></Status></xml>"
    )


class WeChat:
    """Posts to /wechat as WeChat's servers would, plain or AES, and reads replies."""

    def __init__(self, client, token: str, aes_key: str, app_id: str, aes: bool = False):
        self.client, self.token, self.aes_key, self.app_id, self.aes = (
            client,
            token,
            aes_key,
            app_id,
            aes,
        )
        self._n = 0

    def timestamp(self) -> str:
        """Now on the app's clock, as WeChat signs each push (the callback refuses stale ones)."""
        return str(int(self.client.application.extensions["clock"].now().timestamp()))

    def post_raw(self, body: str | bytes, **params: str):
        return self.client.post("/wechat?" + urlencode(params), data=body, content_type="text/xml")

    def post(self, xml: str):
        self._n += 1
        timestamp, nonce = self.timestamp(), f"nonce{self._n}-{secrets.token_hex(4)}"
        params = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": sign(self.token, timestamp, nonce),
        }
        if not self.aes:
            return self.post_raw(xml, **params)
        ciphertext = encrypt(self.aes_key, self.app_id, xml)
        params.update(
            encrypt_type="aes", msg_signature=sign(self.token, timestamp, nonce, ciphertext)
        )
        body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
        return self.post_raw(body, **params)

    def reply(self, xml: str) -> dict:
        """The parsed reply: {"type", "content"} or {"type": "news", "articles"}; {} for success."""
        res = self.post(xml)
        assert res.status_code == 200, res.get_data(as_text=True)
        text = res.get_data(as_text=True)
        if text == "success":
            return {}
        root = ET.fromstring(text)
        if self.aes:
            encrypted = root.findtext("Encrypt")
            assert root.findtext("MsgSignature") == sign(
                self.token, root.findtext("TimeStamp"), root.findtext("Nonce"), encrypted
            )
            root = ET.fromstring(decrypt(self.aes_key, self.app_id, encrypted))
        kind = root.findtext("MsgType")
        if kind == "news":
            return {
                "type": "news",
                "articles": [
                    {"title": i.findtext("Title"), "url": i.findtext("Url")}
                    for i in root.iter("item")
                ],
            }
        return {
            "type": kind,
            "content": root.findtext("Content"),
            "to": root.findtext("ToUserName"),
        }
