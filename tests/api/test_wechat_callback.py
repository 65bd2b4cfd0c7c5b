"""/wechat as WeChat's servers use it: URL verification, every menu click and keyword in
plain and AES mode, retries, bad signatures and hostile XML (requests built in
tests/wechat_wire.py from WeChat's spec, not with the app's helpers)."""

from urllib.parse import quote

import pytest

from models import WechatBinding, db
from tests.factories import make_binding, make_enrollment, make_plan, make_trainee
from tests.wechat_wire import WeChat, event_xml, sign, text_xml

OPENID = "o_test_bound_000000000001"
STRANGER = "o_test_stranger_0000000002"


@pytest.fixture
def world(app):
    """A bound trainee with 12 公需 and 30 专业 学时 done in 2025; plans of both kinds."""
    with app.app_context():
        trainee = make_trainee(name="张三")
        make_binding(trainee, OPENID)
        public = make_plan(year=2025, kind="public", required_hours=30)
        specialist = make_plan(year=2025, kind="specialist")
        make_plan(year=2024, kind="specialist")  # last year's: not offered
        make_enrollment(trainee, public, hours="12")
        make_enrollment(trainee, specialist, hours="30")
        db.session.commit()
        return {"trainee": trainee.id, "public": public.id, "specialist": specialist.id}


def following(app, openid):
    with app.app_context():
        return db.session.execute(
            db.select(WechatBinding.following).where(WechatBinding.openid == openid)
        ).scalar_one()


def click(wechat, key, openid=OPENID, when=1750000000):
    return wechat.reply(event_xml(openid, "CLICK", key, when=when))


def signed_query(app, clock, nonce: str = "abc", **extra: str) -> dict[str, str]:
    timestamp = str(int(clock.now().timestamp()))
    return {
        "signature": sign(app.config["WECHAT_TOKEN"], timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        **extra,
    }


def test_url_verification_echoes_only_when_signed(client, app, clock):
    ok = client.get("/wechat", query_string=signed_query(app, clock, echostr="4242xyz"))
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "4242xyz"
    assert ok.mimetype == "text/plain"
    bad = client.get(
        "/wechat",
        query_string={"signature": "0" * 40, "timestamp": "1", "nonce": "a", "echostr": "x"},
    )
    assert bad.status_code == 403
    assert client.get("/wechat?echostr=x").status_code == 403


def test_plan_clicks_answer_news_for_this_years_plans(wechat, world, app):
    base = app.config["PUBLIC_BASE_URL"]
    for key, kind in (("PLANS_PUBLIC", "public"), ("PLANS_SPECIALIST", "specialist")):
        reply = click(wechat, key)
        assert reply["type"] == "news"
        first, *plans = reply["articles"]
        assert "2025年度" in first["title"]
        next_path = f"/h5/plans?kind={kind}&year=2025"
        assert first["url"] == f"{base}/auth/wechat?next={quote(next_path, safe='')}"
        assert [a["url"] for a in plans] == [
            f"{base}/auth/wechat?next={quote(f'/h5/plan?id={world[kind]}', safe='')}"
        ]


def test_a_plan_title_that_would_close_cdata_reaches_wechat_whole(wechat, world, app):
    """`]]>` in a title would end the CDATA early: WeChat would get broken XML and show
    该公众号暂时无法提供服务 for the whole menu."""
    title = "职业道德]]><MsgType>text</MsgType>与法规"
    with app.app_context():
        make_plan(year=2025, kind="specialist").title = title
        db.session.commit()
    reply = click(wechat, "PLANS_SPECIALIST")
    assert reply["type"] == "news"
    assert title in [a["title"] for a in reply["articles"]]


def test_progress_click_shows_this_years_hours(wechat, world):
    reply = click(wechat, "MY_PROGRESS")
    assert reply["type"] == "text" and reply["to"] == OPENID
    assert "2025年度" in reply["content"]
    assert "公需科目：12 / 30 学时，还差 18 学时" in reply["content"]
    assert "专业科目：30 / 60 学时，还差 30 学时" in reply["content"]
    assert "2025年度已计 42 / 90 学时，还差 公需 18 学时、专业 30 学时" in reply["content"]


def test_certificates_click(wechat, world):
    content = click(wechat, "MY_CERTIFICATES")["content"]
    assert "还没有获得证书" in content
    assert "已学 12 / 30 学时，还差 18 学时" in content
    assert "已学 30 / 60 学时，还差 30 学时" in content
    assert "2025年度已计 42 / 90 学时" in content
    assert "%2Fh5%2Fcertificates" in content


def test_help_click_gives_the_notices_numbers(wechat, world):
    content = click(wechat, "HELP")["content"]
    assert "400-023-9229，按 1" in content and "400-023-9229，按 2" in content
    assert "400-618-7500，按 2" in content


def test_unbound_user_gets_a_bind_link(wechat, world):
    for key, page in (("MY_PROGRESS", "progress"), ("MY_CERTIFICATES", "certificates")):
        content = click(wechat, key, openid=STRANGER)["content"]
        assert "绑定" in content
        assert f"/auth/wechat?next=%2Fh5%2F{page}" in content


@pytest.mark.parametrize(
    ("word", "expected"),
    [("进度", "公需科目：12 / 30 学时"), ("证书", "查看我的证书"), ("帮助", "400-618-7500")],
)
def test_keywords_answer_like_the_menu(wechat, world, word, expected):
    reply = wechat.reply(text_xml(OPENID, word, msg_id=9000001))
    assert expected in reply["content"]


def test_other_text_goes_to_customer_service_and_plan_keyword_one_article(wechat, world):
    # A text the account does not understand is handed to a person (tests/api/test_help.py
    # follows the acknowledgement into the sandbox inbox).
    handed = wechat.reply(text_xml(OPENID, "你好", msg_id=9000002))
    assert handed["type"] == "transfer_customer_service" and handed["to"] == OPENID
    news = wechat.reply(text_xml(OPENID, "专业", msg_id=9000003))
    assert news["type"] == "news" and len(news["articles"]) == 1


def test_subscribe_welcomes_and_unsubscribe_stops_notifications(wechat, world, app):
    welcome = wechat.reply(event_xml(STRANGER, "subscribe", when=1750000001))
    assert "欢迎关注" in welcome["content"] and "/auth/wechat?next=" in welcome["content"]
    assert wechat.reply(event_xml(OPENID, "unsubscribe", when=1750000002)) == {}
    assert following(app, OPENID) is False
    back = wechat.reply(event_xml(OPENID, "subscribe", when=1750000003))
    assert "欢迎回来" in back["content"]
    assert following(app, OPENID) is True


def test_an_unsubscribe_delivered_after_a_newer_subscribe_changes_nothing(wechat, world, app):
    """WeChat does not keep its pushes in order: the user unfollowed at T+1 and followed
    again at T+3, and the unsubscribe's retry came last. Pushes go only to followers, so
    applying it would have silenced the account for them until their next subscribe."""
    assert "欢迎回来" in wechat.reply(event_xml(OPENID, "subscribe", when=1750000003))["content"]
    assert wechat.reply(event_xml(OPENID, "unsubscribe", when=1750000001)) == {}
    assert following(app, OPENID) is True
    # A newer one still applies, and an older subscribe does not undo it.
    assert wechat.reply(event_xml(OPENID, "unsubscribe", when=1750000005)) == {}
    wechat.reply(event_xml(OPENID, "subscribe", when=1750000004))
    assert following(app, OPENID) is False


def test_unknown_message_type_answers_success(wechat, world):
    image = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>image</MsgType><PicUrl>http://x/y.jpg</PicUrl>"
        "<MsgId>777</MsgId></xml>"
    )
    assert wechat.reply(image) == {}


