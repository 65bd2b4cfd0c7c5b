"""Fuzzing /wechat with random and malicious bodies, correctly signed so the parser is reached.

Every body carries (or tries to smuggle) an `unsubscribe` event of a bound, following user:
if anything of a hostile body were processed, that user would stop following. Properties:
never a 5xx, never an exception swallowed into `success` (logged as "wechat callback
failed"), hostile bodies 400 with nothing processed (the user still follows, no retry key in
Redis), and CDATA that looks like markup stays text.
"""

from __future__ import annotations

import logging
import os
import re
import secrets

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models import WechatBinding, db
from tests.factories import make_binding, make_trainee
from tests.wechat_wire import WeChat, sign

OPENID = "o_fuzz_following_0000000001"
UNSUBSCRIBE = (
    f"<ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName>{OPENID}</FromUserName>"
    "<CreateTime>1750000000</CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event>"
)
FUZZ = settings(
    max_examples=int(os.environ.get("WXAPP_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def wechat_log(caplog):
    """caplog, with the callback's logger live: the test session's `flask db upgrade` runs
    Alembic's fileConfig, which disables every logger that existed then, this one too."""
    logger = logging.getLogger("handlers.wechat")
    was_disabled, logger.disabled = logger.disabled, False
    caplog.set_level(logging.WARNING, logger="handlers.wechat")
    yield caplog
    logger.disabled = was_disabled


@pytest.fixture
def wire(app, client, wechat_log):
    with app.app_context():
        make_binding(make_trainee(), OPENID)
        db.session.commit()
    cfg = app.config
    plain = WeChat(client, cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APP_ID"])
    aes = WeChat(client, cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APP_ID"], True)
    return {"plain": plain, "aes": aes}


def still_following(app) -> bool:
    with app.app_context():
        return db.session.execute(
            db.select(WechatBinding.following).where(WechatBinding.openid == OPENID)
        ).scalar_one()


def retry_keys(app) -> list[str]:
    """The dedupe keys a processed message leaves (not the signed queries' nonces)."""
    r = app.extensions["redis"]
    return r.keys("wechat:msg:*") + r.keys("wechat:evt:*")


def post(app, caplog, wechat: WeChat, body: str | bytes):
    caplog.clear()
    res = wechat.post(body)
    assert res.status_code < 500
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "an exception was hidden"
    return res


def assert_refused_unprocessed(app, caplog, wechat: WeChat, body: str | bytes) -> None:
    res = post(app, caplog, wechat, body)
    assert res.status_code in (400, 413), res.get_data(as_text=True)
    assert res.mimetype == "text/plain"  # WeChat's format, never JSON
    assert still_following(app)
    assert retry_keys(app) == []


# --- random input ---


@FUZZ
@given(body=st.binary(max_size=3000))
@example(body=b"")
@example(body=b"\x00" * 64)
@example(body=b"\xef\xbb\xbf<xml>" + UNSUBSCRIBE.encode() + b"\xff</xml>")
def test_random_bytes_are_refused(app, wire, caplog, body):
    assert_refused_unprocessed(app, caplog, wire["plain"], body)


tags = st.sampled_from(
    ["xml", "ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "EventKey", "MsgId"]
    + ["Content", "a", "ScanCodeInfo"]
)
texts = st.one_of(
    st.sampled_from(["event", "text", "CLICK", "subscribe", "unsubscribe", OPENID, "1", ""]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30),
)


def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, inner: f"<{tag}>{inner}</{tag}>",
        tags,
        st.one_of(
            texts.map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;")),
            st.lists(children, max_size=6).map("".join),
        ),
    )


random_xml = st.builds(
    lambda inner: f"<xml>{inner}</xml>",
    st.lists(st.recursive(element(st.just("")), element, max_leaves=12), max_size=10).map("".join),
)


@FUZZ
@given(xml=random_xml, mode=st.sampled_from(["plain", "aes"]))
@example(xml="<xml><MsgType>text</MsgType><FromUserName>o</FromUserName></xml>", mode="plain")
@example(
    xml="<xml><MsgType>text</MsgType><FromUserName>o</FromUserName><CreateTime>x</CreateTime>"
    "<Content>帮助</Content></xml>",
    mode="plain",
)
@example(
    xml="<xml><MsgType>text</MsgType><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<Content><a>1</a></Content></xml>",
    mode="plain",
)
@example(
    xml="<xml><MsgType>event</MsgType><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<Event><a>unsubscribe</a></Event></xml>",
    mode="aes",
)
def test_random_xml_messages_never_fail(app, wire, caplog, xml, mode):
    res = post(app, caplog, wire[mode], xml)
    assert res.status_code in (200, 400)
    assert still_following(app)  # the random messages come from other users


# --- malicious input: each carries the unsubscribe and must be refused unprocessed ---

HOSTILE = {
    "deep": st.integers(8, 8000).map(
        lambda d: "<xml>" + "<a>" * d + "</a>" * d + UNSUBSCRIBE + "</xml>"
    ),
    "huge_attribute": st.integers(1, 60_000).map(
        lambda n: f'<xml a="{"A" * n}">{UNSUBSCRIBE}</xml>'
    ),
    "many_attributes": st.integers(1, 3000).map(
        lambda n: "<xml " + " ".join(f"a{i}='1'" for i in range(n)) + f">{UNSUBSCRIBE}</xml>"
    ),
    "over_the_size_limit": st.integers(70_000, 200_000).map(
        lambda n: f"<xml>{UNSUBSCRIBE}<Content>{'x' * n}</Content></xml>"
    ),
    "internal_entity": st.integers(1, 12).map(
        lambda n: (
            '<!DOCTYPE xml [<!ENTITY e "unsubscribe">'
            + "".join(f'<!ENTITY e{i} "&e;&e;">' for i in range(n))
            + f"]><xml>{UNSUBSCRIBE.replace('>unsubscribe<', '>&e;<')}</xml>"
        )
    ),
    "external_entity": st.sampled_from(
        ["file:///etc/passwd", "http://127.0.0.1:9/x", "/proc/self/environ", "expect://id"]
    ).map(
        lambda url: (
            f'<!DOCTYPE xml [<!ENTITY x SYSTEM "{url}">]>'
            f"<xml>{UNSUBSCRIBE}<EventKey>&x;</EventKey></xml>"
        )
    ),
    "parameter_entity": st.just(
        '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
        f"<xml>{UNSUBSCRIBE}</xml>"
    ),
    "public_dtd": st.just(
        '<!DOCTYPE xml PUBLIC "-//X//DTD X//EN" "http://127.0.0.1:9/x.dtd">'
        f"<xml>{UNSUBSCRIBE}</xml>"
    ),
    "bare_doctype": st.just(f"<!DOCTYPE xml><xml>{UNSUBSCRIBE}</xml>"),
    "xinclude": st.just(
        '<xml xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'{UNSUBSCRIBE}<xi:include href="file:///etc/passwd" parse="text"/></xml>'
    ),
    "namespaced_root": st.just(f'<w:xml xmlns:w="urn:w">{UNSUBSCRIBE}</w:xml>'),
    "too_many_fields": st.integers(65, 400).map(
        lambda n: f"<xml>{UNSUBSCRIBE}" + "<F>1</F>" * n + "</xml>"
    ),
    "unclosed": st.integers(0, len(UNSUBSCRIBE) - 1).map(lambda i: "<xml>" + UNSUBSCRIBE[:i]),
    "two_roots": st.just(f"<xml>{UNSUBSCRIBE}</xml><xml>{UNSUBSCRIBE}</xml>"),
    "cdata_breaking_out": st.just(
        f"<xml>{UNSUBSCRIBE.replace('<Event>unsubscribe', '<Event><![CDATA[x]]>]]><![CDATA[')}"
        "</xml>"
    ),
    "control_chars": st.sampled_from(["\x00", "\x01", "\x0b", "\x1f", "\ufffe"]).map(
        lambda c: f"<xml>{UNSUBSCRIBE}<Content>{c}</Content></xml>"
    ),
}

WRONG_ENCODINGS = {
    "utf16": lambda x: x.encode("utf-16"),
    "utf16_declared": lambda x: ('<?xml version="1.0" encoding="UTF-16"?>' + x).encode("utf-16"),
    "utf32": lambda x: x.encode("utf-32"),
    "gbk": lambda x: ('<?xml version="1.0" encoding="GBK"?>' + x + "<!-- 中文 -->").encode("gbk"),
    "latin1": lambda x: (x + "<!-- \xe9\xff -->").encode("latin-1"),
    "ebcdic": lambda x: x.encode("cp500"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_malicious_xml_is_refused_unprocessed(app, wire, caplog, kind, mode):
    @settings(FUZZ, max_examples=8)
    @given(body=HOSTILE[kind])
    def fuzz(body):
        assert_refused_unprocessed(app, caplog, wire[mode], body)

    fuzz()


@pytest.mark.parametrize("encoding", sorted(WRONG_ENCODINGS))
def test_wrong_encodings_are_refused_unprocessed(app, wire, caplog, encoding):
    body = WRONG_ENCODINGS[encoding](f"<xml>{UNSUBSCRIBE}</xml>")
    assert_refused_unprocessed(app, caplog, wire["plain"], body)


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_markup_inside_cdata_stays_text(app, wire, caplog, mode):
    # A keyword message whose text looks like the tags of an unsubscribe event.
    fake = f"</Content>{UNSUBSCRIBE.replace('<![CDATA[gh_test]]>', 'gh_test')}<Content>"
    xml = (
        f"<xml><ToUserName>gh_test</ToUserName><FromUserName>{OPENID}</FromUserName>"
        f"<CreateTime>1750000001</CreateTime><MsgType>text</MsgType>"
        f"<Content><![CDATA[{fake}]]></Content><MsgId>42</MsgId></xml>"
    )
    res = post(app, caplog, wire[mode], xml)
    assert res.status_code == 200
    assert still_following(app)


query_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60
)


@FUZZ
@given(
    args=st.dictionaries(
        st.sampled_from(["signature", "timestamp", "nonce", "echostr", "encrypt_type", "x"]),
        query_values,
    ),
    signed=st.booleans(),
)
@example(args={"signature": "Õ", "echostr": "x"}, signed=False)  # non-ASCII: was a 200
def test_url_verification_with_random_arguments(app, client, wechat_log, args, signed):
    caplog = wechat_log
    caplog.clear()
    if signed:
        # Signed now, with a nonce of its own: a fresh query, as WeChat sends.
        args["timestamp"] = str(int(app.extensions["clock"].now().timestamp()))
        args["nonce"] = args.get("nonce", "") + secrets.token_hex(8)
        args["signature"] = sign(app.config["WECHAT_TOKEN"], args["timestamp"], args["nonce"])
    res = client.get("/wechat", query_string=args)
    echostr = args.get("echostr", "")
    wechats_echostr = re.fullmatch(r"[0-9A-Za-z]{1,64}", echostr) is not None
    assert res.status_code == (403 if not signed else 200 if wechats_echostr else 400)
    assert res.mimetype == "text/plain"  # never markup
    if res.status_code == 200:
        assert res.get_data(as_text=True) == echostr
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "an exception was hidden"