def test_a_retry_is_processed_once_and_answered_the_same(wechat, world, app):
    xml = text_xml(STRANGER, "进度", msg_id=123456789)
    first = wechat.reply(xml)
    assert "绑定" in first["content"]
    # Between WeChat's deliveries the user gets bound: a reprocessed retry would differ.
    with app.app_context():
        make_binding(make_trainee(name="李四"), STRANGER)
        db.session.commit()
    assert wechat.reply(xml) == first
    event = event_xml(STRANGER, "CLICK", "MY_PROGRESS", when=1750000100)
    assert "公需科目" in wechat.reply(event)["content"]
    with app.app_context():
        db.session.execute(db.delete(WechatBinding).where(WechatBinding.openid == STRANGER))
        db.session.commit()
    assert "公需科目" in wechat.reply(event)["content"]  # same FromUserName + CreateTime


def test_bad_signatures_are_refused(app, client, world):
    token = app.config["WECHAT_TOKEN"]
    plain = WeChat(client, token, app.config["WECHAT_AES_KEY"], app.config["WECHAT_APP_ID"])
    xml = event_xml(OPENID, "unsubscribe")
    bad = plain.post_raw(xml, timestamp="1", nonce="n", signature=sign("wrong-token", "1", "n"))
    assert bad.status_code == 403
    assert plain.post_raw(xml, timestamp="1", nonce="n").status_code == 403
    # Safe mode: a valid `signature` is not enough, the msg_signature must cover Encrypt.
    body = "<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"
    res = plain.post_raw(
        body,
        timestamp="1",
        nonce="n",
        signature=sign(token, "1", "n"),
        encrypt_type="aes",
        msg_signature=sign(token, "1", "n"),
    )
    assert res.status_code == 403
    assert following(app, OPENID) is True


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>&lol4;</FromUserName><CreateTime>1</CreateTime>
<MsgType>event</MsgType><Event>unsubscribe</Event></xml>"""

EXTERNAL_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY who SYSTEM "file:///etc/hostname">]>
<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>
<MsgType>event</MsgType><Event>unsubscribe</Event><EventKey>&who;</EventKey></xml>"""

REMOTE_DTD = f"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">
<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>
<MsgType>event</MsgType><Event>unsubscribe</Event></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        REMOTE_DTD,
        "<xml><FromUserName>o</FromUserName>",
        "not xml at all",
        "",
        f"<html><FromUserName>{OPENID}</FromUserName><MsgType>event</MsgType></html>",
    ],
)
def test_malformed_and_hostile_xml_is_refused_unprocessed(wechat, world, app, body):
    res = wechat.post(body)
    assert res.status_code == 400
    assert following(app, OPENID) is True  # the unsubscribe inside was not processed


def test_hostile_envelope_in_safe_mode_is_refused(app, client):
    token = app.config["WECHAT_TOKEN"]
    wx = WeChat(client, token, app.config["WECHAT_AES_KEY"], app.config["WECHAT_APP_ID"])
    for body in (BILLION_LAUGHS, EXTERNAL_ENTITY, "<xml><Encrypt>"):
        res = wx.post_raw(
            body,
            timestamp="1",
            nonce="n",
            signature=sign(token, "1", "n"),
            encrypt_type="aes",
            msg_signature=sign(token, "1", "n", ""),
        )
        assert res.status_code == 400


MARKUP_ECHOSTR = (
    '<html xmlns="http://www.w3.org/1999/xhtml"><script>fetch("/api/me")</script></html>'
)


def test_markup_echostr_is_never_reflected(client, app, clock):
    """A signed query with markup in echostr: no XML or HTML answer to run script in."""
    res = client.get("/wechat", query_string=signed_query(app, clock, echostr=MARKUP_ECHOSTR))
    assert res.status_code == 400
    assert "<script>" not in res.get_data(as_text=True)
    assert res.mimetype == "text/plain"


def test_a_stale_signed_query_verifies_nothing(client, app, clock):
    """A signature/timestamp/nonce triple read in an old access log no longer verifies."""
    old = signed_query(app, clock, nonce="seen-in-a-log", echostr="12345")
    assert client.get("/wechat", query_string=old).status_code == 200
    clock.advance(seconds=301)
    assert client.get("/wechat", query_string=old).status_code == 403


def test_replayed_callback_query_with_another_body_is_refused(app, client, world, clock, wechat):
    """An old query string with a forged body: the victim's unsubscribe is not processed."""
    first = signed_query(app, clock, nonce="n-replayed")
    text = text_xml("o_attacker", "你好", msg_id=987001)
    assert wechat.post_raw(text, **first).status_code == 200
    forged = event_xml(OPENID, "unsubscribe")
    assert wechat.post_raw(forged, **first).status_code == 403
    assert following(app, OPENID) is True
    # WeChat's own retry (same query, same body) is still answered.
    assert wechat.post_raw(text, **first).status_code == 200
    # A stale timestamp with a fresh nonce is refused too.
    stale = signed_query(app, clock, nonce="n-fresh")
    clock.advance(seconds=400)
    assert wechat.post_raw(forged, **stale).status_code == 403
    assert following(app, OPENID) is True


def test_safe_mode_setting_refuses_raw_bodies(app, client, world, clock, wechat):
    app.config["WECHAT_CALLBACK_REQUIRE_AES"] = True
    raw = event_xml(OPENID, "unsubscribe")
    assert wechat.post_raw(raw, **signed_query(app, clock, nonce="raw")).status_code == 403
    assert following(app, OPENID) is True
    aes = WeChat(
        client,
        app.config["WECHAT_TOKEN"],
        app.config["WECHAT_AES_KEY"],
        app.config["WECHAT_APP_ID"],
        aes=True,
    )
    assert aes.post(event_xml(OPENID, "unsubscribe")).status_code == 200
    assert following(app, OPENID) is False


def _let_redis_time_pass(r, seconds: int) -> None:
    """What `seconds` of real time do to Redis's keys: each TTL runs down, expired keys go."""
    for key in r.scan_iter():
        left = r.pttl(key)
        if left < 0:
            continue  # no expiry
        if left <= seconds * 1000:
            r.delete(key)
        else:
            r.pexpire(key, left - seconds * 1000)


def test_a_push_replayed_late_in_its_signatures_window_is_not_processed_again(
    app, world, clock, wechat
):
    """WeChat's clock 290 s ahead: its unsubscribe stays replayable for 590 s of ours.

    A capture of that push, replayed after the trainee followed again, must not unfollow
    them: the push is remembered as long as its signature is accepted.
    """
    ahead = str(int(clock.now().timestamp()) + 290)
    captured = {
        "signature": sign(app.config["WECHAT_TOKEN"], ahead, "n-captured"),
        "timestamp": ahead,
        "nonce": "n-captured",
    }
    unsubscribe = event_xml(OPENID, "unsubscribe", when=1750000000)
    assert wechat.post_raw(unsubscribe, **captured).status_code == 200
    assert following(app, OPENID) is False
    clock.advance(seconds=100)
    assert wechat.reply(event_xml(OPENID, "subscribe", when=1750000100))
    assert following(app, OPENID) is True

    clock.advance(seconds=300)  # 400 s after the push, 110 s from its signed time
    _let_redis_time_pass(app.extensions["redis"], 400)
    assert wechat.post_raw(unsubscribe, **captured).status_code == 200
    assert following(app, OPENID) is True
